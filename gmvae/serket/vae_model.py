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
           "serket_bound", "make_train_update", "make_encode"]

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

    def reinitialize(self, generator: tf.random.Generator) -> None:
        """Fresh weights in place (kernels truncated normal, biases zero),
        drawn from ``generator``; the traced functions stay valid."""
        std = self.config.weight_stddev
        for v in self.trainable_variables:
            if v.name.split(":")[0].endswith("kernel"):
                # tf.random.Generator.truncated_normal: cut at 2 std, like the initializer.
                v.assign(generator.truncated_normal(v.shape, stddev=std, dtype=v.dtype))
            else:
                v.assign(tf.zeros_like(v))

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
def make_train_update(nets: VAENets, optimizer, n: int, batch_size: int, alpha: float,
                      jit_compile: bool = False):
    """A tf.function running a whole update: every pass over the data in one call.

    ``update(o [n, x_dim], prior_mean [n, z_dim], perms [itr, n] int32)`` runs
    ``itr`` passes; pass ``e`` visits the rows in the order ``perms[e]`` in
    minibatches of ``batch_size`` (the last, smaller batch included, as Serket
    does), one Adam step each, and the call returns the mean loss of every
    pass, [itr] (-bound per point).  No Python round trip per pass; traced without
    AutoGraph (the loop over passes is an explicit ``tf.while_loop``, the
    minibatches of a pass are unrolled: ``n`` is fixed).  ``jit_compile``
    compiles each step with XLA.
    """
    variables = nets.trainable_variables
    n, batch_size = int(n), int(min(batch_size, n))
    bounds = [(b, min(b + batch_size, n)) for b in range(0, n, batch_size)]

    def step_fn(o, mu):
        with tf.GradientTape() as tape:
            loss = -tf.reduce_mean(serket_bound(nets, o, mu, alpha))
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients(zip(grads, variables))
        return loss

    # Adam's slots made now: a tf.function that creates variables on its first
    # call is traced twice (about 0.5 s here).
    if not optimizer.built:
        optimizer.build(list(variables))
    step = tf.function(step_fn, jit_compile=jit_compile, autograph=False)

    def update_fn(o, prior_mean, perms):
        itr = tf.shape(perms)[0]
        losses = tf.TensorArray(tf.float32, size=itr)

        def body(e, losses):
            perm = perms[e]
            total = tf.constant(0.0)
            for lo, hi in bounds:
                idx = perm[lo:hi]
                total += step(tf.gather(o, idx), tf.gather(prior_mean, idx)) * float(hi - lo)
            return e + 1, losses.write(e, total / float(n))

        _, losses = tf.while_loop(lambda e, _: e < itr, body, (tf.constant(0), losses))
        return losses.stack()

    return tf.function(update_fn, autograph=False, reduce_retracing=True)


def make_encode(nets: VAENets):
    """tf.function ``encode(o) -> (z_mean, z_sample, o_mean)``, all [N, .]:
    the posterior mean, one posterior sample, and the reconstruction (decoder
    mean at the posterior mean)."""

    # No AutoGraph: the nets have no data-dependent Python control flow, and
    # converting them cost about 2 s of the first update.
    @tf.function(reduce_retracing=True, autograph=False)
    def encode(o):
        q_bn = variational_net(nets, o, n_particles=1).observe()
        z_mean = q_bn.outputs("z_mean")
        z_sample = q_bn.outputs("z")[0]
        gen = generative_net(nets, tf.zeros_like(z_mean), n_particles=1)
        o_mean = gen.observe(z=z_mean[None], o=o).outputs("o_mean")[0]
        return z_mean, z_sample, o_mean

    return encode
