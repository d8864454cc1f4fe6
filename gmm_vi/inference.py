"""The variational posterior q(z | x) and NVIL's baseline network.

Two posteriors (``GMMVIConfig.posterior``):

* ``"amortized"`` (the default): q(z|x) = OnehotCategorical(g_phi(x)) with a
  small network g.  Default because it is the assignment's model, its size
  does not grow with N, it gives q for new points, and one network shares
  what it learns across points, so the score-function gradient of every point
  improves every other point's posterior.  g reads the quadratic features
  [x~, x~^2] of the standardised input x~ and has two parts:

      logits = W_lin [x~, x~^2] + b  +  W_out tanh(W_h [x~, x~^2] + b_h)

  The linear part can represent the *exact* posterior of any diagonal GMM
  (its logits are quadratic in x), so there is no amortisation gap: the ELBO
  is tight at its optimum and its maximiser in (pi, mu, sigma) is the
  maximum-likelihood estimate, the same one EM finds.  The tanh part (16 units
  by default) is the "small net" that adds flexibility.
* ``"free"``: a free logit vector per data point ([R, N, K] variables); also
  exact in principle, but N*K parameters each learned from one point's noisy
  score function, and no posterior for new points.

Both are initialised at the exact posterior of the initial model parameters
(``W_h``'s readout at zero), like an E-step before the first M-step: the first
updates of mu then pull each mean towards its own points rather than towards
the data mean, which is what merged two components in the plain ZhuSuan run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from common import zs

from .model import GMMInit

__all__ = ["FeatureMap", "features", "exact_posterior_logits", "posterior_readout",
           "make_variational_net", "BaselineNet"]


@dataclass(frozen=True)
class FeatureMap:
    """Standardisation of the inputs: x~ = (x - mean) / std (per dimension)."""

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def from_data(cls, x: np.ndarray) -> "FeatureMap":
        std = x.std(axis=0)
        return cls(mean=x.mean(axis=0), std=np.where(std > 0, std, 1.0))


def features(x, fmap: FeatureMap):
    """[x~, x~^2] of the standardised input: [N, D] -> [N, 2D] float32."""
    xs = (tf.cast(x, tf.float32) - fmap.mean.astype(np.float32)) / fmap.std.astype(np.float32)
    return tf.concat([xs, tf.square(xs)], axis=-1)


def exact_posterior_logits(x: np.ndarray, pi_logits, mu, log_sigma) -> np.ndarray:
    """Logits of the exact posterior p(z|x) under each restart's parameters.

    x [N, D]; pi_logits [R, K]; mu, log_sigma [R, K, D]  ->  [R, N, K].
    """
    var = np.exp(2.0 * log_sigma)                                     # [R, K, D]
    diff2 = (x[None, :, None, :] - mu[:, None]) ** 2                   # [R, N, K, D]
    log_px = -np.sum(log_sigma[:, None] + 0.5 * diff2 / var[:, None], axis=-1)
    log_pi = pi_logits - np.log(np.sum(np.exp(pi_logits), axis=-1, keepdims=True))
    return (log_pi[:, None, :] + log_px).astype(np.float32)


def posterior_readout(init: GMMInit, fmap: FeatureMap):
    """Weights of the linear part of g so that its logits equal the exact
    posterior logits under ``init`` (up to a per-point constant).

    With x = m + s x~, -(x_d - mu_kd)^2 / (2 var_kd) expands into
    x~_d^2 * (-s_d^2 / (2 var_kd)) + x~_d * (-s_d (m_d - mu_kd) / var_kd) + const.

    Returns kernel [R, 2D, K] and bias [R, 1, K] (float32).
    """
    m, s = fmap.mean, fmap.std
    var = np.exp(2.0 * init.log_sigma.astype(np.float64))            # [R, K, D]
    mu = init.mu.astype(np.float64)
    lin = -s[None, None, :] * (m[None, None, :] - mu) / var           # [R, K, D]
    quad = -0.5 * s[None, None, :] ** 2 / var                         # [R, K, D]
    kernel = np.concatenate([lin, quad], axis=-1).transpose(0, 2, 1)  # [R, 2D, K]
    logits = init.pi_logits.astype(np.float64)
    log_pi = logits - np.log(np.sum(np.exp(logits), axis=-1, keepdims=True))
    bias = log_pi - np.sum(init.log_sigma + 0.5 * (m[None, None, :] - mu) ** 2 / var, -1)
    return kernel.astype(np.float32), bias[:, None, :].astype(np.float32)


def _glorot(rng: np.random.Generator, shape) -> np.ndarray:
    """Glorot-uniform per restart: fan-in/out are the last two axes."""
    limit = np.sqrt(6.0 / (shape[-2] + shape[-1]))
    return rng.uniform(-limit, limit, size=shape).astype(np.float32)


def _const(value):
    value = np.asarray(value, dtype=np.float32)
    return lambda shape, dtype=tf.float32: tf.constant(value, dtype=dtype)


def _restart_dense(inputs, kernel_init, bias_init=None, name="dense"):
    """A dense layer with one weight matrix per restart.

    inputs [N, F] (shared by the restarts) or [R, N, F] -> [R, N, U];
    kernel [R, F, U], bias [R, 1, U].
    """
    kernel = zs.get_variable(f"{name}/kernel", kernel_init.shape, _const(kernel_init))
    # einsum without broadcasting batch axes (see gmm_vi.model._select).
    out = tf.einsum("nf,rfu->rnu" if inputs.shape.rank == 2 else "rnf,rfu->rnu",
                    inputs, kernel)
    if bias_init is not None:
        out = out + zs.get_variable(f"{name}/bias", bias_init.shape, _const(bias_init))
    return out


def make_variational_net(kind: str, init: GMMInit, fmap: FeatureMap, x_init: np.ndarray,
                         hidden_units: int = 16, seed: int = 0):
    """Return ``build_q``, a ``zs.meta_bayesian_net`` builder of q(z | x).

    ``build_q(f, n_particles=None)`` takes the features ``f = features(x)``
    [N, 2D] and gives a MetaBayesianNet with one node
    ``z``: [S, R, N, K] one-hot (no S axis when ``n_particles`` is None).
    ``build_q.logits(f)`` returns the logits [R, N, K] (used by the exact
    estimator and for evaluation).

    :param kind: ``"amortized"`` or ``"free"`` (see the module docstring).
    :param x_init: the training data [N, D] (free logits are initialised at
        its exact posterior).
    """
    rng = np.random.default_rng([seed, 1])
    r, k = init.n_restarts, init.mu.shape[1]
    if kind == "amortized":
        n_feat = 2 * init.mu.shape[2]
        lin_kernel, lin_bias = posterior_readout(init, fmap)
        hid_kernel = _glorot(rng, (r, n_feat, hidden_units))
        hid_bias = np.zeros((r, 1, hidden_units), np.float32)
        out_kernel = np.zeros((r, hidden_units, k), np.float32)
    elif kind == "free":
        free_init = exact_posterior_logits(x_init, init.pi_logits, init.mu, init.log_sigma)
    else:
        raise ValueError(f"posterior must be 'amortized' or 'free', got {kind!r}")

    def q_logits(f):
        if kind == "amortized":
            h = tf.tanh(_restart_dense(f, hid_kernel, hid_bias, name="hidden"))
            return (_restart_dense(f, lin_kernel, lin_bias, name="linear")
                    + _restart_dense(h, out_kernel, name="hidden_out"))
        return zs.get_variable("free_logits", free_init.shape, _const(free_init))

    @zs.meta_bayesian_net(scope="gmm_q", reuse_variables=True)
    def build_q(f, n_particles=None):
        bn = zs.BayesianNet()
        bn.onehot_categorical("z", q_logits(f), n_samples=n_particles, dtype=tf.float32)
        return bn

    def logits(f):
        """q's logits [R, N, K] for features f [N, 2D]."""
        # z is sampled lazily, so reading its distribution draws nothing.
        return build_q(f).observe().get("z").distribution.logits

    build_q.logits = logits
    return build_q


class BaselineNet(tf.Module):
    """NVIL's input-dependent baseline b(x): one small tanh net per restart.

    b(x) estimates the learning signal log p(x, z) - log q(z | x) from x alone
    (Mnih & Gregor, 2014), so subtracting it removes the part of the signal
    that varies between points, not between samples of z.

    Like q's net it has a linear path from the quadratic features besides
    the tanh layer: when q is close to the posterior the signal is close to
    log p(x), a smooth function dominated by its quadratic part.

    ``__call__(f)``: features [N, 2D] -> [R, N].
    """

    def __init__(self, n_restarts: int, n_features: int, hidden_units: int = 16, seed: int = 0):
        super().__init__(name="baseline")
        rng = np.random.default_rng([seed, 2])
        self.w1 = tf.Variable(_glorot(rng, (n_restarts, n_features, hidden_units)), name="w1")
        self.b1 = tf.Variable(np.zeros((n_restarts, 1, hidden_units), np.float32), name="b1")
        self.w2 = tf.Variable(_glorot(rng, (n_restarts, hidden_units, 1)), name="w2")
        self.w_lin = tf.Variable(np.zeros((n_restarts, n_features, 1), np.float32), name="w_lin")
        self.b2 = tf.Variable(np.zeros((n_restarts, 1, 1), np.float32), name="b2")

    def __call__(self, f):
        h = tf.tanh(tf.einsum("nf,rfu->rnu", f, self.w1) + self.b1)
        out = (tf.einsum("rnu,ruv->rnv", h, self.w2) + tf.einsum("nf,rfv->rnv", f, self.w_lin)
               + self.b2)
        return tf.squeeze(out, -1)
