"""The variational net q(h | x): a Gaussian encoder (784-500-500-2D, ReLU).

z needs no variational net: its posterior given h, p(z | h), is exact and is
summed out inside the lower bound (see :mod:`gmvae.model`).
"""
import tensorflow as tf

from common import zs

__all__ = ["build_q_net"]


def build_q_net(config, x, n_particles=None):
    """q(h | x) as a BayesianNet.

    Nodes and shapes (S = n_particles, omitted when None):
        h_mean, h_logstd: [n, D] (deterministic)
        h:                [S, n, D], reparameterised

    :param x: ``[n, 784]`` float images (binarised for training).
    """
    bn = zs.BayesianNet()
    d = config.latent_dim
    h = tf.convert_to_tensor(x, tf.float32)
    for i, units in enumerate(config.enc_hidden):
        h = zs.layers.dense(h, units, activation=tf.nn.relu, name=f"enc{i + 1}")
    # Mean and log-std come from one [hidden, 2D] layer: one GEMM instead of two.
    params = zs.layers.dense(h, 2 * d, name="h_params")
    h_mean = bn.deterministic("h_mean", params[:, :d])
    h_logstd = bn.deterministic("h_logstd", params[:, d:])
    bn.normal("h", h_mean, logstd=h_logstd, group_ndims=1, n_samples=n_particles)
    return bn
