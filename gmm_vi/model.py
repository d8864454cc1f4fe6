"""The generative model: a Gaussian mixture with diagonal covariances.

    z ~ OnehotCategorical(pi),        pi = softmax(pi_logits)
    x | z ~ N(mu_z, diag(sigma_z^2)), sigma = exp(log_sigma)

written ZhuSuan style, node by node.  Parameters carry a leading restart axis
``R`` so that several random restarts train side by side in one graph
(Adam is elementwise, so restarts never interact).  ``restart=r`` builds the
net of one restart only (the parameters' slice ``r``).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from common import zs
from common.data import GMMParams

__all__ = ["GMMInit", "make_generative_net", "model_params", "sample_from_model"]


@dataclass(frozen=True)
class GMMInit:
    """Initial values of the model parameters, one row per restart.

    pi_logits [R, K], mu [R, K, D], log_sigma [R, K, D] (float32 arrays).
    """

    pi_logits: np.ndarray
    mu: np.ndarray
    log_sigma: np.ndarray

    @property
    def n_restarts(self) -> int:
        return int(self.mu.shape[0])


def _const(value):
    """An initializer returning a fixed array (ignores the requested shape,
    which :meth:`VariableStore.get` has already checked)."""
    value = np.asarray(value, dtype=np.float32)
    return lambda shape, dtype=tf.float32: tf.constant(value, dtype=dtype)


def _select(z, table):
    """z @ table per restart: sum_k z[..., n, k] * table[..., k, d] -> [..., N, D].

    z [S, R, N, K] or [R, N, K] with table [R, K, D]; or z [..., N, K] with
    table [K, D] (one restart).  An einsum whose batch axis R appears on both
    sides, so it never broadcasts a batch axis: TF 2.21's BatchMatMulV2
    returns garbage (and can corrupt memory) when it broadcasts a batch axis
    of size 1, which is what a plain ``z @ table`` would ask of it.
    """
    z = tf.convert_to_tensor(z)
    table = tf.convert_to_tensor(table)
    if table.shape.rank == 2:
        return tf.einsum("...k,kd->...d", z, table)
    return tf.einsum("srnk,rkd->srnd" if z.shape.rank == 4 else "rnk,rkd->rnd", z, table)


def make_generative_net(init: GMMInit):
    """Return ``build_gen``, a ``zs.meta_bayesian_net`` builder of the mixture.

    A factory (rather than a module-level decorated function) so that every
    fit owns a fresh variable store.  Calling
    ``build_gen(n, n_particles=None, restart=None)`` gives a MetaBayesianNet;
    ``build_gen.store.trainable_variables`` holds pi_logits [R, K],
    mu [R, K, D], log_sigma [R, K, D] once it has been built.

    Node shapes (S = n_particles, R = restarts, N = n, K components, D dims):
        z: [S, R, N, K] one-hot (``restart=r``: [S, N, K]); the S axis is
           absent when ``n_particles`` is None.
        x: [..., N, D], ``group_ndims=1`` so log p(x|z) is per point.
    """

    @zs.meta_bayesian_net(scope="gmm_gen", reuse_variables=True)
    def build_gen(n, n_particles=None, restart=None):
        bn = zs.BayesianNet()
        pi_logits = zs.get_variable("pi_logits", init.pi_logits.shape, _const(init.pi_logits))
        mu = zs.get_variable("mu", init.mu.shape, _const(init.mu))
        log_sigma = zs.get_variable("log_sigma", init.log_sigma.shape,
                                    _const(init.log_sigma))
        if restart is not None:
            pi_logits, mu, log_sigma = pi_logits[restart], mu[restart], log_sigma[restart]
        # z: one categorical per point; the prior logits broadcast over points.
        z_logits = tf.broadcast_to(pi_logits[..., None, :],
                                   tf.concat([tf.shape(pi_logits)[:-1], [n],
                                              tf.shape(pi_logits)[-1:]], 0))
        z = bn.onehot_categorical("z", z_logits, n_samples=n_particles, dtype=tf.float32)
        # x | z: the one-hot z selects its component's mean and log-std.
        x_mean = _select(z, mu)
        x_logstd = _select(z, log_sigma)
        bn.normal("x", x_mean, logstd=x_logstd, group_ndims=1)
        return bn

    return build_gen


def model_params(build_gen, restart: int) -> GMMParams:
    """The learned parameters of one restart as a :class:`GMMParams` (float64)."""
    v = build_gen.store.variables_by_name
    logits = v["pi_logits"].numpy()[restart].astype(np.float64)
    pi = np.exp(logits - logits.max())
    pi /= pi.sum()
    mu = v["mu"].numpy()[restart].astype(np.float64)
    sigma2 = np.exp(2.0 * v["log_sigma"].numpy()[restart].astype(np.float64))
    return GMMParams(pi=pi, mu=mu, sigma2=sigma2)


def sample_from_model(params: GMMParams, n: int, seed: int = 0):
    """Sample ``(x [n, D] float64, z [n] int64)`` by running the generative
    net forward (nothing observed) with ``params`` as its only restart.

    This is the same BayesianNet that learning uses, so sampling checks the
    model as declared.
    """
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    init = GMMInit(pi_logits=np.log(params.pi)[None].astype(np.float32),
                   mu=params.mu[None].astype(np.float32),
                   log_sigma=(0.5 * np.log(params.sigma2))[None].astype(np.float32))
    tf.random.set_seed(seed)
    bn = make_generative_net(init)(int(n), restart=0).observe()
    x = bn.outputs("x").numpy().astype(np.float64)
    z = np.argmax(bn.outputs("z").numpy(), axis=-1).astype(np.int64)
    return x, z
