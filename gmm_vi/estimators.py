"""The three gradient estimators of the ELBO, as surrogate costs.

Each function returns a scalar cost whose gradient is the estimator (summed
over restarts, so each restart gets the gradient of its own mean per-point
cost; restarts share no parameters):

* :func:`nvil_cost` — ``zs.nvil`` (ZhuSuan 0.3 name): score function for q with
  the input-dependent baseline b(x), centering by a moving mean and variance
  normalisation; the model parameters get the gradient of log p(x, z).
  One ``zs.NVILState`` of shape [R] (a moving mean and variance per restart,
  because each describes one restart's learning signal), so all restarts
  share one graph.
* :func:`reinforce_cost` — ``zs.elbo(...).reinforce(variance_reduction=False)``:
  the plain score function, for comparison.
* :func:`exact_cost` — the ELBO with z summed out (K terms per point): the
  exact gradient, the reference.

:func:`exact_elbo` (per point, [R, N]) is also what convergence and restart
selection use: with K small, the exact ELBO is cheap and noiseless.
"""
from __future__ import annotations

import tensorflow as tf

from common import zs

__all__ = ["exact_elbo", "nvil_cost", "reinforce_cost", "exact_cost", "surrogate_cost"]


def exact_elbo(build_gen, q_logits, x):
    """E_q[log p(x, z) - log q(z|x)] summed exactly over the K values of z.

    :param q_logits: [R, N, K].
    :param x: [N, D].
    :return: [R, N] per-point ELBO of every restart.
    """
    n_restarts, n, k = q_logits.shape
    # Every value of z at once, on the particle axis: [K, R, N, K].
    z_all = tf.broadcast_to(tf.eye(k)[:, None, None, :], [k, n_restarts, n, k])
    log_pxz = build_gen(n).observe(x=x, z=z_all).log_joint()          # [K, R, N]
    log_q = tf.transpose(tf.nn.log_softmax(q_logits), [2, 0, 1])      # [K, R, N]
    return tf.reduce_sum(tf.exp(log_q) * (log_pxz - log_q), axis=0)


def _sample_q(build_q, f, n_particles):
    q_bn = build_q(f, n_particles=n_particles).observe()
    return q_bn.outputs("z"), q_bn.cond_log_prob("z")               # [S,R,N,K], [S,R,N]


def _restarts_last(t):
    """[S, R, N] -> [S, N, R] (and [R, N] -> [N, R]): the layout in which a
    ``zs.NVILState`` of shape [R] keeps one moving average per restart."""
    return tf.transpose(t, [0, 2, 1] if t.shape.rank == 3 else [1, 0])


def nvil_cost(build_gen, build_q, baseline_net, f, x, state, n_particles, decay=0.8,
              variance_normalization=True):
    """NVIL surrogate cost (model + q + baseline), and the ELBO estimate [R, N].

    :param state: a ``zs.NVILState`` of shape [R]: one moving mean and
        variance per restart, since each describes one restart's signal.
    """
    n = x.shape[0]
    z, log_qz = _sample_q(build_q, f, n_particles)
    b_x = baseline_net(f)                                             # [R, N]

    def log_joint(values):
        # ZhuSuan 0.3 style: log p(x, z) from the value dict, [S, N, R].
        return _restarts_last(build_gen(n).observe(**values).log_joint())

    cost, lb = zs.nvil(log_joint, {"x": x}, {"z": (z, _restarts_last(log_qz))},
                       baseline=_restarts_last(b_x), decay=decay,
                       variance_normalization=variance_normalization,
                       axis=0, state=state)                           # [N, R]
    return tf.reduce_sum(tf.reduce_mean(cost, axis=0)), _restarts_last(lb)


def reinforce_cost(build_gen, build_q, f, x, n_particles):
    """Plain REINFORCE surrogate cost (no baseline, no centering), and the
    ELBO estimate [R, N]."""
    q_bn = build_q(f, n_particles=n_particles).observe()
    lower_bound = zs.elbo(build_gen(x.shape[0]), {"x": x}, variational=q_bn, axis=0)
    cost = lower_bound.reinforce(variance_reduction=False)            # [R, N]
    return tf.reduce_sum(tf.reduce_mean(cost, axis=-1)), lower_bound.tensor


def exact_cost(build_gen, build_q, f, x):
    """Negative exact ELBO (summed over restarts of the per-point mean), and
    the exact ELBO [R, N]."""
    lb = exact_elbo(build_gen, build_q.logits(f), x)
    return -tf.reduce_sum(tf.reduce_mean(lb, axis=-1)), lb


def surrogate_cost(estimator, build_gen, build_q, baseline_net, f, x, state, n_particles,
                   decay=0.8, variance_normalization=True):
    """Dispatch on ``estimator`` (``"nvil"``, ``"reinforce"`` or ``"exact"``)."""
    if estimator == "nvil":
        return nvil_cost(build_gen, build_q, baseline_net, f, x, state, n_particles,
                         decay, variance_normalization)
    if estimator == "reinforce":
        return reinforce_cost(build_gen, build_q, f, x, n_particles)
    if estimator == "exact":
        return exact_cost(build_gen, build_q, f, x)
    raise ValueError(f"estimator must be 'nvil', 'reinforce' or 'exact', got {estimator!r}")
