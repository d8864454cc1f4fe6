"""The Serket VAE's networks and objective, written ZhuSuan-style.

Generative net p(z | mu) p(o | z), with mu the per-point class mean sent by
the GMM (zero before any message):

    z ~ N(mu, I)                       [n_particles, batch, z_dim]
    o ~ Bernoulli(f_theta(z))          (pixels in [0, 1], Serket's choice)
      or N(f_theta(z), sigma_o^2)      (other real data)

Variational net q(z | o) = N(g_phi(o), diag s_phi(o)^2).

Serket's bound  E_q[log p(o|z)] - alpha KL(q(z|o) || N(mu, I))  equals
alpha * ELBO of a model whose likelihood is tempered to p(o|z)^(1/alpha); the
objective is therefore ``zs.elbo`` on the generative net with its log joint
overridden to  log p(o|z) / alpha + log p(z|mu),  scaled by alpha.

Variables live in two ``zs.VariableStore`` s owned by :class:`VAENets`
(one pair per VAE module, so two VAE modules never share weights).
"""
from __future__ import annotations

from dataclasses import dataclass

import tensorflow as tf

from common import zs
from common.validation import check_int

__all__ = ["VAENetConfig", "VAENets", "generative_net", "variational_net",
           "serket_bound", "make_train_epoch", "make_encode"]

OBS_DISTS = ("bernoulli", "gaussian")


@dataclass(frozen=True)
class VAENetConfig:
    """Architecture of the Serket VAE (Serket's defaults unless noted).

    Attributes:
        x_dim: observation dimension M.
        z_dim: latent dimension (the tutorial: 18).
        hidden_encoder_dim / hidden_decoder_dim: width of the single ReLU
            hidden layer of each net (Serket: 100).
        weight_stddev: std of the truncated-normal initial weights (Serket: 0.1).
        obs_dist: "bernoulli" (data in [0, 1]) or "gaussian".
        obs_logstd: log std of the Gaussian likelihood (used when gaussian).
    """
    x_dim: int
    z_dim: int = 18
    hidden_encoder_dim: int = 100
    hidden_decoder_dim: int = 100
    weight_stddev: float = 0.1
    obs_dist: str = "bernoulli"
    obs_logstd: float = 0.0

    def __post_init__(self):
        for name in ("x_dim", "z_dim", "hidden_encoder_dim", "hidden_decoder_dim"):
            check_int(name, getattr(self, name), 1)
        if not self.weight_stddev > 0:
            raise ValueError(f"weight_stddev must be > 0, got {self.weight_stddev!r}")
        if self.obs_dist not in OBS_DISTS:
            raise ValueError(f"obs_dist must be one of {OBS_DISTS}, got {self.obs_dist!r}")


class VAENets:
    """The two variable stores (generative "gen", variational "q") of one VAE."""

    def __init__(self, config: VAENetConfig):
        self.config = config
        self.gen_store = zs.VariableStore("gen")
        self.q_store = zs.VariableStore("q")
        # Build once eagerly so every variable exists before tf.function traces.
        o = tf.zeros([1, config.x_dim])
        variational_net(self, o, n_particles=1).observe()
        generative_net(self, tf.zeros([1, config.z_dim]), n_particles=1).observe(o=o)

    @property
    def trainable_variables(self):
        return tuple(self.q_store.trainable_variables) + tuple(self.gen_store.trainable_variables)

    def checkpoint(self, **extra) -> tf.train.Checkpoint:
        return tf.train.Checkpoint(gen=self.gen_store, q=self.q_store, **extra)


def _init(config: VAENetConfig):
    return tf.keras.initializers.TruncatedNormal(stddev=config.weight_stddev)


# ----------------------------------------------------------------------------- model
def _build_gen(config: VAENetConfig, prior_mean, n_particles):
    bn = zs.BayesianNet()
    # z ~ N(mu, I): the GMM's class mean for this point is the prior mean.
    z = bn.normal("z", prior_mean, std=1., group_ndims=1, n_samples=n_particles)
    h = zs.layers.dense(z, config.hidden_decoder_dim, activation=tf.nn.relu,
                        name="h", kernel_initializer=_init(config))
    o_out = zs.layers.dense(h, config.x_dim, name="o", kernel_initializer=_init(config))
    if config.obs_dist == "bernoulli":
        # Gray levels as Bernoulli "probabilities": log p = o*l - softplus(l),
        # i.e. Serket's sigmoid cross-entropy.
        bn.bernoulli("o", o_out, group_ndims=1)
        bn.deterministic("o_mean", tf.sigmoid(o_out))
    else:
        bn.normal("o", o_out, logstd=config.obs_logstd, group_ndims=1)
        bn.deterministic("o_mean", o_out)
    return bn


def generative_net(nets: VAENets, prior_mean, n_particles=1) -> zs.MetaBayesianNet:
    """p(z | mu) p(o | z).  prior_mean: [batch, z_dim]; samples [n_particles, batch, .]."""
    return zs.MetaBayesianNet(_build_gen, (nets.config, prior_mean, n_particles),
                              scope="gen", store=nets.gen_store)


def _build_q(config: VAENetConfig, o, n_particles):
    bn = zs.BayesianNet()
    h = zs.layers.dense(o, config.hidden_encoder_dim, activation=tf.nn.relu,
                        name="h", kernel_initializer=_init(config))
    z_mean = zs.layers.dense(h, config.z_dim, name="z_mean", kernel_initializer=_init(config))
    z_logstd = zs.layers.dense(h, config.z_dim, name="z_logstd",
                               kernel_initializer=_init(config))
    bn.deterministic("z_mean", z_mean)
    bn.normal("z", z_mean, logstd=z_logstd, group_ndims=1, n_samples=n_particles)
    return bn


def variational_net(nets: VAENets, o, n_particles=1) -> zs.MetaBayesianNet:
    """q(z | o).  o: [batch, x_dim]; z: [n_particles, batch, z_dim]."""
    return zs.MetaBayesianNet(_build_q, (nets.config, o, n_particles),
                              scope="q", store=nets.q_store)


# ----------------------------------------------------------------------------- objective
def serket_bound(nets: VAENets, o, prior_mean, alpha: float = 1.0, n_particles: int = 1):
    """Per-point E_q[log p(o|z)] - alpha KL(q(z|o) || N(mu, I)), shape [batch].

    o: [batch, x_dim]; prior_mean: [batch, z_dim].
    """
    model = generative_net(nets, prior_mean, n_particles)
    # Temper the likelihood by 1/alpha so that alpha * ELBO is Serket's bound.
    model.log_joint = lambda bn: (bn.cond_log_prob("o") / alpha + bn.cond_log_prob("z"))
    q_bn = variational_net(nets, o, n_particles).observe()
    lower_bound = zs.elbo(model, {"o": o}, variational=q_bn, axis=0)
    return alpha * tf.convert_to_tensor(lower_bound)


# ----------------------------------------------------------------------------- learning
def make_train_epoch(nets: VAENets, optimizer, batch_size: int, alpha: float,
                     jit_compile: bool = False):
    """A tf.function running one pass over shuffled minibatches.

    ``epoch(o [N, x_dim], prior_mean [N, z_dim], perm [N] int32)`` applies one
    Adam step per minibatch of ``batch_size`` rows (the last, smaller batch
    included, as Serket does) and returns the mean loss (-bound per point).
    ``jit_compile`` compiles each step with XLA.
    """
    variables = nets.trainable_variables

    @tf.function(jit_compile=jit_compile, reduce_retracing=True)
    def step(o, mu):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(serket_bound(nets, o, mu, alpha))
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    @tf.function(reduce_retracing=True)
    def epoch(o, prior_mean, perm):
        n = tf.shape(perm)[0]
        n_batches = (n + batch_size - 1) // batch_size
        total = tf.constant(0.0)
        for b in tf.range(n_batches):
            idx = perm[b * batch_size: tf.minimum((b + 1) * batch_size, n)]
            loss = step(tf.gather(o, idx), tf.gather(prior_mean, idx))
            total += loss * tf.cast(tf.shape(idx)[0], tf.float32)
        return total / tf.cast(n, tf.float32)

    return epoch


def make_encode(nets: VAENets):
    """tf.function ``encode(o) -> (z_mean, z_sample, o_mean)``, all [N, .]:
    the posterior mean, one posterior sample, and the reconstruction (decoder
    mean at the posterior mean)."""

    @tf.function(reduce_retracing=True)
    def encode(o):
        q_bn = variational_net(nets, o, n_particles=1).observe()
        z_mean = q_bn.outputs("z_mean")
        z_sample = q_bn.outputs("z")[0]
        gen = generative_net(nets, tf.zeros_like(z_mean), n_particles=1)
        o_mean = gen.observe(z=z_mean[None], o=o).outputs("o_mean")[0]
        return z_mean, z_sample, o_mean

    return encode
