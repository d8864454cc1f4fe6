"""The prior's own maximisation step given q: EM on draws of q(h | x).

In the bound (z summed out, see :mod:`gmvae.model`) the mixture parameters
(pi, mu, sigma) appear only in

    E_q(h|x)[ log sum_z pi_z N(h; mu_z, diag sigma_z^2) ],

averaged over the training images: the log-likelihood of a diagonal Gaussian
mixture on data distributed as the aggregate posterior q(h) = mean_x q(h|x).
For fixed encoder and decoder, its maximiser is a Gaussian-mixture fit to
draws of q(h), and EM on those draws raises that term (hence the bound) at
every iteration.  The gradient steps reach the same optimum only slowly, and
where strong regularisers on p(z | h) also pull at (pi, mu, sigma), not at
all: the components then sit beside the codes they claim (measured on
``pretrain_aug``: means 2-5 units off their clusters' centres), which is why
their samples can show other digits than the images they hold.

:func:`prior_m_step` draws ``n_draws`` h ~ q(h | x) per training image
(fixed-binarised, seeded), runs ``iterations`` EM iterations from the current
parameters, assigns the result to the model and returns the mean log p(h) on
the draws before and after (EM guarantees after >= before).
"""
from __future__ import annotations

import numpy as np
from scipy.special import logsumexp

from common.data import binarize_fixed

__all__ = ["draw_codes", "mixture_em", "prior_m_step"]

#: Variance floor of the refitted components (the sklearn GMM's reg_covar).
VARIANCE_FLOOR = 1e-4


def draw_codes(model, x, n_draws=4, seed=0, batch_size=1000) -> np.ndarray:
    """h ~ q(h | x): ``[N, 784]`` binarised images -> ``[N * n_draws, D]`` draws."""
    import tensorflow as tf

    rng = np.random.default_rng(seed)
    out = []
    for a in range(0, len(x), batch_size):
        q = model.variational(tf.constant(np.asarray(x[a:a + batch_size], np.float32)))
        mean = q["h_mean"].numpy().astype(np.float64)
        std = np.exp(q["h_logstd"].numpy().astype(np.float64))
        eps = rng.standard_normal((n_draws,) + mean.shape)
        out.append((mean + std * eps).reshape(-1, mean.shape[1]))
    return np.concatenate(out)


def _log_weighted_densities(h, log_pi, mu, var):
    """log pi_k + log N(h; mu_k, diag var_k): ``[M, D]`` -> ``[M, K]``."""
    prec = 1.0 / var                                                  # [K, D]
    quad = (h ** 2) @ prec.T - 2.0 * h @ (mu * prec).T + np.sum(mu ** 2 * prec, 1)
    log_det = np.sum(np.log(var), 1)
    return log_pi - 0.5 * (quad + log_det + h.shape[1] * np.log(2 * np.pi))


def mixture_em(h, pi, mu, var, iterations=10):
    """EM for a diagonal Gaussian mixture on ``h`` ``[M, D]`` from (pi ``[K]``,
    mu ``[K, D]``, var ``[K, D]``).

    :return: (pi, mu, var, mean log-likelihood before, mean log-likelihood
        after) — the last evaluated at the returned parameters.
    """
    h = np.asarray(h, np.float64)
    pi, mu, var = (np.asarray(a, np.float64) for a in (pi, mu, var))
    log_p = _log_weighted_densities(h, np.log(pi), mu, var)
    before = float(logsumexp(log_p, 1).mean())
    for _ in range(iterations):
        r = np.exp(log_p - logsumexp(log_p, 1, keepdims=True))        # [M, K]
        nk = r.sum(0) + 1e-10
        mu = (r.T @ h) / nk[:, None]
        var = np.maximum((r.T @ h ** 2) / nk[:, None] - mu ** 2, VARIANCE_FLOOR)
        pi = nk / nk.sum()
        log_p = _log_weighted_densities(h, np.log(pi), mu, var)
    after = float(logsumexp(log_p, 1).mean())
    return pi, mu, var, before, after


def prior_m_step(model, x_train, n_draws=4, iterations=10, seed=0) -> dict:
    """Refit the model's (pi, mu, sigma^2) to draws of q(h | x) by EM.

    :param x_train: ``[N, 784]`` images in [0, 1] (binarised here with ``seed``).
    :return: dict with ``log_prior_before`` / ``log_prior_after`` (mean log p(h)
        over the draws, nats per image) and ``n_draws``.
    """
    import tensorflow as tf

    x_bin = binarize_fixed(np.asarray(x_train), seed=seed)
    h = draw_codes(model, x_bin, n_draws=n_draws, seed=seed)
    pi_logits, h_means, h_logstds = model.prior_params()
    pi = tf.nn.softmax(pi_logits).numpy()
    pi, mu, var, before, after = mixture_em(h, pi, h_means.numpy(),
                                            np.exp(2.0 * h_logstds.numpy()), iterations)
    model.set_prior(pi, mu, var)
    return {"log_prior_before": before, "log_prior_after": after,
            "n_draws": int(len(h))}
