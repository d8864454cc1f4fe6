"""GMVAE model and inference nets: node shapes, the summed-out z, sampling, config."""
import numpy as np
import pytest
import tensorflow as tf

from common import zs
from gmvae.config import GMVAEConfig
from gmvae.model import GMVAE, cluster_log_posterior, mixture_log_prob
from gmvae.variants import variant_config

TINY = dict(n_clusters=3, latent_dim=4, enc_hidden=(16,), dec_hidden=(8, 12),
            batch_size=10, verbose=False)


@pytest.fixture(scope="module")
def model():
    tf.random.set_seed(0)
    return GMVAE(GMVAEConfig(**TINY))


@pytest.mark.rubric("P3.R1", "P3.R2")
def test_node_shapes(model):
    n, s, k, d = 5, 2, 3, 4
    x = tf.cast(tf.random.uniform([n, 784]) < 0.5, tf.float32)
    q = model.variational(x, s)
    assert q["h_mean"].shape == (n, d) and q["h_logstd"].shape == (n, d)
    assert q["h"].tensor.shape == (s, n, d)
    assert q.cond_log_prob("h").shape == (s, n)
    bn = model.generative(n, s).observe(x=x, h=q["h"].tensor)
    assert bn["z"].tensor.shape == (s, n, k)
    assert bn["h"].tensor.shape == (s, n, d)
    assert bn["x_logits"].shape == (s, n, 784) and bn["x_mean"].shape == (s, n, 784)
    assert bn.cond_log_prob("x").shape == (s, n)
    assert bn.log_joint().shape == (s, n)
    # Unobserved: everything is sampled with the particle axis in front.
    free = model.generative(n, s, marginal=False).observe()
    assert free["z"].tensor.shape == (s, n, k)
    assert free["x"].tensor.shape == (s, n, 784)
    assert set(np.unique(free["x"].tensor.numpy())) <= {0, 1}
    np.testing.assert_allclose(free["z"].tensor.numpy().sum(-1), 1.0)
    lb = zs.elbo(model.generative(n, s), {"x": x}, variational=q, axis=0)
    assert lb.tensor.shape == (n,) and lb.sgvb().shape == (n,)
    assert np.all(np.isfinite(lb.tensor.numpy()))


@pytest.mark.rubric("P3.R2")
def test_marginal_log_p_h_equals_brute_force_sum_over_z(model):
    """log p(h) from the custom log_joint == log sum_k p(z=k) p(h | z=k) built
    node by node with z observed."""
    pi_logits, mu, logstd = model.prior_params()
    pi_logits.assign([0.3, -1.0, 0.5])
    logstd.assign(np.random.default_rng(0).normal(0, 0.3, (3, 4)).astype(np.float32))
    n, k = 6, 3
    h = tf.random.normal([n, 4], seed=1) * 2.
    terms = []
    for j in range(k):
        z = tf.one_hot(tf.fill([n], j), k)
        bn = model.generative(n, marginal=False).observe(z=z, h=h)
        terms.append(bn.cond_log_prob("z") + bn.cond_log_prob("h"))
    brute = tf.reduce_logsumexp(tf.stack(terms, -1), -1).numpy()
    np.testing.assert_allclose(mixture_log_prob(h, pi_logits, mu, logstd).numpy(), brute,
                               rtol=1e-5, atol=1e-4)
    # The marginal log_joint = log p(x|h) + log p(h).
    x = tf.zeros([n, 784])
    bn = model.generative(n).observe(x=x, h=h)
    np.testing.assert_allclose(bn.log_joint().numpy(),
                               (bn.cond_log_prob("x") + brute).numpy(), rtol=1e-5, atol=1e-3)
    # And p(z | h) is the normalised version of the same terms.
    post = tf.exp(cluster_log_posterior(h, pi_logits, mu, logstd)).numpy()
    np.testing.assert_allclose(post, tf.nn.softmax(tf.stack(terms, -1)).numpy(), atol=1e-5)


@pytest.mark.rubric("P3.R2")
def test_brute_force_in_numpy():
    """Independent numpy check of the mixture density on random parameters."""
    rng = np.random.default_rng(3)
    k, d = 4, 3
    logits, mu = rng.normal(size=k), rng.normal(size=(k, d))
    logstd, h = rng.normal(0, .2, (k, d)), rng.normal(size=(7, d))
    pi = np.exp(logits) / np.exp(logits).sum()
    dens = sum(pi[j] * np.prod(np.exp(-0.5 * ((h - mu[j]) / np.exp(logstd[j])) ** 2)
                               / (np.sqrt(2 * np.pi) * np.exp(logstd[j])), -1)
               for j in range(k))
    got = mixture_log_prob(tf.constant(h, tf.float32), tf.constant(logits, tf.float32),
                           tf.constant(mu, tf.float32), tf.constant(logstd, tf.float32))
    np.testing.assert_allclose(got.numpy(), np.log(dens), rtol=1e-4)


@pytest.mark.rubric("P3.R4")
def test_sample_per_cluster_shape_and_range(model):
    out = model.sample_per_cluster(4, seed=1)
    assert out.shape == (3, 4, 784)
    assert out.min() >= 0.0 and out.max() <= 1.0
    with pytest.raises(ValueError, match="n_per_cluster"):
        model.sample_per_cluster(0)


@pytest.mark.rubric("P3.R1")
def test_plain_vae_has_no_z():
    vae = GMVAE(GMVAEConfig(prior="normal", **TINY))
    q = vae.variational(tf.zeros([2, 784]), 3)
    bn = vae.generative(2, 3).observe(x=tf.zeros([2, 784]), h=q["h"].tensor)
    assert "z" not in bn.nodes and bn.log_joint().shape == (3, 2)
    assert not vae.has_clusters


@pytest.mark.parametrize("bad, match", [
    (dict(n_clusters=0), "n_clusters"), (dict(latent_dim=0), "latent_dim"),
    (dict(enc_hidden=()), "enc_hidden"), (dict(prior="t"), "prior"),
    (dict(strategy="tpu"), "strategy"), (dict(pull_weight=-1.), "pull_weight"),
    (dict(prior="normal", pretrain_epochs=2), "plain VAE"),
    (dict(augment_weight=-1.), "augment_weight"),
    (dict(augment_shear=-0.1), "augment_shear"),
    (dict(n_init=0), "n_init"),
    (dict(prior="normal", augment_weight=1.), "plain VAE"),
    (dict(final_learning_rate=0.), "final_learning_rate"),
    (dict(lr_decay_epochs=0), "lr_decay_epochs"),
])
@pytest.mark.rubric("P3.R1")
def test_bad_config_raises(bad, match):
    with pytest.raises(ValueError, match=match):
        GMVAEConfig(**bad)


@pytest.mark.rubric("P3.Bonus.4")
def test_variants_are_valid_configs():
    from gmvae.variants import VARIANTS
    for name in VARIANTS:
        assert isinstance(variant_config(name, epochs=1), GMVAEConfig)
    with pytest.raises(ValueError, match="variant"):
        variant_config("nope")


def test_learning_rate_schedule():
    c = GMVAEConfig(epochs=10, learning_rate=1e-2, final_learning_rate=1e-3,
                    lr_decay_epochs=4)
    rates = [c.learning_rate_at(e) for e in range(10)]
    assert rates[:7] == [1e-2] * 7                       # constant before the decay
    np.testing.assert_allclose(rates[9], 1e-3, rtol=1e-6)  # the last epoch ends on it
    assert all(a > b for a, b in zip(rates[6:], rates[7:]))  # then strictly decreasing
    np.testing.assert_allclose(rates[8] / rates[7], rates[9] / rates[8], rtol=1e-6)
    assert GMVAEConfig(epochs=5).learning_rate_at(4) == 1e-3   # no schedule: constant


def test_random_affine_identity_range_and_mass():
    import tensorflow as tf
    from gmvae.augment import random_affine
    rng = np.random.default_rng(0)
    x = np.zeros((6, 784), np.float32)
    img = x.reshape(6, 28, 28)
    img[:, 8:20, 10:18] = rng.random((6, 12, 8))      # digit-like blob inside the frame
    seed = tf.constant([3, 4], tf.int64)
    same = random_affine(x, seed, max_rotation=0., max_shift=0., max_scale=0.).numpy()
    np.testing.assert_allclose(same, x, atol=1e-6)
    out = random_affine(x, seed).numpy()
    assert out.shape == x.shape and out.min() >= 0. and out.max() <= 1.
    assert np.abs(out - x).max() > 0.1                   # it does move the images
    # A bilinear rotation/shift of a blob well inside the frame keeps its ink
    # up to the scale change (at most +-10 % per axis -> about +-21 % area).
    ratio = out.sum(1) / x.sum(1)
    assert np.all((ratio > 0.75) & (ratio < 1.3))
    again = random_affine(x, seed).numpy()
    np.testing.assert_array_equal(out, again)            # stateless: same seed, same output


@pytest.mark.rubric("P3.Bonus.4")
def test_random_affine_shear_slants_a_vertical_bar():
    import tensorflow as tf
    from gmvae.augment import random_affine
    x = np.zeros((16, 28, 28), np.float32)
    x[:, 4:24, 13:15] = 1.                               # a vertical bar, 2 px wide
    out = random_affine(x.reshape(16, -1), tf.constant([5, 6], tf.int64), max_rotation=0.,
                        max_shift=0., max_scale=0., max_shear=0.4).numpy().reshape(16, 28, 28)
    rows = np.arange(6, 22)
    cols = np.arange(28)
    slopes = []
    for img in out:
        centre = (img[rows] * cols).sum(1) / img[rows].sum(1)   # ink centre per row
        slope, _ = np.polyfit(rows, centre, 1)
        slopes.append(slope)
        # straight (a shear keeps lines straight) and pivoting on the centre
        np.testing.assert_allclose(centre, np.polyval(np.polyfit(rows, centre, 1), rows),
                                   atol=0.15)
        assert abs(np.interp(13.5, rows, centre) - 13.5) < 0.3
    slopes = np.abs(slopes)
    assert slopes.max() <= 0.4 + 0.02 and slopes.max() > 0.15   # within the range, not 0


@pytest.mark.rubric("P3.Bonus.4")
def test_augmentation_consistency_is_zero_only_for_equal_codes(model):
    import tensorflow as tf
    from gmvae.regularizers import augmentation_consistency
    h = tf.random.stateless_normal([8, model.config.latent_dim], [0, 1])
    assert abs(float(augmentation_consistency(model, h, h))) < 1e-5
    assert float(augmentation_consistency(model, h, h + 3.)) > 1e-3


@pytest.mark.rubric("P3.R4", "P3.Bonus.3")
def test_generative_consistency_trains_the_nets_not_the_prior(model):
    """The term scores each component's decoded-and-re-encoded draws by the
    model's own p(z|h): a cross-entropy (>= 0, at most log K for a uniform
    posterior on average here), with gradients for the decoder and the encoder
    and none for (pi, mu, sigma)."""
    from gmvae.regularizers import generative_consistency
    prior = set(id(v) for v in model.prior_params())
    variables = list(model.trainable_variables)
    with tf.GradientTape() as tape:
        term = generative_consistency(model, 4, tf.constant([0, 3], tf.int64))
    grads = tape.gradient(term, variables)
    assert term.shape == () and 0. <= float(term) < 20.
    got = {v.name.split(":")[0]: g is not None and float(tf.reduce_sum(tf.abs(g))) > 0
           for v, g in zip(variables, grads) if id(v) not in prior}
    assert any(got[n] for n in got if "dec" in n or "x_logits" in n), got
    assert any(got[n] for n in got if n.startswith("q")), got
    assert all(g is None for v, g in zip(variables, grads) if id(v) in prior)
    # Seeded: the same draws give the same value.
    again = generative_consistency(model, 4, tf.constant([0, 3], tf.int64))
    assert float(again) == pytest.approx(float(term), rel=1e-6)


def test_generative_consistency_config_is_checked():
    with pytest.raises(ValueError, match="generative_per_cluster"):
        GMVAEConfig(**TINY, generative_per_cluster=0)
    with pytest.raises(ValueError, match="generative_weight"):
        GMVAEConfig(**TINY, generative_weight=-1.)
