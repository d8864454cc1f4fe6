"""The fused mixture log-density equals the one written with the core's
distributions, in value and in every gradient."""
import numpy as np
import tensorflow as tf

from common import zs
from common.zs import fused


def _reference(h, logits, mean, logstd):
    """log sum_k pi_k N(h; mu_k, sigma_k) from zs.OnehotCategorical + zs.Normal."""
    k = mean.shape[0]
    terms = []
    for j in range(k):
        z = tf.one_hot(j, k)
        log_pz = zs.OnehotCategorical(logits).log_prob(z)
        log_ph = zs.Normal(mean[j], logstd=logstd[j], group_ndims=1).log_prob(h)
        terms.append(log_pz + log_ph)
    return tf.reduce_logsumexp(tf.stack(terms, -1), -1)


def _value_and_grads(fn, h, params):
    with tf.GradientTape() as tape:
        tape.watch([h] + params)
        out = fn(h, *params)
        # A non-uniform upstream gradient, so that the weighting is tested too.
        cost = tf.reduce_sum(out * tf.reshape(tf.linspace(-1., 2., tf.size(out)),
                                              tf.shape(out)))
    return [out] + tape.gradient(cost, [h] + params)


def test_fused_mixture_equals_reference_value_and_gradients():
    rng = np.random.default_rng(7)
    k, d = 10, 40
    # Components far from the origin and from each other (large quadratic
    # forms): the regime where an expanded (h - mu)^2 could lose precision.
    h = tf.constant(rng.normal(3., 2., (2, 50, d)), tf.float32)
    params = [tf.constant(rng.normal(0., 1., k), tf.float32),
              tf.constant(rng.normal(3., 2., (k, d)), tf.float32),
              tf.constant(rng.normal(0., .4, (k, d)), tf.float32)]
    want = _value_and_grads(_reference, h, params)
    got = _value_and_grads(fused.normal_mixture_log_prob, h, params)
    assert got[0].shape == (2, 50)
    for name, g, w in zip(["value", "d/dh", "d/dlogits", "d/dmean", "d/dlogstd"],
                          got, want):
        w = w.numpy()
        np.testing.assert_allclose(g.numpy(), w, rtol=2e-5,
                                   atol=2e-5 * np.abs(w).max(), err_msg=name)


def test_fused_mixture_inside_tf_function_with_variables():
    rng = np.random.default_rng(1)
    logits = tf.Variable(rng.normal(size=3).astype(np.float32))
    mean = tf.Variable(rng.normal(size=(3, 4)).astype(np.float32))
    logstd = tf.Variable(rng.normal(0, .3, (3, 4)).astype(np.float32))
    h = tf.constant(rng.normal(size=(6, 4)), tf.float32)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            cost = -tf.reduce_mean(fused.normal_mixture_log_prob(h, logits, mean, logstd))
        return cost, tape.gradient(cost, [logits, mean, logstd])

    cost, grads = step()
    with tf.GradientTape() as tape:
        ref = -tf.reduce_mean(_reference(h, logits, mean, logstd))
    ref_grads = tape.gradient(ref, [logits, mean, logstd])
    np.testing.assert_allclose(cost.numpy(), ref.numpy(), rtol=1e-5)
    for g, r in zip(grads, ref_grads):
        np.testing.assert_allclose(g.numpy(), r.numpy(), rtol=1e-4, atol=1e-6)


def test_log_posterior_normalised_and_matches_reference():
    rng = np.random.default_rng(2)
    logits = tf.constant(rng.normal(size=5), tf.float32)
    mean = tf.constant(rng.normal(size=(5, 3)), tf.float32)
    logstd = tf.constant(rng.normal(0, .3, (5, 3)), tf.float32)
    h = tf.constant(rng.normal(size=(4, 7, 3)), tf.float32)
    post = fused.normal_mixture_log_posterior(h, logits, mean, logstd)
    assert post.shape == (4, 7, 5)
    np.testing.assert_allclose(tf.reduce_sum(tf.exp(post), -1).numpy(), 1., atol=1e-5)
    lse = fused.normal_mixture_log_prob(h, logits, mean, logstd)
    ref = _reference(h, logits, mean, logstd)
    np.testing.assert_allclose(lse.numpy(), ref.numpy(), rtol=1e-5)
