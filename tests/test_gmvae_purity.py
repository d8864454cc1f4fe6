"""Generative purity: the independent classifier and what it says of sample grids."""
import numpy as np
import pytest
import tensorflow as tf

from common.data import load_mnist
from gmvae.config import GMVAEConfig
from gmvae.model import GMVAE
from gmvae.prior_em import mixture_em, prior_m_step
from gmvae.purity import PurityClassifier, fit_classifier, generative_purity


@pytest.fixture(scope="module")
def mnist():
    """1,500 training and 500 held-out real MNIST images (bundled subset)."""
    x, y = load_mnist(None)
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(x))
    return x[idx[:1500]], y[idx[:1500]], x[idx[1500:2000]], y[idx[1500:2000]]


@pytest.fixture(scope="module")
def classifier(mnist):
    return fit_classifier(*mnist, seed=0)


@pytest.mark.rubric("P3.R4")
def test_classifier_is_accurate_on_held_out_images(classifier):
    assert classifier.n_train == 1500 and classifier.n_held_out == 500
    # 1,500 training images already give an SVC above 0.9.
    assert classifier.held_out_accuracy > 0.9


@pytest.mark.rubric("P3.R4", "P3.Bonus.4")
def test_copies_of_one_class_per_cluster_score_one(mnist, classifier):
    x_te, y_te = mnist[2], mnist[3]
    pred = classifier.predict(x_te)
    # Row k: 20 copies of a held-out image of class k that the classifier gets right.
    rows = [np.repeat(x_te[(y_te == k) & (pred == k)][:1], 20, 0) for k in range(10)]
    out = generative_purity(np.stack(rows), classifier)
    assert out["mean"] == 1.0 and out["worst"] == 1.0
    assert out["n_distinct_majority"] == 10
    assert [c["majority_class"] for c in out["per_cluster"]] == list(range(10))
    assert out["n_clusters"] == 10 and out["n_per_cluster"] == 20


@pytest.mark.rubric("P3.R4", "P3.Bonus.4")
def test_shuffled_samples_score_near_one_over_k(mnist, classifier):
    x_te = mnist[2]
    rng = np.random.default_rng(1)
    grid = x_te[rng.permutation(500)].reshape(10, 50, -1)
    out = generative_purity(grid, classifier)
    # The majority share of 50 draws from ~10 balanced classes: about 0.2.
    assert 0.1 <= out["mean"] < 0.32
    assert out["worst"] < out["mean"] + 1e-12


@pytest.mark.rubric("P3.R4", "P3.Bonus.4")
def test_pure_rows_of_real_digits_score_high(mnist, classifier):
    x_te, y_te = mnist[2], mnist[3]
    grid = np.stack([x_te[y_te == k][:30] for k in range(10)])
    out = generative_purity(grid, classifier)
    assert out["mean"] > 0.85 and out["n_distinct_majority"] == 10


@pytest.mark.rubric("P3.R4")
def test_a_weak_classifier_raises_the_flag(mnist):
    x_tr, y_tr, x_te, y_te = mnist
    shuffled = np.random.default_rng(0).permutation(y_tr)   # labels carry no signal
    weak = fit_classifier(x_tr[:500], shuffled[:500], x_te, y_te, seed=0)
    assert weak.held_out_accuracy < 0.5 and not weak.trustworthy
    out = generative_purity(x_te[:40].reshape(4, 10, -1), weak)
    assert out["trustworthy"] is False and out["classifier"]["trustworthy"] is False


def test_untested_classifier_is_not_trusted(mnist):
    clf = fit_classifier(mnist[0][:300], mnist[1][:300])
    assert np.isnan(clf.held_out_accuracy) and not clf.trustworthy


@pytest.mark.parametrize("args, match", [
    ((None, None), "needs labelled train images"),
    ((np.zeros((5, 784)), None), "needs labelled train images"),
    ((np.zeros((5, 784)), np.zeros(4, int)), "one label per image"),
    ((np.zeros((5, 784)), np.zeros(5)), "integer class labels"),
    ((np.zeros((5, 784)), np.zeros(5, int)), "at least two classes"),
])
def test_classifier_bad_input(args, match):
    with pytest.raises(ValueError, match=match):
        fit_classifier(*args)


@pytest.mark.parametrize("grid, match", [
    (np.zeros((10, 784)), "K, n_per_cluster, pixels"),
    (np.zeros((10, 0, 784)), "at least one cluster"),
    (np.full((2, 2, 784), np.nan), "NaN"),
])
def test_bad_sample_grids(classifier, grid, match):
    with pytest.raises(ValueError, match=match):
        generative_purity(grid, classifier)


def test_zero_samples_per_cluster_is_refused():
    model = GMVAE(GMVAEConfig(n_clusters=3, latent_dim=4, enc_hidden=(8,),
                              dec_hidden=(8,)))
    with pytest.raises(ValueError, match="n_per_cluster must be an integer >= 1"):
        model.sample_per_cluster(0)


@pytest.mark.rubric("P3.Bonus.4")
def test_mixture_em_raises_the_likelihood_and_recovers_components():
    rng = np.random.default_rng(0)
    mu_true = np.array([[-4.0, 0.0], [4.0, 1.0]])
    h = np.concatenate([rng.normal(mu_true[0], [0.5, 1.0], (3000, 2)),
                        rng.normal(mu_true[1], [1.0, 0.3], (1000, 2))])
    pi, mu, var, before, after = mixture_em(h, [0.5, 0.5], [[-1.0, 0.0], [1.0, 0.0]],
                                            np.full((2, 2), 9.0), iterations=30)
    assert after > before
    np.testing.assert_allclose(pi, [0.75, 0.25], atol=0.02)
    np.testing.assert_allclose(mu, mu_true, atol=0.1)
    np.testing.assert_allclose(var, [[0.25, 1.0], [1.0, 0.09]], rtol=0.15)


@pytest.mark.rubric("P3.Bonus.4")
def test_prior_m_step_raises_the_prior_term_and_assigns_it():
    cfg = GMVAEConfig(n_clusters=3, latent_dim=4, enc_hidden=(16,), dec_hidden=(16,),
                      seed=0)
    tf.random.set_seed(0)
    model = GMVAE(cfg)
    x = np.random.default_rng(0).random((200, 784)).astype(np.float32)
    before = model.prior_params()[1].numpy().copy()
    out = prior_m_step(model, x, n_draws=2, iterations=5, seed=0)
    assert out["log_prior_after"] >= out["log_prior_before"]
    assert out["n_draws"] == 400
    assert not np.allclose(model.prior_params()[1].numpy(), before)
    np.testing.assert_allclose(model.pi().sum(), 1.0, atol=1e-5)


def test_classifier_description_round_trips(classifier):
    d = classifier.describe()
    assert d["trustworthy"] == classifier.trustworthy
    assert set(d) >= {"kind", "n_train", "held_out_accuracy", "accuracy_floor"}
    assert isinstance(classifier, PurityClassifier)


def test_shifted_copies_move_every_pixel_by_one():
    from gmvae.purity import SHIFTS, with_shifts

    img = np.zeros((1, 28, 28), np.float32)
    img[0, 10, 12] = 1.0
    img[0, 0, 0] = 0.5                   # moved out of the frame by some shifts
    x, y = with_shifts(img.reshape(1, 784), np.array([7]))
    assert x.shape == (1 + len(SHIFTS), 784) and list(y) == [7] * 5
    moved = x.reshape(-1, 28, 28)
    for (dy, dx), m in zip(SHIFTS, moved[1:]):
        assert m[10 + dy, 12 + dx] == 1.0
        assert m.sum() == 1.0 + (0.5 if (dy, dx) in ((1, 0), (0, 1)) else 0.0)


def test_classifier_fits_the_shifted_copies_and_says_so(classifier):
    assert classifier.n_fitted == 5 * classifier.n_train
    assert "one-pixel shifts" in classifier.kind
    assert classifier.describe()["n_fitted"] == 7500
