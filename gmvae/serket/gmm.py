"""Serket's GMM module: clusters the latents it receives, sends each point's
class mean back and the class probabilities forward.

    gmm1 = gmm.GMM(10, category=data_category)
    gmm1.connect(vae1)
    gmm1.update()

The model is a Bayesian GMM with a Gaussian-Wishart prior on each class (full
covariance) fitted by mean-field variational Bayes (see
:mod:`gmvae.serket.bayes_gmm`); a module connected above may send a per-point
prior over classes [N, K] as the backward message, which multiplies the
mixing weights point by point.

Each "learn" update refits the posterior: the first from ``n_restarts``
k-means++ starts, each run to convergence, later ones from the previous
update's responsibilities (plus ``n_restarts_update`` fresh starts, none by
default); the fit with the highest evidence lower bound is kept.  Why warm
starts only: the VAE has just been pulled towards the classes of the last
fit, and fresh starts, scored by the GMM's own bound, move the partition
towards the bound's preferred one on these latents (which splits digits by
style), undoing good first fits as often as bad ones; the first fit is
therefore searched thoroughly and then refined.

Messages: forward = class probabilities Pdz [N, K]; backward
(to the VAE) = mu [N, D], the posterior mean of each point's most probable
class ("hard", Serket) or the probability-weighted mean ("soft").
"recog" mode loads ``model.pickle`` from ``load_dir`` and only classifies.

Files in ``module%03d_gmm/`` ({mode} = learn or recog):
    class_{mode}.txt   [N] class of each point; when ``category`` is given the
                       classes are renamed to the matched true labels
                       (Hungarian matching), as Serket does
    acc_{mode}.txt     accuracy under that matching (only with ``category``)
    Pdz_{mode}.txt     [N, K] class probabilities (the forward message)
    mu_{mode}.txt      [N, D] each point's class mean (the backward message)
    means_{mode}.txt   [K, D] the class means
    model.pickle       the variational posterior and prior (numpy arrays)
    metrics_{mode}.json  accuracy, NMI, ELBO per point, class sizes, seconds
    history.json       the metrics of every update
"""
from __future__ import annotations

import dataclasses
import pickle
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from common.metrics import cluster_accuracy, hungarian_mapping, nmi
from common.training import write_json
from common.validation import check_int

from . import serket as srk
from .bayes_gmm import VBGMMConfig, VBGMMPosterior, check_bias, fit_vbgmm, responsibilities

__all__ = ["GMM", "GMMConfig", "check_category"]

MODES = ("learn", "recog")


@dataclass(frozen=True)
class GMMConfig:
    """Settings of the GMM module.

    Attributes:
        K: number of classes (>= 1).
        itr: variational-Bayes sweeps per start (Serket: Gibbs sweeps, 100).
        mode: "learn" or "recog"; load_dir: folder of a trained GMM (recog).
        n_restarts: k-means++ starts of the first update.
        n_restarts_update: fresh starts tried besides the warm start later.
        screen_iter: None runs every start to convergence; a number ranks the
            starts after that many sweeps and runs only the best ``n_keep`` on.
        message: "hard" (Serket) or "soft" class means sent to the VAE.
        alpha0, beta0, nu0_offset, prior_scale: the prior (see VBGMMConfig);
            alpha0 = 1000 favours classes of similar size (MNIST's are).
        tol: convergence tolerance on the ELBO per point.
        seed: seeds the restarts (None: unseeded).
    """
    K: int
    itr: int = 100
    mode: str = "learn"
    load_dir: Optional[str] = None
    n_restarts: int = 30
    n_restarts_update: int = 0
    screen_iter: Optional[int] = None
    n_keep: int = 4
    message: str = "hard"
    alpha0: float = 1000.0
    beta0: float = 1.0
    nu0_offset: float = 2.0
    prior_scale: float = 1.0
    tol: float = 1e-4
    seed: Optional[int] = None

    def __post_init__(self):
        check_int("K (the number of classes)", self.K, 1)
        for name in ("itr", "n_restarts"):
            check_int(name, getattr(self, name), 1)
        check_int("n_restarts_update", self.n_restarts_update, 0)
        if self.screen_iter is not None:
            check_int("screen_iter", self.screen_iter, 1)
        check_int("n_keep", self.n_keep, 1)
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "recog" and self.load_dir is None:
            raise ValueError('mode="recog" needs load_dir, the folder of a trained GMM')
        if self.message not in ("hard", "soft"):
            raise ValueError(f"message must be 'hard' or 'soft', got {self.message!r}")
        self.vb_config(1)  # validates the prior settings

    def vb_config(self, n_restarts: int) -> VBGMMConfig:
        return VBGMMConfig(alpha0=self.alpha0, beta0=self.beta0, nu0_offset=self.nu0_offset,
                           prior_scale=self.prior_scale, max_iter=int(self.itr), tol=self.tol,
                           n_restarts=int(n_restarts),
                           screen_iter=int(self.itr if self.screen_iter is None
                                           else self.screen_iter),
                           n_keep=int(max(n_restarts, 1) + 1 if self.screen_iter is None
                                      else self.n_keep))


def check_category(category, n: Optional[int] = None) -> Optional[np.ndarray]:
    """True labels as int64 [N] (floats from np.loadtxt are fine if integral)."""
    if category is None:
        return None
    arr = np.asarray(category)
    if arr.ndim == 2 and 1 in arr.shape:
        arr = arr.reshape(-1)
    if arr.ndim != 1 or arr.shape[0] < 1:
        raise ValueError(f"category must be a 1-D array of labels, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number):
        raise ValueError(f"category must hold numeric labels, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr != np.round(arr)):
        raise ValueError("category must hold integer labels")
    if n is not None and arr.shape[0] != n:
        raise ValueError(f"category holds {arr.shape[0]} labels but the data have {n} "
                         "points: give one label per data point")
    return arr.astype(np.int64)


class GMM(srk.Module):
    """Serket GMM module (see the module docstring)."""

    def __init__(self, K, itr=100, name="gmm", category=None, mode="learn", load_dir=None,
                 **options):
        self.config = GMMConfig(K=K, itr=itr, mode=mode,
                                load_dir=None if load_dir is None else str(load_dir), **options)
        self.category = check_category(category)
        super().__init__(name, learnable=(mode == "learn"))
        self.posterior: Optional[VBGMMPosterior] = None
        self._resp: Optional[np.ndarray] = None
        self._n_updates = 0
        self.history: list = []

    def connect(self, *modules) -> None:
        super().connect(*modules)
        n = self.n_items
        if self.category is not None and n is not None:
            check_category(self.category, n)   # wrong length: fail now, not after training

    # -- update -----------------------------------------------------------------
    def update(self) -> None:
        """Fit (learn) or classify (recog), write the files, send the messages."""
        x = srk.as_data_matrix(self.get_observations()[0], name=f"{self.get_name()} input")
        n = x.shape[0]
        k = int(self.config.K)
        category = check_category(self.category, n)
        bias = check_bias(self.get_backward_msg(), n, k,
                          name=f"{self.get_name()} backward message (prior over classes)")
        if self.config.mode == "learn" and k > n:
            raise ValueError(f"K = {k} exceeds the number of data points N = {n}")
        start = time.perf_counter()
        if self.config.mode == "learn":
            first = self._resp is None or self._resp.shape != (n, k)
            cfg = self.config.vb_config(self.config.n_restarts if first
                                        else self.config.n_restarts_update)
            seed = None if self.config.seed is None else \
                int(self.config.seed) * 1000 + self._n_updates
            self.posterior, resp = fit_vbgmm(x, k, cfg, bias=bias,
                                             init_resp=None if first else self._resp, seed=seed)
        else:
            if self.posterior is None:
                self._load(x.shape[1])
            resp = responsibilities(x, self.posterior, bias=bias)
        self._resp = resp
        classes = resp.argmax(axis=1)
        means = self.posterior.m                                        # [K, D]
        mu = means[classes] if self.config.message == "hard" else resp @ means
        seconds = time.perf_counter() - start
        self._write(resp, classes, mu, means, category, seconds)
        self._n_updates += 1
        self.set_forward_msg(resp)
        self.send_backward_msgs([mu])

    def _load(self, d: int) -> None:
        path = srk.resolve_path(self.config.load_dir) / "model.pickle"
        if not path.is_file():
            raise FileNotFoundError(f"load_dir holds no trained GMM: {path} not found")
        with open(path, "rb") as f:
            saved = pickle.load(f)
        post = VBGMMPosterior(**saved["posterior"])
        if post.k != self.config.K:
            raise ValueError(f"the GMM in {path.parent} has K = {post.k}, this module "
                             f"K = {self.config.K}")
        if post.d != d:
            raise ValueError(f"the GMM in {path.parent} takes {post.d}-D inputs, got {d}-D")
        self.posterior = post

    # -- outputs ----------------------------------------------------------------
    def _write(self, resp, classes, mu, means, category, seconds) -> None:
        out = self._make_save_dir()
        mode = self.config.mode
        metrics = {"update": self._n_updates, "mode": mode, "seconds": seconds,
                   "elbo_per_point": float(self.posterior.elbo) if mode == "learn" else None,
                   "class_sizes": np.bincount(classes, minlength=self.config.K).tolist()}
        shown = classes
        if category is not None:
            mapping = hungarian_mapping(category, classes)
            # Unmatched clusters (more clusters than labels) keep an id no label uses.
            spare = iter(range(int(category.max()) + 1, int(category.max()) + 1 + self.config.K))
            lut = {c: mapping[c] if c in mapping else next(spare) for c in np.unique(classes)}
            shown = np.array([lut[c] for c in classes], dtype=np.int64)
            metrics["accuracy"] = cluster_accuracy(category, classes)
            metrics["nmi"] = nmi(category, classes)
            np.savetxt(out / f"acc_{mode}.txt", [metrics["accuracy"]], fmt="%.6f")
        np.savetxt(out / f"class_{mode}.txt", shown, fmt="%d")
        np.savetxt(out / f"Pdz_{mode}.txt", resp, fmt="%.6g")
        srk.savetxt_fixed(out / f"mu_{mode}.txt", mu, 6)
        srk.savetxt_fixed(out / f"means_{mode}.txt", means, 6)
        if mode == "learn":
            with open(out / "model.pickle", "wb") as f:
                pickle.dump({"posterior": self.posterior.to_dict(),
                             "config": dataclasses.asdict(self.config)}, f)
        write_json(out / f"metrics_{mode}.json", metrics)
        self.history.append(metrics)
        write_json(out / "history.json", self.history)
        self.last_metrics = metrics

    @property
    def n_updates(self) -> int:
        return self._n_updates

    @property
    def classes(self) -> Optional[np.ndarray]:
        """Most probable class of each point after the last update, [N]."""
        return None if self._resp is None else self._resp.argmax(axis=1)
