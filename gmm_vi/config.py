"""Configuration of one GMM variational-inference run, and input validation.

Every number the learning algorithm uses lives in :class:`GMMVIConfig`, a
frozen dataclass with documented defaults; the CLI (``gmm-vi``) fills it in.
Validation happens here, before any work starts, so a bad value gives one
clear message naming the argument.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from common.data import GMMParams
from common.validation import check_int, check_number

__all__ = ["ESTIMATORS", "POSTERIORS", "INITS", "GMMVIConfig", "validate_data",
           "validate_true_params", "make_true_params"]

#: Gradient estimators selectable by ``GMMVIConfig.estimator``.
ESTIMATORS = ("nvil", "reinforce", "exact")
#: Variational posteriors selectable by ``GMMVIConfig.posterior``.
POSTERIORS = ("amortized", "free")
#: Initialisations of the means selectable by ``GMMVIConfig.init``.
INITS = ("kmeans++", "random")


@dataclass(frozen=True)
class GMMVIConfig:
    """Settings of one fit (learning algorithm + evaluation), with defaults.

    Model / data
        k: number of mixture components K (>= 1).
        d: data dimension D; the model is the assignment's 2-D mixture.
    Learning
        estimator: ``"nvil"`` (default; score function with input-dependent
            baseline, centering and variance normalisation, ``zs.nvil``),
            ``"reinforce"`` (plain score function, no variance reduction) or
            ``"exact"`` (sum over the K values of z; the reference).
        posterior: ``"amortized"`` (default; q(z|x) from a small network) or
            ``"free"`` (one free logit vector per data point).
        init: ``"kmeans++"`` (default; k-means++ seeding of the means from
            the data) or ``"random"`` (means at K distinct data points drawn
            uniformly, as in the plain ZhuSuan run; for ablations).
        n_restarts: restarts trained side by side (a leading restart axis);
            the one with the highest exact ELBO is kept.
        n_particles: samples of z per data point and step for the
            score-function estimators.
        hidden_units: tanh units of q's network (and of the baseline net).
        learning_rate: Adam step size during the main phase.
        baseline_warmup: NVIL only: steps that fit the baseline b(x) alone to
            the learning signal at the initial state before training starts
            (q starts at the exact posterior, where the signal is log p(x)
            whatever z is, so a fitted baseline removes nearly all of the
            variance from the first step on).
        decay: NVIL moving-average decay (ZhuSuan's default 0.8).
        variance_normalization: divide NVIL's centred signal by
            max(1, sqrt(moving variance)) (Mnih & Gregor, 2014).
        max_iters: hard cap on main-phase iterations.
        min_iters: never declare convergence before this many iterations.
        eval_every: iterations per compiled chunk; the exact ELBO and
            log-likelihood are recorded after every chunk.
        tol: convergence tolerance in nats per point: a restart has converged
            once its best exact ELBO improved by less than ``tol`` over the
            last ``patience`` evaluations.
        patience: evaluations (of ``eval_every`` iterations each) without an
            improvement above ``tol`` before a restart counts as converged.
        polish_iters: iterations of the final polish, run after convergence
            with the learning rate scaled by ``polish_lr_factor`` (averages
            out the score-function jitter of the parameters).
        polish_lr_factor: learning-rate factor of the polish phase.
        polish_particles: particles per point during the polish.
        jit_compile: compile the training chunk with XLA.  Off by default:
            measured on 2 CPU cores, N=100, 8 restarts, an XLA step took
            0.5-0.6 ms against about 0.6 ms without it, but compiling it took
            1.8 s, more than the whole training.
    Evaluation
        grad_var_points: how many times during training the gradient variance
            of the variational parameters is measured for REINFORCE, NVIL and
            the exact gradient (0 switches it off).
        grad_var_draws: gradient draws per estimator and measurement.
        em_n_init: ``n_init`` of scikit-learn's EM reference.
        em_tol: EM's convergence tolerance on the mean log-likelihood.  Tighter
            than scikit-learn's default 1e-3, which stops EM early on slowly
            converging data (then EM is not the exact MLE it is the reference
            for: on seed 1 of the benchmark it ended 0.0025 nats/point below
            the optimum).
        em_max_iter: EM's iteration cap per initialisation.
        seed: seeds the data, the initialisation and TensorFlow's sampling.
    """

    k: int = 3
    d: int = 2
    estimator: str = "nvil"
    posterior: str = "amortized"
    init: str = "kmeans++"
    n_restarts: int = 8
    n_particles: int = 4
    hidden_units: int = 16
    learning_rate: float = 0.02
    baseline_warmup: int = 200
    decay: float = 0.8
    variance_normalization: bool = True
    max_iters: int = 3000
    min_iters: int = 300
    eval_every: int = 50
    tol: float = 1e-3
    patience: int = 4
    polish_iters: int = 400
    polish_lr_factor: float = 0.1
    polish_particles: int = 16
    jit_compile: bool = False
    grad_var_points: int = 6
    grad_var_draws: int = 200
    em_n_init: int = 10
    em_tol: float = 1e-6
    em_max_iter: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        positive_ints = ["k", "d", "n_restarts", "n_particles", "hidden_units",
                         "max_iters", "eval_every", "patience", "polish_particles",
                         "grad_var_draws", "em_n_init", "em_max_iter"]
        for name in positive_ints:
            check_int(name, getattr(self, name), 1)
        for name in ["min_iters", "polish_iters", "grad_var_points", "seed",
                     "baseline_warmup"]:
            check_int(name, getattr(self, name), 0)
        if self.grad_var_draws < 2:
            raise ValueError(f"grad_var_draws must be >= 2 to estimate a variance, "
                             f"got {self.grad_var_draws}")
        if self.estimator not in ESTIMATORS:
            raise ValueError(f"estimator must be one of {ESTIMATORS}, got {self.estimator!r}")
        if self.init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {self.init!r}")
        if self.posterior not in POSTERIORS:
            raise ValueError(f"posterior must be one of {POSTERIORS}, got {self.posterior!r}")
        for name in ["learning_rate", "tol", "polish_lr_factor", "em_tol"]:
            check_number(name, getattr(self, name), 0.0, strict=True)
        if not isinstance(self.decay, (int, float)) or not 0.0 < self.decay < 1.0:
            raise ValueError(f"decay must be in (0, 1), got {self.decay!r}")
        if self.seed >= 2 ** 31:
            raise ValueError(f"seed must be < 2**31, got {self.seed}")

    def replace(self, **changes) -> "GMMVIConfig":
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


#: Largest data magnitude accepted (squares must stay far inside float32).
MAX_DATA_MAGNITUDE = 1e6


def validate_data(x, k: int, d: int = 2) -> np.ndarray:
    """Check the data before any work and return it as float64 ``[N, D]``.

    Raises ValueError naming the problem: K < 1, data not ``[N, D]``,
    non-finite values, fewer points than components (N < K), fewer distinct
    points than K, a coordinate without variance, or magnitudes beyond
    :data:`MAX_DATA_MAGNITUDE`.
    """
    check_int("k (number of components K)", k, 1)
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"data x must be numeric, got {type(x).__name__}") from exc
    if arr.ndim != 2 or arr.shape[1] != d:
        raise ValueError(f"data x must have shape [N, {d}] (D={d}), got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ValueError(f"data x must be finite; found {bad} NaN/inf value(s)")
    if arr.shape[0] < k:
        raise ValueError(f"need at least K={k} data points (N >= K), got N={arr.shape[0]}")
    n_distinct = int(np.unique(arr, axis=0).shape[0])
    if n_distinct < k:
        raise ValueError(f"data x has only {n_distinct} distinct point(s); K={k} "
                         f"components cannot be identified from fewer than K")
    scale = float(np.max(np.abs(arr)))
    if scale > MAX_DATA_MAGNITUDE:
        raise ValueError(f"data x has values of magnitude {scale:.3g}, beyond "
                         f"{MAX_DATA_MAGNITUDE:.0e} (the model computes in float32); "
                         f"rescale it, e.g. standardise each coordinate")
    spread = arr.std(axis=0)
    flat = np.flatnonzero(spread <= 1e-6 * max(1.0, scale))
    if flat.size:
        raise ValueError(f"data x has (almost) no variance in coordinate(s) "
                         f"{flat.tolist()} (std {spread[flat].tolist()}); the component "
                         f"variances cannot be identified")
    return arr


def validate_true_params(params: GMMParams, k: int | None = None, d: int = 2) -> GMMParams:
    """Check a user-given true model: a :class:`GMMParams` with D = ``d``
    (and K = ``k`` when given)."""
    if not isinstance(params, GMMParams):
        raise ValueError(f"true model must be a GMMParams, got {type(params).__name__}")
    if params.d != d:
        raise ValueError(f"true model must be {d}-D (mu of shape [K, {d}]), got D={params.d}")
    if k is not None and params.k != k:
        raise ValueError(f"true model has K={params.k} components but k={k} was asked for")
    return params


def _numeric(value, name: str, option: str) -> np.ndarray:
    """``value`` as a float64 array, or a ValueError naming the option."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"true model: {name} ({option}) must be numbers in nested "
                         f"JSON lists, got {value!r}") from None


def make_true_params(pi=None, mu=None, sigma2=None, d: int = 2) -> GMMParams:
    """Build and validate a user-given true model from lists.

    Errors (raised before any work) name the argument and its option: pi
    (``--true-pi``) must be non-negative and sum to 1, sigma2
    (``--true-sigma2``) strictly positive, shapes [K], [K, D], [K, D].
    """
    pi_arr = None if pi is None else _numeric(pi, "pi", "--true-pi")
    if pi_arr is not None and pi_arr.ndim == 1 and pi_arr.size and \
            abs(float(pi_arr.sum()) - 1.0) > 1e-6:
        raise ValueError(f"true model: pi (--true-pi) must sum to 1, got sum "
                         f"{float(pi_arr.sum()):.6g} for pi={pi_arr.tolist()}")
    mu_arr = None if mu is None else _numeric(mu, "mu", "--true-mu")
    if pi_arr is None or mu_arr is None:
        missing = " and ".join(n for n, v in (("pi (--true-pi)", pi_arr),
                                              ("mu (--true-mu)", mu_arr)) if v is None)
        raise ValueError(f"a user-given true model needs pi and mu; {missing} not given")
    if mu_arr.ndim != 2 or mu_arr.shape[1] != d:
        raise ValueError(f"true model: mu (--true-mu) must be a [K, {d}] list of means, "
                         f"got shape {mu_arr.shape}")
    if sigma2 is None:
        sigma2 = np.ones_like(mu_arr)
    sigma2_arr = _numeric(sigma2, "sigma2", "--true-sigma2")
    if sigma2_arr.size and np.any(sigma2_arr <= 0):
        raise ValueError(f"true model: variances sigma2 (--true-sigma2) must be > 0, got "
                         f"{np.asarray(sigma2).tolist()}")
    try:
        params = GMMParams(pi=pi_arr, mu=mu_arr, sigma2=sigma2_arr)
    except ValueError as exc:
        raise ValueError(f"true model: {exc}") from exc
    return validate_true_params(params, d=d)
