"""Tests for common.metrics: clustering scores and GMM parameter comparisons."""
import numpy as np
import pytest
from scipy.stats import multivariate_normal

from common.data import GMMParams, random_gmm_params, sample_gmm
from common.metrics import (ari, cluster_accuracy, cluster_purity, clusters_used,
                            contingency_table, gmm_mean_loglik, hungarian_mapping,
                            match_components, nmi, parameter_errors)


@pytest.mark.rubric("P3.R3")
def test_permuted_perfect_clustering_scores_one():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 5, size=200)
    relabel = np.array([3, 0, 4, 1, 2])
    y_pred = relabel[y_true]
    assert cluster_accuracy(y_true, y_pred) == 1.0
    assert nmi(y_true, y_pred) == pytest.approx(1.0)
    assert ari(y_true, y_pred) == pytest.approx(1.0)
    assert hungarian_mapping(y_true, y_pred) == {int(relabel[c]): c for c in range(5)}
    assert all(v == 1.0 for v in cluster_purity(y_true, y_pred).values())


@pytest.mark.rubric("P3.R3")
def test_hand_checked_accuracy_and_purity():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([1, 1, 0, 0, 0, 2])
    # Contingency table, rows = clusters, cols = classes:
    #              class0 class1 class2
    #   cluster 0     1      2      0     (points 2, 3, 4)
    #   cluster 1     2      0      0     (points 0, 1)
    #   cluster 2     0      0      1     (point 5)
    # Best one-to-one: 1->0 (2) + 0->1 (2) + 2->2 (1) = 5 of 6.
    # (Mapping 0->0 would give 1 + at most 0 from cluster 1 + 1 = 2.)
    table, clusters, classes = contingency_table(y_true, y_pred)
    np.testing.assert_array_equal(table, [[1, 2, 0], [2, 0, 0], [0, 0, 1]])
    assert hungarian_mapping(y_true, y_pred) == {0: 1, 1: 0, 2: 2}
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 6)
    purity = cluster_purity(y_true, y_pred)
    assert purity == pytest.approx({0: 2 / 3, 1: 1.0, 2: 1.0})


@pytest.mark.rubric("P3.R3")
def test_more_clusters_than_classes_leaves_one_unmatched():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 1, 2, 2])
    # Table rows c0=[1,0], c1=[1,0], c2=[0,2]: only one of c0/c1 can take
    # class 0, the other cluster is unmatched and its point counts as wrong.
    mapping = hungarian_mapping(y_true, y_pred)
    assert len(mapping) == 2 and mapping[2] == 1
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(3 / 4)


def test_clusters_used():
    y_pred = np.array([0, 0, 0, 1, 5])
    assert clusters_used(y_pred) == 3
    assert clusters_used(y_pred, min_fraction=0.25) == 1   # fractions .6, .2, .2
    assert clusters_used(y_pred, min_fraction=0.2) == 3
    with pytest.raises(ValueError, match="min_fraction"):
        clusters_used(y_pred, min_fraction=1.5)


@pytest.mark.parametrize("y_true, y_pred, pattern", [
    ([0, 1, 2], [0, 1], "same length"),
    ([0.0, 1.0], [0, 1], "y_true must hold integer"),
    ([[0, 1]], [[0, 1]], "y_true must be 1-D"),
    ([], [], "must not be empty"),
])
def test_label_validation(y_true, y_pred, pattern):
    with pytest.raises(ValueError, match=pattern):
        cluster_accuracy(np.asarray(y_true), np.asarray(y_pred))


@pytest.mark.rubric("P2.R4")
def test_match_components_recovers_permutation():
    true_mu = random_gmm_params(6, d=2, seed=1).mu
    q = np.array([2, 5, 0, 1, 4, 3])            # learned j is true q[j]
    rng = np.random.default_rng(0)
    learned_mu = true_mu[q] + 0.05 * rng.standard_normal(true_mu.shape)
    perm = match_components(true_mu, learned_mu)
    np.testing.assert_array_equal(perm, np.argsort(q))
    np.testing.assert_allclose(learned_mu[perm], true_mu, atol=0.3)
    with pytest.raises(ValueError, match="at least as many components"):
        match_components(true_mu, learned_mu[:3])


def test_parameter_errors_zero_for_permuted_copy():
    true = random_gmm_params(5, d=2, seed=2)
    q = np.array([4, 2, 0, 3, 1])
    learned = GMMParams(pi=true.pi[q], mu=true.mu[q], sigma2=true.sigma2[q])
    err = parameter_errors(true, learned)
    assert err["perm"] == np.argsort(q).tolist()
    for key in ("pi_abs_err", "mu_err", "mu_err_sigma", "sigma2_rel_err"):
        assert err[key] == pytest.approx(0.0, abs=1e-12), key
    np.testing.assert_allclose(err["matched_mu"], true.mu)
    np.testing.assert_allclose(err["matched_pi"], true.pi)


@pytest.mark.rubric("P2.R4")
def test_parameter_errors_hand_checked():
    true = GMMParams(pi=np.array([0.6, 0.4]), mu=np.array([[0.0, 0.0], [10.0, 0.0]]),
                     sigma2=np.array([[4.0, 4.0], [1.0, 1.0]]))
    learned = GMMParams(pi=np.array([0.35, 0.65]), mu=np.array([[10.0, 0.1], [0.3, 0.4]]),
                        sigma2=np.array([[1.0, 1.5], [4.0, 4.0]]))
    err = parameter_errors(true, learned)
    assert err["perm"] == [1, 0]
    assert err["pi_abs_err"] == pytest.approx(0.05)
    assert err["mu_err"] == pytest.approx(0.5)               # |(0.3, 0.4)|
    assert err["mu_err_sigma"] == pytest.approx(0.25)        # 0.5 / 2 beats 0.1 / 1
    assert err["sigma2_rel_err"] == pytest.approx(0.5)       # 1.5 vs 1.0


@pytest.mark.rubric("P2.R4")
def test_gmm_mean_loglik_matches_brute_force():
    params = random_gmm_params(3, d=2, seed=4)
    x, _ = sample_gmm(params, 300, seed=0)
    dens = sum(params.pi[k] * multivariate_normal(params.mu[k], np.diag(params.sigma2[k])).pdf(x)
               for k in range(params.k))
    assert gmm_mean_loglik(x, params) == pytest.approx(np.mean(np.log(dens)), rel=1e-10)
    with pytest.raises(ValueError, match="D=2"):
        gmm_mean_loglik(np.zeros((4, 3)), params)
