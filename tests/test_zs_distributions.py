"""log_prob of every distribution against scipy.stats, and ZhuSuan's shape rules."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from common import zs

RNG = np.random.default_rng(0)


def _grouped(lp, group_ndims):
    return lp.sum(axis=tuple(range(lp.ndim - group_ndims, lp.ndim))) \
        if group_ndims else lp


@pytest.mark.parametrize("group_ndims", [0, 1, 2])
@pytest.mark.parametrize("param", ["std", "logstd"])
def test_normal_log_prob_matches_scipy(group_ndims, param):
    mean = RNG.normal(size=(3, 4)).astype(np.float32)
    std = RNG.uniform(0.3, 2.0, size=(3, 4)).astype(np.float32)
    x = RNG.normal(size=(5, 3, 4)).astype(np.float32)
    kwargs = {"std": std} if param == "std" else {"logstd": np.log(std)}
    dist = zs.Normal(mean, group_ndims=group_ndims, **kwargs)
    expected = _grouped(stats.norm.logpdf(x, mean, std), group_ndims)
    np.testing.assert_allclose(dist.log_prob(x).numpy(), expected,
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("group_ndims", [0, 1])
def test_bernoulli_log_prob_matches_scipy(group_ndims):
    logits = RNG.normal(scale=3., size=(6, 5)).astype(np.float32)
    x = RNG.integers(0, 2, size=(2, 6, 5))
    dist = zs.Bernoulli(logits, group_ndims=group_ndims)
    p = 1. / (1. + np.exp(-logits.astype(np.float64)))
    expected = _grouped(stats.bernoulli.logpmf(x, p), group_ndims)
    np.testing.assert_allclose(dist.log_prob(x).numpy(), expected,
                               rtol=1e-5, atol=1e-5)


def _softmax(logits):
    e = np.exp(logits - logits.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


@pytest.mark.parametrize("group_ndims", [0, 1])
def test_onehot_categorical_log_prob_matches_scipy(group_ndims):
    logits = RNG.normal(size=(4, 3, 5)).astype(np.float32)
    idx = RNG.integers(0, 5, size=(7, 4, 3))
    onehot = np.eye(5)[idx]
    dist = zs.OnehotCategorical(logits, group_ndims=group_ndims)
    p = _softmax(logits.astype(np.float64))
    expected = np.log(np.take_along_axis(
        np.broadcast_to(p, (7,) + p.shape), idx[..., None], -1))[..., 0]
    # scipy's multinomial with n=1 is the one-hot categorical.
    expected_scipy = stats.multinomial.logpmf(
        onehot, 1, np.broadcast_to(p, onehot.shape))
    np.testing.assert_allclose(expected, expected_scipy, rtol=1e-6)
    np.testing.assert_allclose(dist.log_prob(onehot).numpy(),
                               _grouped(expected_scipy, group_ndims),
                               rtol=1e-5, atol=1e-5)
    assert zs.OnehotDiscrete is zs.OnehotCategorical


@pytest.mark.parametrize("group_ndims", [0, 1])
def test_categorical_log_prob_matches_scipy(group_ndims):
    logits = RNG.normal(size=(4, 6)).astype(np.float32)
    idx = RNG.integers(0, 6, size=(3, 4))
    dist = zs.Categorical(logits, group_ndims=group_ndims)
    p = _softmax(logits.astype(np.float64))
    expected = np.stack([[stats.rv_discrete(values=(np.arange(6), p[j]))
                          .logpmf(idx[i, j]) for j in range(4)]
                         for i in range(3)])
    np.testing.assert_allclose(dist.log_prob(idx).numpy(),
                               _grouped(expected, group_ndims), rtol=1e-5,
                               atol=1e-5)


@pytest.mark.parametrize("n_samples", [None, 1, 7])
def test_sample_shapes(n_samples):
    lead = [] if n_samples is None else [n_samples]
    cases = [
        (zs.Normal(tf.zeros([3, 2]), std=1.), [3, 2], []),
        (zs.Bernoulli(tf.zeros([3, 2])), [3, 2], []),
        (zs.OnehotCategorical(tf.zeros([3, 4])), [3], [4]),
        (zs.Categorical(tf.zeros([3, 4])), [3], []),
    ]
    for dist, batch, value in cases:
        assert dist.batch_shape.as_list() == batch
        assert dist.value_shape.as_list() == value
        s = dist.sample(n_samples)
        assert s.shape.as_list() == lead + batch + value
        # log_prob of own samples: one value per batch element
        assert dist.log_prob(s).shape.as_list() == lead + batch


def test_dtypes():
    assert zs.Bernoulli(tf.zeros([2])).sample().dtype == tf.int32
    assert zs.OnehotCategorical(tf.zeros([2, 3]),
                                dtype=tf.float32).sample().dtype == tf.float32
    assert zs.Normal(tf.zeros([2], tf.float64), std=1.).sample().dtype \
        == tf.float64


def test_sample_frequencies():
    logits = np.log(np.array([0.6, 0.3, 0.1], np.float32))
    s = zs.OnehotCategorical(logits).sample(20000).numpy()
    freq = s.mean(0)
    se = np.sqrt(0.6 * 0.4 / 20000)
    np.testing.assert_allclose(freq, [0.6, 0.3, 0.1], atol=4 * se)
    x = zs.Normal(2., std=3.).sample(20000).numpy()
    assert abs(x.mean() - 2.) < 4 * 3. / np.sqrt(20000)
    assert abs(x.std() - 3.) < 0.1


def test_reparameterization_flags_control_gradients():
    mean = tf.Variable([0.5, -0.2])
    with tf.GradientTape(persistent=True) as tape:
        rep = tf.reduce_sum(zs.Normal(mean, std=1.).sample())
        norep = tf.reduce_sum(zs.Normal(mean, std=1.,
                                        is_reparameterized=False).sample())
    np.testing.assert_allclose(tape.gradient(rep, mean).numpy(), [1., 1.])
    assert tape.gradient(norep, mean) is None
    assert not zs.OnehotCategorical(tf.zeros([3])).is_reparameterized


def test_shape_mismatch_raises_clear_error():
    dist = zs.Normal(tf.zeros([3, 2]), std=1.)
    with pytest.raises(ValueError, match="does not broadcast"):
        dist.log_prob(tf.zeros([4, 5]))
    cat = zs.OnehotCategorical(tf.zeros([3, 4]))
    with pytest.raises(ValueError, match="value_shape"):
        cat.log_prob(tf.zeros([3, 5]))
    with pytest.raises(ValueError, match="exactly one"):
        zs.Normal(0., std=1., logstd=0.)
    with pytest.raises(ValueError, match="group_ndims"):
        zs.Normal(0., std=1., group_ndims=-1)


def test_works_inside_tf_function():
    @tf.function(jit_compile=True)
    def f(logits, x):
        return zs.Normal(logits, std=1., group_ndims=1).log_prob(x)

    out = f(tf.zeros([2, 3]), tf.ones([5, 2, 3]))
    np.testing.assert_allclose(out.numpy(), np.full((5, 2), 3 * stats.norm.logpdf(1.)),
                               rtol=1e-5)
