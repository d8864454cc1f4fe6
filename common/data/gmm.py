"""Synthetic diagonal-covariance Gaussian mixtures: parameters and sampling.

The true parameters travel with the data (``GMMParams``) so that learned
parameters can be compared against them after training.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from common.validation import check_int

__all__ = ["GMMParams", "random_gmm_params", "default_gmm_params", "sample_gmm"]

_PI_SUM_TOL = 1e-6


def _as_float_array(value: Any, name: str, ndim: int) -> np.ndarray:
    """Convert ``value`` to a float64 array of rank ``ndim`` or raise naming it."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be numeric, got {value!r}") from exc
    if arr.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, got non-finite values")
    return arr


@dataclass(frozen=True)
class GMMParams:
    """Parameters of a Gaussian mixture with diagonal covariances.

    Attributes:
        pi: mixing weights, shape [K], non-negative, summing to 1.
        mu: component means, shape [K, D].
        sigma2: per-dimension component variances, shape [K, D], positive.
    """

    pi: np.ndarray
    mu: np.ndarray
    sigma2: np.ndarray

    def __post_init__(self) -> None:
        pi = _as_float_array(self.pi, "pi", 1)
        mu = _as_float_array(self.mu, "mu", 2)
        sigma2 = _as_float_array(self.sigma2, "sigma2", 2)
        k = pi.shape[0]
        if k < 1:
            raise ValueError("pi must have at least one component (K >= 1), got K=0")
        if np.any(pi < 0):
            raise ValueError(f"pi must be non-negative, got {pi.tolist()}")
        total = float(pi.sum())
        if abs(total - 1.0) > _PI_SUM_TOL:
            raise ValueError(f"pi must sum to 1, got {total:.6g}")
        if mu.shape[0] != k:
            raise ValueError(
                f"mu must have shape [K={k}, D] to match pi, got {mu.shape}")
        if mu.shape[1] < 1:
            raise ValueError(f"mu must have at least one dimension, got {mu.shape}")
        if sigma2.shape != mu.shape:
            raise ValueError(
                f"sigma2 must have the same shape as mu {mu.shape}, got {sigma2.shape}")
        if np.any(sigma2 <= 0):
            raise ValueError("sigma2 must be strictly positive, got min "
                             f"{float(sigma2.min()):.6g}")
        # Frozen dataclass: store the validated copies via object.__setattr__.
        # Read-only arrays keep the "frozen" promise for the contents too.
        for field_name, arr in (("pi", pi), ("mu", mu), ("sigma2", sigma2)):
            arr = arr.copy()
            arr.setflags(write=False)
            object.__setattr__(self, field_name, arr)

    @property
    def k(self) -> int:
        """Number of components K."""
        return int(self.pi.shape[0])

    @property
    def d(self) -> int:
        """Data dimension D."""
        return int(self.mu.shape[1])

    def to_dict(self) -> dict:
        """JSON-friendly dict of nested lists: {"pi", "mu", "sigma2"}."""
        return {"pi": self.pi.tolist(), "mu": self.mu.tolist(),
                "sigma2": self.sigma2.tolist()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "GMMParams":
        """Inverse of :meth:`to_dict`; raises ValueError if a key is missing."""
        missing = [key for key in ("pi", "mu", "sigma2") if key not in d]
        if missing:
            raise ValueError(f"GMMParams.from_dict: missing keys {missing}")
        return cls(pi=np.asarray(d["pi"]), mu=np.asarray(d["mu"]),
                   sigma2=np.asarray(d["sigma2"]))

    def __eq__(self, other: object) -> bool:
        # Dataclass equality on arrays would be ambiguous; compare exactly.
        if not isinstance(other, GMMParams):
            return NotImplemented
        return (np.array_equal(self.pi, other.pi) and np.array_equal(self.mu, other.mu)
                and np.array_equal(self.sigma2, other.sigma2))

    __hash__ = None  # mutable-looking contents; not meant as dict keys


def random_gmm_params(k: int, d: int = 2, separation: float = 4.0, seed: int = 0,
                      sigma: float = 1.0, max_tries: int = 10_000) -> GMMParams:
    """Draw a random well-separated GMM.

    Means are placed one at a time, uniformly in a box, by rejection sampling so
    that every pair is at least ``separation * sigma`` apart. The box grows
    with K so that the constraint is satisfiable for reasonable K.

    Args:
        k: number of components K >= 1.
        d: dimension D >= 1.
        separation: minimum pairwise mean distance, in units of ``sigma``; >= 0.
        seed: seed of the numpy Generator (deterministic output).
        sigma: base standard deviation > 0; variances are
            sigma**2 * uniform(0.5, 1.5) per dimension.
        max_tries: rejection-sampling budget per mean.

    Returns:
        GMMParams with pi [K] ~ Dirichlet(5, ..., 5), mu [K, D], sigma2 [K, D].
    """
    k = check_int("k", k, 1)
    d = check_int("d", d, 1)
    if not np.isfinite(separation) or separation < 0:
        raise ValueError(f"separation must be finite and >= 0, got {separation!r}")
    if not np.isfinite(sigma) or sigma <= 0:
        raise ValueError(f"sigma must be finite and > 0, got {sigma!r}")
    rng = np.random.default_rng(seed)
    min_dist = float(separation) * float(sigma)
    # Box half-width: big enough that K balls of diameter min_dist fit easily
    # (volume argument), and at least a few sigma so K=1 is not degenerate.
    half_width = max(3.0 * sigma, min_dist * max(1.0, k ** (1.0 / d)))
    means = []
    for j in range(k):
        for _ in range(max_tries):
            cand = rng.uniform(-half_width, half_width, size=d)
            if all(np.linalg.norm(cand - m) >= min_dist for m in means):
                means.append(cand)
                break
        else:
            raise ValueError(
                f"could not place mean {j + 1} of k={k} with separation={separation} "
                f"* sigma={sigma} in d={d} after {max_tries} tries; lower separation or k")
    # Dirichlet(5) keeps every weight away from 0, so no component is starved.
    pi = rng.dirichlet(np.full(k, 5.0))
    sigma2 = sigma ** 2 * rng.uniform(0.5, 1.5, size=(k, d))
    return GMMParams(pi=pi, mu=np.stack(means), sigma2=sigma2)


def default_gmm_params() -> GMMParams:
    """The fixed 3-component 2-D mixture used as the default example."""
    return GMMParams(pi=np.array([0.5, 0.3, 0.2]),
                     mu=np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]]),
                     sigma2=np.ones((3, 2)))


def sample_gmm(params: GMMParams, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Draw n points from a diagonal GMM.

    Returns:
        x: [n, D] float64 samples.
        z: [n] int64 component index of each sample.
    """
    if not isinstance(params, GMMParams):
        raise ValueError(f"params must be a GMMParams, got {type(params).__name__}")
    n = check_int("n", n, 1)
    rng = np.random.default_rng(seed)
    # Renormalise: pi is validated to 1e-6, numpy's choice demands ~1e-8.
    p = params.pi / params.pi.sum()
    z = rng.choice(params.k, size=n, p=p).astype(np.int64)
    eps = rng.standard_normal((n, params.d))
    x = params.mu[z] + np.sqrt(params.sigma2[z]) * eps
    return x.astype(np.float64), z
