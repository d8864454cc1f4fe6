"""The submission interface, and how the grader reads what a submission returns.

A submission is a folder with up to two Python files (more files may sit
beside them: helpers, saved weights):

``part2.py`` (the 2-D Gaussian mixture, NVIL)::

    fit(x, k, seed) -> {"pi": [K], "mu": [K, 2], "sigma2": [K, 2]}
        x: [N, 2] float64 data, k: int >= 1, seed: int.  The learned mixture
        (pi sums to 1, sigma2 the per-dimension variances).
    lower_bound(x, pi, mu, sigma2, q_probs) -> float
        x [N, 2], pi [K], mu [K, 2], sigma2 [K, 2], q_probs [N, K] (rows sum
        to 1): the ELBO E_q[log p(x, z) - log q(z | x)] of those parameters,
        as the mean over the N points (nats per point).

``part3.py`` (the GMVAE on MNIST)::

    setup() -> None                          (optional)
        called once in each check before the functions below, e.g. to load
        the trained model from the submission's own folder (Path(__file__).parent).
    generate(n_per_cluster, seed) -> [K, n_per_cluster, 784] array in [0, 1]
        row k: images generated with z = k (Bernoulli means or samples).
    assign(images) -> [n] integer cluster ids
        images: [n, 784] float32 grey levels in [0, 1] (not binarised).

Arguments are passed positionally, in the order above; every function runs
in a child process (``reports.grading.sandbox``).  The readers below turn a
returned value into checked arrays or raise :class:`SubmissionError` with the
reason the item scores 0.
"""
from __future__ import annotations

import numpy as np

__all__ = ["PART_FILES", "FUNCTIONS", "SubmissionError", "read_scalar", "read_params",
           "read_grid", "read_assignments"]

#: The file of each part, keyed by rubric part.
PART_FILES = {"P2": "part2.py", "P3": "part3.py"}
#: The functions each part's file must define (``setup`` is optional).
FUNCTIONS = {"P2": ("fit", "lower_bound"), "P3": ("generate", "assign")}


class SubmissionError(ValueError):
    """A submission's output is unusable; the message is the reason shown."""


def _finite(a: np.ndarray, what: str) -> np.ndarray:
    if a.dtype.kind not in "biuf":
        raise SubmissionError(f"{what} must be numeric, got dtype {a.dtype}")
    if not np.all(np.isfinite(a)):
        raise SubmissionError(f"{what} contains NaN or infinite values")
    return a


def _single(value: dict, what: str) -> np.ndarray:
    """The one array a function returned (a returned dict arrives as its keys)."""
    if set(value) != {"value"}:
        raise SubmissionError(f"{what} must return an array, not a dict (keys "
                              f"{sorted(value)})")
    return np.asarray(value["value"])


def read_scalar(value: dict, what: str = "lower_bound") -> float:
    """A finite float from a returned ``{"value": array}`` of size 1."""
    a = _single(value, what)
    if a.size != 1:
        raise SubmissionError(f"{what} must return one number, got shape {a.shape}")
    return float(_finite(a, what).reshape(()))


def read_params(value: dict, k: int, d: int = 2) -> dict:
    """``{"pi" [K], "mu" [K, D], "sigma2" [K, D]}`` float64, checked.

    pi must be non-negative and sum to 1 within 1e-3 (it is renormalised);
    sigma2 must be positive.
    """
    missing = [key for key in ("pi", "mu", "sigma2") if key not in value]
    if missing:
        raise SubmissionError(f"fit must return a dict with keys pi, mu, sigma2; "
                              f"missing {', '.join(missing)} (got {sorted(value)})")
    shapes = {"pi": (k,), "mu": (k, d), "sigma2": (k, d)}
    out = {}
    for key, shape in shapes.items():
        a = np.asarray(value[key])
        if a.shape != shape:
            raise SubmissionError(f"fit: {key} must have shape {shape}, got {a.shape}")
        out[key] = _finite(a, f"fit: {key}").astype(np.float64)
    if np.any(out["pi"] < 0) or abs(out["pi"].sum() - 1.0) > 1e-3:
        raise SubmissionError(f"fit: pi must be non-negative and sum to 1, got "
                              f"{np.round(out['pi'], 4).tolist()}")
    if np.any(out["sigma2"] <= 0):
        raise SubmissionError("fit: sigma2 must be positive")
    out["pi"] = out["pi"] / out["pi"].sum()
    return out


def read_grid(value: dict, k: int, n: int, pixels: int = 784) -> np.ndarray:
    """The ``[K, n, pixels]`` sample grid in [0, 1] (float32)."""
    a = _single(value, "generate")
    if a.shape != (k, n, pixels):
        raise SubmissionError(f"generate({n}, seed) must return shape ({k}, {n}, "
                              f"{pixels}) (K={k} rows), got {a.shape}")
    a = _finite(a, "generate").astype(np.float32)
    if a.min() < -1e-6 or a.max() > 1 + 1e-6:
        raise SubmissionError(f"generate must return values in [0, 1], got range "
                              f"[{a.min():.3g}, {a.max():.3g}]")
    return np.clip(a, 0.0, 1.0)


def read_assignments(value: dict, n: int) -> np.ndarray:
    """``[n]`` int64 cluster ids (integral floats are accepted)."""
    a = _single(value, "assign")
    if a.shape != (n,):
        raise SubmissionError(f"assign must return one cluster id per image, shape "
                              f"({n},), got {a.shape}")
    a = _finite(a, "assign")
    if a.dtype.kind == "f" and not np.all(a == np.round(a)):
        raise SubmissionError("assign must return integer cluster ids")
    return a.astype(np.int64)
