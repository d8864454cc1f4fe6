"""BayesianNet / MetaBayesianNet semantics."""
import numpy as np
import pytest
import tensorflow as tf

from common import zs


def _net(observed):
    bn = zs.BayesianNet(observed=observed)
    z = bn.onehot_categorical("z", tf.math.log([[0.2, 0.8]] * 3),
                              dtype=tf.float32)
    mu = tf.constant([[-1., 0.], [2., 1.]])
    h = bn.normal("h", tf.matmul(z, mu), std=0.5, group_ndims=1)
    bn.bernoulli("x", tf.concat([h, h], -1), group_ndims=1)
    return bn


def test_log_joint_is_sum_of_node_log_probs_and_uses_observed():
    z = tf.constant([[1., 0.], [0., 1.], [0., 1.]])
    x = tf.constant([[1, 0, 1, 1]] * 3)
    bn = _net({"z": z, "x": x})
    np.testing.assert_array_equal(bn["z"].tensor.numpy(), z.numpy())
    np.testing.assert_array_equal(bn["x"].tensor.numpy(), x.numpy())
    h = bn.outputs("h")
    assert h.shape == (3, 2)
    manual = (zs.OnehotCategorical(tf.math.log([[0.2, 0.8]] * 3)).log_prob(z)
              + zs.Normal(tf.matmul(z, [[-1., 0.], [2., 1.]]), std=0.5,
                          group_ndims=1).log_prob(h)
              + zs.Bernoulli(tf.concat([h, h], -1), group_ndims=1).log_prob(x))
    np.testing.assert_allclose(bn.log_joint().numpy(), manual.numpy(),
                               rtol=1e-6)
    parts = bn.cond_log_prob(["z", "h", "x"])
    np.testing.assert_allclose(sum(p.numpy() for p in parts),
                               manual.numpy(), rtol=1e-6)


def test_latent_nodes_sample_and_stochastic_tensor_acts_like_tensor():
    bn = _net({})
    z = bn["z"]
    assert isinstance(z, zs.StochasticTensor)
    assert not z.is_observed
    assert z.tensor.shape == (3, 2)
    np.testing.assert_allclose(tf.reduce_sum(z, -1).numpy(), 1.)
    np.testing.assert_allclose((z * 2.).numpy(), 2. * z.tensor.numpy())
    assert bn.get(["z", "h"])[1] is bn["h"]
    with pytest.raises(KeyError, match="no node 'w'"):
        bn["w"]


def test_n_samples_and_deterministic():
    bn = zs.BayesianNet()
    z = bn.normal("z", tf.zeros([4, 2]), std=1., group_ndims=1, n_samples=5)
    s = bn.deterministic("s", tf.reduce_sum(z, -1))
    assert z.tensor.shape == (5, 4, 2)
    assert bn.cond_log_prob("z").shape == (5, 4)
    assert s.shape == (5, 4)
    with pytest.raises(ValueError, match="deterministic"):
        bn.cond_log_prob("s")
    with pytest.raises(ValueError, match="already has a node"):
        bn.normal("z", 0., std=1.)


@zs.meta_bayesian_net(scope="toy", reuse_variables=True)
def _toy(n):
    bn = zs.BayesianNet()
    z = bn.normal("z", tf.zeros([n, 2]), std=1., group_ndims=1)
    logits = zs.layers.dense(zs.layers.dense(z, 8, tf.nn.relu), 3)
    bn.bernoulli("x", logits, group_ndims=1)
    return bn


@pytest.mark.rubric("P2.R1", "P3.R1")
def test_meta_bayesian_net_reuses_variables_and_observes():
    x = tf.ones([4, 3])
    z = tf.zeros([4, 2])
    lj1 = _toy(4).observe(x=x, z=z).log_joint()
    n_vars = len(_toy.store.trainable_variables)
    assert n_vars == 4  # two kernels, two biases
    lj2 = _toy(4).observe(x=x, z=z).log_joint()
    assert len(_toy.store.trainable_variables) == n_vars
    np.testing.assert_allclose(lj1.numpy(), lj2.numpy())
    # A different batch size reuses the same variables.
    _toy(7).observe(x=tf.ones([7, 3]))
    assert len(_toy.store.trainable_variables) == n_vars
    with pytest.raises(ValueError, match="not nodes"):
        _toy(4).observe(y=x)


def test_custom_log_joint_and_tf_function():
    model = _toy(2)
    model.log_joint = lambda bn: bn.cond_log_prob("x")
    x = tf.ones([2, 3])
    z = tf.zeros([2, 2])
    bn = model.observe(x=x, z=z)
    np.testing.assert_allclose(bn.log_joint().numpy(),
                               bn.cond_log_prob("x").numpy())

    @tf.function
    def lj(x, z):
        return _toy(2).observe(x=x, z=z).log_joint()

    np.testing.assert_allclose(
        lj(x, z).numpy(), _toy(2).observe(x=x, z=z).log_joint().numpy(),
        rtol=1e-6)


def test_layers_outside_a_model_raise():
    with pytest.raises(RuntimeError, match="meta_bayesian_net"):
        zs.layers.dense(tf.zeros([2, 2]), 3)
