"""gmm_vi: the generative model, the posterior nets and the estimators."""
import numpy as np
import pytest
import tensorflow as tf

from common.data import GMMParams, default_gmm_params, sample_gmm
from common.metrics import gmm_mean_loglik
from gmm_vi.config import GMMVIConfig
from gmm_vi.estimators import exact_elbo
from gmm_vi.inference import FeatureMap, exact_posterior_logits, features, make_variational_net
from gmm_vi.learning import GMMVITrainer, kmeanspp_init
from gmm_vi.model import GMMInit, make_generative_net, sample_from_model


@pytest.mark.rubric("P2.R1")
def test_sampling_matches_declared_model():
    params = GMMParams(pi=np.array([0.5, 0.3, 0.2]),
                       mu=np.array([[-3.0, 0.0], [3.0, 0.0], [0.0, 4.0]]),
                       sigma2=np.array([[1.0, 0.25], [2.0, 1.0], [0.5, 3.0]]))
    n = 20000
    x, z = sample_from_model(params, n, seed=1)
    assert x.shape == (n, 2) and z.shape == (n,)
    freq = np.bincount(z, minlength=3) / n
    se = np.sqrt(params.pi * (1 - params.pi) / n)
    assert np.all(np.abs(freq - params.pi) < 4 * se), (freq, params.pi)
    for k in range(3):
        xk = x[z == k]
        nk = len(xk)
        se_mean = np.sqrt(params.sigma2[k] / nk)
        assert np.all(np.abs(xk.mean(0) - params.mu[k]) < 4 * se_mean)
        # Var of the sample variance of a normal: 2 sigma^4 / (n - 1).
        se_var = params.sigma2[k] * np.sqrt(2.0 / (nk - 1))
        assert np.all(np.abs(xk.var(0, ddof=1) - params.sigma2[k]) < 4 * se_var)


@pytest.mark.rubric("P2.R1", "P2.R2")
def test_model_log_joint_sums_to_exact_loglik():
    params = default_gmm_params()
    x, _ = sample_gmm(params, 50, seed=0)
    init = GMMInit(pi_logits=np.log(params.pi)[None].astype(np.float32),
                   mu=params.mu[None].astype(np.float32),
                   log_sigma=(0.5 * np.log(params.sigma2))[None].astype(np.float32))
    build_gen = make_generative_net(init)
    z_all = tf.broadcast_to(tf.eye(3)[:, None, None, :], [3, 1, 50, 3])
    log_pxz = build_gen(50).observe(x=x.astype(np.float32), z=z_all).log_joint()
    assert log_pxz.shape == (3, 1, 50)
    ll = float(tf.reduce_mean(tf.reduce_logsumexp(log_pxz, axis=0)))
    assert ll == pytest.approx(gmm_mean_loglik(x, params), abs=1e-4)


@pytest.mark.rubric("P2.R2")
def test_amortized_q_starts_at_exact_posterior_and_elbo_is_tight():
    params = default_gmm_params()
    x, _ = sample_gmm(params, 80, seed=3)
    init = kmeanspp_init(x, 3, n_restarts=2, seed=0)
    fmap = FeatureMap.from_data(x)
    f = features(x, fmap)
    build_q = make_variational_net("amortized", init, fmap, x, hidden_units=8)
    q = tf.nn.softmax(build_q.logits(f)).numpy()
    exact = tf.nn.softmax(exact_posterior_logits(x, init.pi_logits, init.mu,
                                                 init.log_sigma)).numpy()
    np.testing.assert_allclose(q, exact, atol=1e-4)
    # With q the exact posterior the ELBO equals the log-likelihood.
    build_gen = make_generative_net(init)
    elbo = exact_elbo(build_gen, build_q.logits(f), tf.constant(x, tf.float32)).numpy()
    for r in range(2):
        p = GMMParams(pi=np.exp(init.pi_logits[r]) / np.exp(init.pi_logits[r]).sum(),
                      mu=init.mu[r], sigma2=np.exp(2 * init.log_sigma[r]))
        assert elbo[r].mean() == pytest.approx(gmm_mean_loglik(x, p), abs=1e-3)


@pytest.mark.rubric("P2.R3")
def test_kmeanspp_seeds_are_data_points_in_distinct_clusters():
    params = GMMParams(pi=np.full(3, 1 / 3), mu=np.array([[-20., 0], [20., 0], [0, 20.]]),
                       sigma2=np.ones((3, 2)))
    x, _ = sample_gmm(params, 300, seed=0)
    init = kmeanspp_init(x, 3, n_restarts=5, seed=0)
    for r in range(5):
        # every initial mean is a data point ...
        assert np.min(np.abs(x[None] - init.mu[r][:, None]).sum(-1), axis=1).max() < 1e-4
        # ... and with clusters this far apart they land in different clusters
        nearest = np.argmin(((init.mu[r][:, None] - params.mu[None]) ** 2).sum(-1), axis=1)
        assert sorted(nearest.tolist()) == [0, 1, 2]


@pytest.fixture(scope="module")
def perturbed_trainer():
    """A trainer whose q is no longer the posterior (means moved after init),
    so the exact gradient of q's parameters is far from zero."""
    params = default_gmm_params()
    x, _ = sample_gmm(params, 1000, seed=5)
    cfg = GMMVIConfig(n_restarts=1, n_particles=4, hidden_units=8, seed=0)
    tr = GMMVITrainer(x, cfg)
    mu = tr.build_gen.store.variables_by_name["mu"]
    mu.assign(mu + tf.constant([[[1.0, -0.5], [-0.8, 0.6], [0.5, 1.0]]]))
    tr.train_chunk(20, 4)     # warms the baseline and the NVIL moving averages
    return tr


@pytest.mark.rubric("P2.R3")
def test_nvil_and_exact_gradients_agree_in_expectation(perturbed_trainer):
    tr = perturbed_trainer
    draws, scales = tr.gradient_draws("nvil", 400)
    exact = tr.exact_gradient()
    z_scores, cosines = [], []
    for g, e in zip(draws, exact):
        # Undo variance normalisation per draw: E[g * c] = exact gradient.
        g = g * scales.reshape(scales.shape + (1,) * (g.ndim - 2))
        mean = g.mean(0)
        se = g.std(0, ddof=1) / np.sqrt(g.shape[0])
        mask = se > 0
        z_scores.append(((mean - e)[mask] / se[mask]).ravel())
        cosines.append((mean.ravel(), e.ravel()))
    z = np.concatenate(z_scores)
    assert z.size > 50
    # Within 3 standard errors, up to the few coordinates expected to stray
    # (the coordinates are correlated, so allow a margin), and no gross bias:
    # a biased estimator's z-scores grow like sqrt(draws) (400 draws -> 20x
    # the bias in standard errors).
    assert np.mean(np.abs(z) > 3) < 0.05, np.sort(np.abs(z))[-10:]
    assert np.max(np.abs(z)) < 5.0
    assert np.mean(z ** 2) < 3.0
    m = np.concatenate([c[0] for c in cosines])
    e = np.concatenate([c[1] for c in cosines])
    assert np.dot(m, e) / (np.linalg.norm(m) * np.linalg.norm(e)) > 0.95


@pytest.mark.rubric("P2.R3")
def test_nvil_has_lower_gradient_variance_than_reinforce(perturbed_trainer):
    gv = perturbed_trainer.measure_gradient_variance(100, iteration=20)
    assert gv["nvil"][0] * 5 < gv["reinforce"][0]
    assert gv["nvil_unscaled"][0] * 5 < gv["reinforce"][0]
    assert gv["exact"] == [0.0] and gv["exact_sq_norm"][0] > 0


@pytest.mark.rubric("P2.R3")
def test_state_untouched_by_gradient_draws(perturbed_trainer):
    tr = perturbed_trainer
    before = [v.numpy().copy() for v in tr.state.variables]
    vars_before = [v.numpy().copy() for v in tr.train_vars]
    tr.gradient_draws("nvil", 5)
    for a, v in zip(before, tr.state.variables):
        np.testing.assert_array_equal(a, v.numpy())
    for a, v in zip(vars_before, tr.train_vars):
        np.testing.assert_array_equal(a, v.numpy())
