"""Bayesian Gaussian mixture (full covariance) by mean-field variational Bayes.

The model is the one behind Serket's GMM module, with the same conjugate prior:

    pi            ~ Dirichlet(alpha0 * 1_K)
    Lambda_k      ~ Wishart(W0, nu0)            (precision of class k)
    m_k | Lambda_k ~ N(m0, (beta0 Lambda_k)^-1)  (Gaussian-Wishart per class)
    c_n           ~ Cat(pi * bias_n)            (bias_n: a per-point prior over
                                                 classes sent by a module above)
    x_n | c_n = k ~ N(m_k, Lambda_k^-1)

Serket samples it with collapsed Gibbs, one point and one class at a time; here
the factorised posterior q(c) q(pi) prod_k q(m_k, Lambda_k) is fitted with the
closed-form coordinate updates (Bishop, PRML 10.2), every update vectorised
over points and classes in numpy.  Each fit keeps the best of several restarts
(k-means++ seeding, or a warm start from earlier responsibilities) by the
evidence lower bound.

Shapes: x [N, D], responsibilities / bias [N, K], class means [K, D],
scale matrices [K, D, D].
"""
from __future__ import annotations

import dataclasses
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy.special import digamma, gammaln
from threadpoolctl import threadpool_limits

from common.validation import check_int

__all__ = ["VBGMMConfig", "VBGMMPosterior", "fit_vbgmm", "responsibilities",
           "kmeanspp_responsibilities", "check_bias"]

_LOG_2PI = np.log(2.0 * np.pi)
_MIN_FITS_PER_THREAD = 4   # fewer fits per thread: the threads cost more than they save


@dataclass(frozen=True)
class VBGMMConfig:
    """Prior and optimisation settings of the variational Bayesian GMM.

    Attributes:
        alpha0: Dirichlet concentration per class (1.0: uniform prior on pi).
        beta0: prior pseudo-count of each class mean (Serket: r0 = 1).
        nu0_offset: Wishart degrees of freedom nu0 = D + nu0_offset (Serket: 2).
        prior_scale: the prior expects class covariances of about
            ``prior_scale * v I`` (W0^-1 = nu0 * prior_scale * v * I), v being
            the mean per-dimension variance of the data within the classes of
            a k-means partition (so the prior scales with the clusters, not
            with the spread between them); the prior mean m0 is the data mean.
        max_iter: coordinate-ascent sweeps per restart.
        tol: stop a restart when the ELBO per point changes less than this.
        n_restarts: k-means++-seeded restarts (a warm start, when given, is
            tried in addition; 0 is allowed only with a warm start).
        screen_iter: sweeps every start gets before the starts are ranked.
        n_keep: starts (best ELBO after screening) run on to convergence.
        reg: jitter added to the diagonal of scale matrices, for stability.
    """
    alpha0: float = 1.0
    beta0: float = 1.0
    nu0_offset: float = 2.0
    prior_scale: float = 1.0
    max_iter: int = 100
    tol: float = 1e-5
    n_restarts: int = 5
    screen_iter: int = 8
    n_keep: int = 4
    reg: float = 1e-6

    def __post_init__(self):
        for name in ("alpha0", "beta0", "prior_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)!r}")
        if not self.nu0_offset > -1:
            raise ValueError(f"nu0_offset must be > -1 (nu0 > D - 1), got {self.nu0_offset!r}")
        if int(self.max_iter) < 1 or int(self.n_restarts) < 0:
            raise ValueError("max_iter must be >= 1 and n_restarts >= 0")
        if int(self.screen_iter) < 1 or int(self.n_keep) < 1:
            raise ValueError("screen_iter and n_keep must be >= 1")


@dataclass
class VBGMMPosterior:
    """Variational posterior q(pi) prod_k q(m_k, Lambda_k), plus the prior.

    Attributes (K classes, D dimensions):
        alpha [K], beta [K], m [K, D], W [K, D, D] (Wishart scale), nu [K];
        m0 [D], beta0, W0inv [D, D], nu0, alpha0: the prior;
        elbo: evidence lower bound per point of the fit (with the bias used).
    """
    alpha: np.ndarray
    beta: np.ndarray
    m: np.ndarray
    W: np.ndarray
    nu: np.ndarray
    m0: np.ndarray
    beta0: float
    W0inv: np.ndarray
    nu0: float
    alpha0: float
    elbo: float = float("nan")

    @property
    def k(self) -> int:
        return int(self.alpha.shape[0])

    @property
    def d(self) -> int:
        return int(self.m.shape[1])

    @property
    def weights(self) -> np.ndarray:
        """E[pi] [K]."""
        return self.alpha / self.alpha.sum()

    @property
    def covariances(self) -> np.ndarray:
        """E[Lambda_k]^-1 = W_k^-1 / nu_k, [K, D, D]."""
        return np.linalg.inv(self.W) / self.nu[:, None, None]

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# ----------------------------------------------------------------------------- checks
def _check_x(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1 or x.shape[1] < 1:
        raise ValueError(f"x must be 2-D [N, D] with N, D >= 1, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite (found NaN or inf)")
    return x


def check_bias(bias, n: int, k: int, name: str = "bias") -> Optional[np.ndarray]:
    """A per-point prior over classes: None, or [n, k], >= 0, rows sum to one."""
    if bias is None:
        return None
    b = np.asarray(bias, dtype=np.float64)
    if b.shape != (n, k):
        raise ValueError(f"{name} must have shape [N, K] = [{n}, {k}], got {b.shape}")
    if not np.all(np.isfinite(b)) or np.any(b < 0):
        raise ValueError(f"{name} must be finite and non-negative")
    sums = b.sum(axis=1)
    if not np.allclose(sums, 1.0, atol=1e-4):
        bad = int(np.argmax(np.abs(sums - 1.0)))
        raise ValueError(f"{name}: each row must sum to one; row {bad} sums to {sums[bad]:.6g}")
    return b


# ----------------------------------------------------------------------------- updates
def within_class_variance(x: np.ndarray, resp: np.ndarray) -> float:
    """Mean per-dimension variance of x [N, D] around its class means (resp [N, K])."""
    nk = resp.sum(axis=0) + 1e-10
    xbar = (resp.T @ x) / nk[:, None]
    sq = np.sum((x[:, None, :] - xbar[None, :, :]) ** 2, axis=2)       # [N, K]
    return float(np.sum(resp * sq) / (x.shape[0] * x.shape[1]))


def _prior(x: np.ndarray, cfg: VBGMMConfig, resp: Optional[np.ndarray] = None):
    """(m0, beta0, W0^-1, nu0, alpha0); ``resp`` [N, K]: the partition whose
    within-class variance sets the covariance scale (None: one class)."""
    d = x.shape[1]
    nu0 = d + cfg.nu0_offset
    if resp is None:
        resp = np.ones((x.shape[0], 1))
    var = within_class_variance(x, resp) if x.shape[0] > 1 else 1.0
    var = max(var, 1e-8)
    # E[Lambda] = nu0 W0 = (prior_scale * var)^-1 I: prior covariance scale.
    W0inv = np.eye(d) * (nu0 * cfg.prior_scale * var)
    return x.mean(axis=0), float(cfg.beta0), W0inv, float(nu0), float(cfg.alpha0)


def _outer(x: np.ndarray) -> np.ndarray:
    """Packed outer products: x_n,i x_n,j for i <= j, [N, D(D+1)/2] (computed
    once per fit).  The second moments and quadratic forms are symmetric, so
    the upper triangle holds all the information at about half the GEMM cost
    of the full [N, D*D]."""
    i, j = np.triu_indices(x.shape[1])
    return x[:, i] * x[:, j]


def _unpack(packed: np.ndarray, d: int) -> np.ndarray:
    """[..., D(D+1)/2] upper triangles -> the symmetric [..., D, D]."""
    i, j = np.triu_indices(d)
    full = np.empty(packed.shape[:-1] + (d, d))
    full[..., i, j] = packed
    full[..., j, i] = packed
    return full


def _pack_quadratic(W: np.ndarray) -> np.ndarray:
    """Coefficients c [..., D(D+1)/2] with sum_ij W_ij x_i x_j = c . _outer(x)
    for symmetric W: the diagonal once, each off-diagonal pair twice."""
    d = W.shape[-1]
    i, j = np.triu_indices(d)
    return W[..., i, j] * np.where(i == j, 1.0, 2.0)


# Every update below is batched over a leading axis of S independent fits
# (restarts run side by side): responsibilities [S, N, K], alpha / beta / nu
# [S, K], m [S, K, D], W [S, K, D, D].  The sums over points of all S*K
# classes are single GEMMs against x [N, D] and its packed outer products
# [N, D(D+1)/2].
def _class_sums(r, mat):
    """sum_n r[s, n, k] mat[n, :] for all s, k: [S, K, mat.shape[1]] (one GEMM)."""
    s, n, k = r.shape
    flat = np.ascontiguousarray(r.transpose(0, 2, 1)).reshape(s * k, n)
    return (flat @ mat).reshape(s, k, -1)


def _m_step(x, xx, r, m0, beta0, W0inv, nu0, alpha0, reg):
    """q(pi), q(m, Lambda) from responsibilities r [S, N, K]; xx = _outer(x)."""
    d = x.shape[1]
    nk = r.sum(axis=1) + 1e-10                                   # [S, K]
    xbar = _class_sums(r, x) / nk[..., None]                     # [S, K, D]
    second = _unpack(_class_sums(r, xx), d)                      # [S, K, D, D]
    sk = second / nk[..., None, None] - xbar[..., :, None] * xbar[..., None, :]
    alpha = alpha0 + nk
    beta = beta0 + nk
    m = (beta0 * m0 + nk[..., None] * xbar) / beta[..., None]
    dm = xbar - m0
    Winv = (W0inv + nk[..., None, None] * sk
            + (beta0 * nk / (beta0 + nk))[..., None, None] * dm[..., :, None] * dm[..., None, :])
    Winv = 0.5 * (Winv + np.swapaxes(Winv, -1, -2)) + reg * np.eye(d)
    W = np.linalg.inv(Winv)
    W = 0.5 * (W + np.swapaxes(W, -1, -2))
    nu = nu0 + nk
    return alpha, beta, m, W, nu


def _expected_log_terms(x, xx, alpha, beta, m, W, nu):
    """log rho [S, N, K] without the bias: E[log pi_k] + E[log N(x_n | m_k, Lambda_k^-1)]."""
    n, d = x.shape
    s, k = alpha.shape
    e_log_pi = digamma(alpha) - digamma(alpha.sum(axis=-1, keepdims=True))   # [S, K]
    _, logdet_w = np.linalg.slogdet(W)                                       # [S, K]
    i = np.arange(1, d + 1)
    e_logdet_lam = (digamma(0.5 * (nu[..., None] + 1 - i)).sum(axis=-1)
                    + d * np.log(2.0) + logdet_w)                            # [S, K]
    # (x - m_k)^T W_k (x - m_k) = x^T W_k x - 2 x^T W_k m_k + m_k^T W_k m_k,
    # each term one GEMM over all points and classes (no [N, K, D] temporaries).
    wm = np.matmul(W, m[..., None])[..., 0]                                  # [S, K, D]
    quad = (xx @ _pack_quadratic(W).reshape(s * k, -1).T
            - 2.0 * (x @ wm.reshape(s * k, d).T))
    quad = quad.reshape(n, s, k).transpose(1, 0, 2) + np.sum(m * wm, axis=-1)[:, None, :]
    maha = nu[:, None, :] * np.maximum(quad, 0.0) + d / beta[:, None, :]     # [S, N, K]
    return (e_log_pi[:, None, :] + 0.5 * e_logdet_lam[:, None, :]
            - 0.5 * d * _LOG_2PI - 0.5 * maha), e_log_pi, e_logdet_lam


def _log_wishart_norm(W, nu):
    """log B(W, nu) of the Wishart normaliser (PRML B.79), per class."""
    d = W.shape[-1]
    _, logdet = np.linalg.slogdet(W)
    i = np.arange(1, d + 1)
    return (-0.5 * nu * logdet - 0.5 * nu * d * np.log(2.0) - 0.25 * d * (d - 1) * np.log(np.pi)
            - gammaln(0.5 * (nu[..., None] + 1 - i)).sum(axis=-1))


def _elbo(x, r, log_rho, post, prior, e_log_pi, e_logdet_lam):
    """Evidence lower bound (PRML 10.70-10.77), total over points, per fit [S]."""
    alpha, beta, m, W, nu = post
    m0, beta0, W0inv, nu0, alpha0 = prior
    k, d = m.shape[-2:]
    # E[log p(x, c | ...)] - E[log q(c)] = sum r (log_rho - log r) + log-normaliser slack.
    safe = np.clip(r, 1e-300, None)
    data_term = np.sum(r * (log_rho - np.log(safe)), axis=(1, 2))
    # E[log p(pi)] - E[log q(pi)]
    pi_term = (gammaln(k * alpha0) - k * gammaln(alpha0) + (alpha0 - 1) * e_log_pi.sum(-1)
               - (gammaln(alpha.sum(-1)) - gammaln(alpha).sum(-1)
                  + ((alpha - 1) * e_log_pi).sum(-1)))
    # E[log p(m, Lambda)] - E[log q(m, Lambda)]
    W0 = np.linalg.inv(W0inv)
    dm = m - m0
    quad = nu * np.einsum("ski,skij,skj->sk", dm, W, dm)
    tr = nu * np.einsum("ij,skji->sk", W0inv, W)
    log_b0 = _log_wishart_norm(W0[None], np.array([nu0]))[0]
    log_bk = _log_wishart_norm(W, nu)
    p_ml = np.sum(0.5 * (d * np.log(beta0 / (2 * np.pi)) + e_logdet_lam - d * beta0 / beta
                         - beta0 * quad) + log_b0 + 0.5 * (nu0 - d - 1) * e_logdet_lam - 0.5 * tr,
                  axis=-1)
    entropy_wish = -log_bk - 0.5 * (nu - d - 1) * e_logdet_lam + 0.5 * nu * d
    q_ml = np.sum(0.5 * e_logdet_lam + 0.5 * d * np.log(beta / (2 * np.pi)) - 0.5 * d
                  - entropy_wish, axis=-1)
    return data_term + pi_term + p_ml - q_ml


def _e_step(x, xx, post, log_bias):
    log_rho, e_log_pi, e_logdet = _expected_log_terms(x, xx, *post)
    if log_bias is not None:
        log_rho = log_rho + log_bias
    # Normalised in place (a softmax over classes): scipy's logsumexp and a
    # second exp over [S, N, K] cost more than the rest of the sweep's ufuncs.
    r = log_rho - log_rho.max(axis=-1, keepdims=True)
    np.exp(r, out=r)
    r /= r.sum(axis=-1, keepdims=True)
    return r, log_rho, e_log_pi, e_logdet


def kmeanspp_responsibilities(x: np.ndarray, k: int, rng: np.random.Generator,
                              n_lloyd: int = 10) -> np.ndarray:
    """Hard responsibilities [N, K] from k-means++ seeding plus a few Lloyd steps."""
    n = x.shape[0]
    centers = np.empty((k, x.shape[1]))
    centers[0] = x[rng.integers(n)]
    d2 = np.sum((x - centers[0]) ** 2, axis=1)
    for j in range(1, k):
        p = d2 / d2.sum() if d2.sum() > 0 else np.full(n, 1.0 / n)
        centers[j] = x[rng.choice(n, p=p)]
        d2 = np.minimum(d2, np.sum((x - centers[j]) ** 2, axis=1))
    x2 = np.sum(x ** 2, axis=1)

    def nearest():
        dist = x2[:, None] - 2 * x @ centers.T + np.sum(centers ** 2, axis=1)[None, :]
        return np.argmin(dist, axis=1)

    eye = np.eye(k)
    for _ in range(n_lloyd):
        onehot = eye[nearest()]
        counts = onehot.sum(axis=0)
        filled = counts > 0          # an emptied cluster keeps its centre
        centers[filled] = (onehot.T @ x)[filled] / counts[filled, None]
    return eye[nearest()]


def _iterate(x, xx, post, prior, cfg, log_bias, n_iter):
    """Up to ``n_iter`` coordinate-ascent sweeps of S fits side by side from
    ``post`` (arrays with a leading S axis); each fit stops on its own when its
    ELBO per point changes by less than ``cfg.tol`` (the others sweep on).
    Returns (post, r [S, N, K], elbo [S], converged [S])."""
    s = post[0].shape[0]
    post = tuple(np.array(p, copy=True) for p in post)
    prev = np.full(s, -np.inf)
    elbo = np.full(s, -np.inf)
    converged = np.zeros(s, dtype=bool)
    for _ in range(int(n_iter)):
        act = np.flatnonzero(~converged)
        if act.size == 0:
            break
        sub = tuple(p[act] for p in post)
        r, log_rho, e_log_pi, e_logdet = _e_step(x, xx, sub, log_bias)
        sub = _m_step(x, xx, r, *prior, cfg.reg)
        for p, q in zip(post, sub):
            p[act] = q
        elbo[act] = _elbo(x, r, log_rho, sub, prior, e_log_pi, e_logdet) / x.shape[0]
        converged[act] = np.abs(elbo[act] - prev[act]) < cfg.tol
        prev[act] = elbo[act]
    r, _, _, _ = _e_step(x, xx, post, log_bias)
    return post, r, elbo, converged


def _iterate_threads(x, xx, post, prior, cfg, log_bias, n_iter):
    """``_iterate`` with the S fits split between the CPU cores, one thread
    each (numpy releases the GIL in its GEMMs and array loops; every fit is
    independent, so each follows the same path as when swept alone)."""
    s = post[0].shape[0]
    n_threads = min(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                    else (os.cpu_count() or 1), s // _MIN_FITS_PER_THREAD)
    if n_threads < 2:
        return _iterate(x, xx, post, prior, cfg, log_bias, n_iter)
    parts = np.array_split(np.arange(s), n_threads)
    with ThreadPoolExecutor(n_threads) as pool:
        outs = list(pool.map(lambda idx: _iterate(x, xx, tuple(p[idx] for p in post), prior,
                                                  cfg, log_bias, n_iter), parts))
    post = tuple(np.concatenate([o[0][i] for o in outs]) for i in range(len(post)))
    return (post,) + tuple(np.concatenate([o[j] for o in outs]) for j in (1, 2, 3))


def fit_vbgmm(x, k: int, config: VBGMMConfig = VBGMMConfig(), bias=None,
              init_resp=None, seed: int = 0) -> tuple[VBGMMPosterior, np.ndarray]:
    """Fit the variational Bayesian GMM; keep the restart with the highest ELBO.

    Args:
        x: [N, D] data.
        k: number of classes (>= 1, <= N).
        config: prior and optimisation settings.
        bias: optional [N, K] per-point prior over classes (rows sum to one).
        init_resp: optional [N, K] responsibilities to warm-start from (tried
            in addition to ``config.n_restarts`` k-means++ restarts).
        seed: seeds the restarts.

    Returns:
        (posterior, responsibilities [N, K]).
    """
    x = _check_x(x)
    n = x.shape[0]
    check_int("K", k, 1)
    if k > n:
        raise ValueError(f"K = {k} exceeds the number of points N = {n}")
    bias = check_bias(bias, n, k)
    log_bias = None if bias is None else np.log(np.clip(bias, 1e-300, None))
    if init_resp is None and int(config.n_restarts) == 0:
        raise ValueError("n_restarts = 0 needs init_resp (a warm start)")
    if init_resp is not None:
        init_resp = check_bias(init_resp, n, k, name="init_resp")
    rng = np.random.default_rng(seed)
    # One BLAS thread per call: on two cores a second one made the batched
    # sweeps of 30 starts on 3,000 latents no faster (and the smaller,
    # warm-started refits of later rounds slower); the starts are instead
    # split between the cores (_iterate_threads).
    with threadpool_limits(limits=1, user_api="blas"):
        starts = [] if init_resp is None else [init_resp]
        starts += [kmeanspp_responsibilities(x, k, rng) for _ in range(int(config.n_restarts))]
        # The covariance scale of the prior comes from a k-means partition drawn
        # with its own generator, so it does not depend on the restarts tried.
        scale_resp = kmeanspp_responsibilities(x, k, np.random.default_rng(
            None if seed is None else seed + 7919))
        prior = _prior(x, config, scale_resp)
        xx = _outer(x)
        # Screen every start with a few sweeps (all starts side by side), then
        # run the most promising ones on to convergence.
        post = _m_step(x, xx, np.stack(starts), *prior, config.reg)
        post, r, elbo, converged = _iterate_threads(x, xx, post, prior, config, log_bias,
                                                    min(config.screen_iter, config.max_iter))
        keep = np.argsort(-elbo, kind="stable")[:max(int(config.n_keep), 1)]
        post, r, elbo, converged = (tuple(p[keep] for p in post), r[keep], elbo[keep],
                                    converged[keep])
        more = ~converged if config.max_iter > config.screen_iter else np.zeros_like(converged)
        if more.any():
            idx = np.flatnonzero(more)
            p2, r2, e2, _ = _iterate_threads(x, xx, tuple(p[idx] for p in post), prior,
                                             config, log_bias,
                                             config.max_iter - config.screen_iter)
            for p, q in zip(post, p2):
                p[idx] = q
            r[idx], elbo[idx] = r2, e2
    best = int(np.argmax(elbo))
    post, r, elbo = tuple(p[best] for p in post), r[best], float(elbo[best])
    m0, beta0, W0inv, nu0, alpha0 = prior
    posterior = VBGMMPosterior(*post, m0=m0, beta0=beta0, W0inv=W0inv, nu0=nu0,
                               alpha0=alpha0, elbo=elbo)
    return posterior, r


def responsibilities(x, posterior: VBGMMPosterior, bias=None) -> np.ndarray:
    """q(c_n = k) [N, K] for (new) points under a fitted posterior."""
    x = _check_x(x)
    if x.shape[1] != posterior.d:
        raise ValueError(f"x has {x.shape[1]} dimensions, the model {posterior.d}")
    bias = check_bias(bias, x.shape[0], posterior.k)
    log_bias = None if bias is None else np.log(np.clip(bias, 1e-300, None))
    post = tuple(p[None] for p in (posterior.alpha, posterior.beta, posterior.m, posterior.W,
                                   posterior.nu))
    r, _, _, _ = _e_step(x, _outer(x), post, log_bias)
    return r[0]
