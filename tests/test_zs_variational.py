"""Gradient estimators: SGVB and NVIL/REINFORCE unbiasedness, variance
reduction, and importance-sampled log-likelihoods."""
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from common import zs

M = 4000  # independent copies of the same data point = independent draws


def _mean_and_se(draws):
    draws = np.asarray(draws, np.float64)
    return draws.mean(0), draws.std(0, ddof=1) / np.sqrt(draws.shape[0])


# --------------------------------------------------------------------------
# SGVB on a conjugate Gaussian model
# --------------------------------------------------------------------------
@pytest.mark.rubric("P3.R2")
def test_sgvb_gradient_matches_analytic_elbo_gradient():
    """z ~ N(0,1), x|z ~ N(z,1), q(z) = N(m, s^2):
    dL/dm = x - 2m and dL/dlog s = 1 - 2 s^2."""
    tf.random.set_seed(1)
    x, m0, s0 = 1.3, 0.4, 0.7
    m = tf.Variable(tf.fill([M], m0))
    log_s = tf.Variable(tf.fill([M], float(np.log(s0))))

    def log_joint(obs):
        z = obs["z"]
        return (zs.Normal(0., std=1.).log_prob(z)
                + zs.Normal(z, std=1.).log_prob(obs["x"]))

    with tf.GradientTape() as tape:
        q = zs.BayesianNet()
        z = q.normal("z", m, logstd=log_s)
        lower_bound = zs.sgvb(log_joint, {"x": x},
                              {"z": (z.tensor, q.cond_log_prob("z"))})
        total = tf.reduce_sum(lower_bound)
    g_m, g_ls = tape.gradient(total, [m, log_s])
    for draws, exact in [(g_m, x - 2 * m0), (g_ls, 1 - 2 * s0 ** 2)]:
        mean, se = _mean_and_se(draws.numpy())
        assert abs(mean - exact) < 3 * se, (mean, exact, se)
    # the lower bound itself is unbiased for the analytic ELBO
    elbo = (-np.log(2 * np.pi) - 0.5 * (m0 ** 2 + s0 ** 2)
            - 0.5 * ((x - m0) ** 2 + s0 ** 2) + 0.5 * np.log(2 * np.pi * np.e * s0 ** 2))
    mean, se = _mean_and_se(lower_bound.numpy())
    assert abs(mean - elbo) < 3 * se


@pytest.mark.rubric("P3.R2")
def test_elbo_object_sgvb_matches_functional_api():
    @zs.meta_bayesian_net()
    def model():
        bn = zs.BayesianNet()
        z = bn.normal("z", tf.zeros([3]), std=1.)
        bn.normal("x", z, std=1.)
        return bn

    q = zs.BayesianNet()
    q.normal("z", tf.fill([3], 0.5), std=0.8)
    x = tf.constant([0.1, 1.0, -2.0])
    lb = zs.elbo(model(), {"x": x}, variational=q)
    expected = (zs.Normal(0., std=1.).log_prob(q["z"].tensor)
                + zs.Normal(q["z"].tensor, std=1.).log_prob(x)
                - q["z"].cond_log_p)
    np.testing.assert_allclose(tf.convert_to_tensor(lb).numpy(),
                               expected.numpy(), rtol=1e-6)
    np.testing.assert_allclose(lb.sgvb().numpy(), -expected.numpy(), rtol=1e-6)


# --------------------------------------------------------------------------
# Score-function estimators on a small discrete model
# --------------------------------------------------------------------------
PRIOR = np.array([0.5, 0.3, 0.2], np.float32)
MU = np.array([-2., 0., 3.], np.float32)
X = 0.5
PHI0 = np.array([0.3, -0.2, 0.1], np.float32)


def _log_joint(obs):
    z = tf.cast(obs["z"], tf.float32)
    return (tf.reduce_sum(z * np.log(PRIOR), -1)
            + zs.Normal(tf.reduce_sum(z * MU, -1), std=1.).log_prob(obs["x"]))


def _exact_gradient():
    """dELBO/dphi by enumerating the three values of z."""
    phi = tf.Variable(PHI0)
    eye = tf.eye(3)
    with tf.GradientTape() as tape:
        log_q = tf.nn.log_softmax(phi)
        elbo = tf.reduce_sum(tf.exp(log_q) * (_log_joint({"z": eye, "x": X})
                                              - log_q))
    return tape.gradient(elbo, phi).numpy()


def _estimator_draws(make_cost, n=M):
    """Per-draw gradients of -cost w.r.t. per-copy logits: ``[n, 3]``."""
    phi = tf.Variable(np.tile(PHI0, (n, 1)))
    with tf.GradientTape() as tape:
        q = zs.BayesianNet()
        z = q.onehot_categorical("z", phi, dtype=tf.float32)
        cost = make_cost(z.tensor, q.cond_log_prob("z"))
        total = tf.reduce_sum(cost)
    return -tape.gradient(total, phi).numpy()


@pytest.mark.rubric("P2.R3")
def test_nvil_gradient_is_unbiased():
    tf.random.set_seed(2)
    state = zs.NVILState()
    draws = _estimator_draws(lambda z, log_q: zs.nvil(
        _log_joint, {"x": X}, {"z": (z, log_q)}, variance_normalization=True,
        state=state)[0])
    # Variance normalisation rescales the signal by 1 / max(1, sqrt(v)); the
    # direction is unbiased, so undo the known scale.  Centering by a mean
    # that includes the draw itself scales by (1 - 1/M), also undone.
    scale = max(1., float(np.sqrt(state.moving_variance.numpy())))
    draws = draws * scale / (1. - 1. / M)
    mean, se = _mean_and_se(draws)
    exact = _exact_gradient()
    assert np.all(np.abs(mean - exact) < 3 * se), (mean, exact, se)
    assert state.n_updates.numpy() == 1


@pytest.mark.rubric("P2.R3")
def test_reinforce_with_baseline_is_unbiased_and_trains_baseline():
    tf.random.set_seed(3)
    state = zs.NVILState()
    baseline = tf.Variable(tf.fill([M], -1.5))

    def cost(z, log_q):
        lb = zs.elbo(_log_joint, {"x": X}, latent={"z": (z, log_q)})
        return lb.reinforce(baseline=baseline, state=state)

    draws = _estimator_draws(cost) / (1. - 1. / M)
    mean, se = _mean_and_se(draws)
    exact = _exact_gradient()
    assert np.all(np.abs(mean - exact) < 3 * se), (mean, exact, se)

    # The baseline's gradient is that of 0.5 * (l - b)^2: b - l.
    phi = tf.constant(np.tile(PHI0, (M, 1)))
    with tf.GradientTape() as tape:
        q = zs.BayesianNet()
        q.onehot_categorical("z", phi, dtype=tf.float32)
        lb = zs.elbo(_log_joint, {"x": X}, variational=q)
        c = tf.reduce_sum(lb.reinforce(baseline=baseline, state=state))
    g_b = tape.gradient(c, baseline).numpy()
    np.testing.assert_allclose(g_b, baseline.numpy() - lb.tensor.numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.rubric("P2.R3")
def test_variance_reduction_lowers_gradient_variance():
    """Plain REINFORCE vs centering + baseline + variance normalisation."""
    tf.random.set_seed(4)
    plain = _estimator_draws(lambda z, log_q: zs.elbo(
        _log_joint, {"x": X}, latent={"z": (z, log_q)}).reinforce(
            variance_reduction=False))
    state = zs.NVILState()
    for _ in range(5):  # let the moving averages settle
        _estimator_draws(lambda z, log_q: zs.nvil(
            _log_joint, {"x": X}, {"z": (z, log_q)},
            variance_normalization=True, state=state)[0])
    reduced = _estimator_draws(lambda z, log_q: zs.nvil(
        _log_joint, {"x": X}, {"z": (z, log_q)}, variance_normalization=True,
        state=state)[0])
    # Compare on the same scale: undo the normalisation factor.
    scale = max(1., float(np.sqrt(state.moving_variance.numpy())))
    var_plain = plain.var(0).sum()
    var_reduced = (reduced * scale).var(0).sum()
    assert var_reduced < 0.5 * var_plain, (var_reduced, var_plain)


@pytest.mark.rubric("P2.R3")
def test_nvil_requires_explicit_state_and_runs_in_tf_function():
    z = tf.one_hot([0, 1], 3)
    with pytest.raises(ValueError, match="NVILState"):
        zs.nvil(_log_joint, {"x": X}, {"z": (z, tf.zeros([2]))})
    state = zs.NVILState()

    @tf.function(jit_compile=True)
    def step(logits):
        q = zs.BayesianNet()
        z = q.onehot_categorical("z", logits, dtype=tf.float32)
        return zs.nvil(_log_joint, {"x": X}, {"z": (z, q.cond_log_prob("z"))},
                       variance_normalization=True, state=state)

    for _ in range(3):
        cost, lb = step(tf.zeros([5, 3]))
    assert cost.shape == (5,) and lb.shape == (5,)
    assert state.n_updates.numpy() == 3
    assert np.isfinite(state.moving_mean.numpy())
    # The state is checkpointable.
    ckpt = tf.train.Checkpoint(state=state)
    assert any("moving_variance" in name for name, _ in
               tf.train.list_variables(ckpt.write("/tmp/_zs_state_ckpt")))


# --------------------------------------------------------------------------
# Importance-sampled log-likelihood on a linear-Gaussian model
# --------------------------------------------------------------------------
@pytest.mark.rubric("P3.R3")
def test_is_loglikelihood_approaches_exact_marginal():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(2, 3)).astype(np.float32)
    b = rng.normal(size=3).astype(np.float32)
    sigma = 0.5
    n = 40
    z_true = rng.normal(size=(n, 2))
    x = (z_true @ W + b + sigma * rng.normal(size=(n, 3))).astype(np.float32)
    cov = W.T @ W + sigma ** 2 * np.eye(3)
    exact = stats.multivariate_normal(b, cov).logpdf(x).mean()

    # Posterior (used, broadened, as the proposal).
    post_cov = np.linalg.inv(np.eye(2) + W @ W.T / sigma ** 2)
    post_mean = ((x - b) @ W.T / sigma ** 2) @ post_cov
    prop_std = 1.5 * np.sqrt(np.diag(post_cov)).astype(np.float32)

    @zs.meta_bayesian_net()
    def model(n_particles):
        bn = zs.BayesianNet()
        z = bn.normal("z", tf.zeros([n, 2]), std=1., group_ndims=1,
                      n_samples=n_particles)
        bn.normal("x", tf.tensordot(z, W, 1) + b, std=sigma, group_ndims=1)
        return bn

    def estimate(k):
        tf.random.set_seed(5)
        proposal = zs.BayesianNet()
        proposal.normal("z", post_mean.astype(np.float32),
                        std=np.tile(prop_std, (n, 1)), group_ndims=1,
                        n_samples=k)
        return zs.is_loglikelihood(model(k), {"x": x}, proposal=proposal,
                                   axis=0).numpy().mean()

    est_1, est_1000 = estimate(1), estimate(1000)
    assert abs(est_1000 - exact) < 0.02, (est_1000, exact)
    assert est_1 < est_1000
