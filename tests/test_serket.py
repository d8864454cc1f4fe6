"""Tests of the Serket-style VAE + GMM (gmvae.serket)."""
import json

import numpy as np
import pytest

from common.metrics import cluster_accuracy
from gmvae.serket import bayes_gmm
from gmvae.serket import gmm, serket as srk, vae
from gmvae.serket.tutorial import mnist_subset

LATENT = 18


@pytest.fixture(autouse=True)
def fresh_numbering():
    """Each test builds its model from module 000, in the current directory."""
    srk.reset()
    yield
    srk.reset()


@pytest.fixture(scope="module")
def small_mnist():
    return mnist_subset(200, seed=0)


def _separated_latents(n_per=100, k=10, d=LATENT, seed=0):
    rng = np.random.default_rng(seed)
    means = 12.0 * rng.standard_normal((k, d))
    y = np.repeat(np.arange(k), n_per)
    x = means[y] + rng.standard_normal((y.size, d))
    perm = rng.permutation(y.size)
    return x[perm], y[perm]


# ----------------------------------------------------------------------------- the tutorial
def test_tutorial_snippet_runs_and_writes_documented_files(tmp_path, monkeypatch, small_mnist):
    images, labels = small_mnist
    np.savetxt(tmp_path / "data.txt", images, fmt="%.4f")
    np.savetxt(tmp_path / "category.txt", labels, fmt="%d")
    monkeypatch.chdir(tmp_path)

    # The tutorial as written (only the import lines differ), with fewer
    # passes over the data (itr) to keep the test fast.
    obs = srk.Observation(np.loadtxt("data.txt"))
    data_category = np.loadtxt("category.txt")
    vae1 = vae.VAE(18, itr=20, batch_size=500)
    gmm1 = gmm.GMM(10, category=data_category)
    vae1.connect(obs)
    gmm1.connect(vae1)
    for i in range(5):
        vae1.update()
        gmm1.update()

    n = images.shape[0]
    vdir, gdir = tmp_path / "module001_vae", tmp_path / "module002_gmm"
    assert obs.get_name() == "module000_obs"
    for name in ["z_learn.txt", "x_hat_learn.txt", "loss.txt", "loss.png", "config.json",
                 "model.ckpt.index", "history.json"]:
        assert (vdir / name).is_file(), name
    for name in ["class_learn.txt", "acc_learn.txt", "Pdz_learn.txt", "mu_learn.txt",
                 "means_learn.txt", "model.pickle", "metrics_learn.json", "history.json"]:
        assert (gdir / name).is_file(), name

    z = np.loadtxt(vdir / "z_learn.txt")
    assert z.shape == (n, LATENT)
    np.testing.assert_allclose(z, vae1.get_forward_msg(), atol=1e-5)
    assert np.loadtxt(vdir / "x_hat_learn.txt").shape == (n, 784)
    loss = np.loadtxt(vdir / "loss.txt")
    assert loss.shape == (5 * 20, 3)
    assert loss[-1, 2] < loss[0, 2]          # training reduced the loss
    pdz = np.loadtxt(gdir / "Pdz_learn.txt")
    assert pdz.shape == (n, 10)
    np.testing.assert_allclose(pdz.sum(axis=1), 1.0, atol=1e-4)
    # class_learn.txt holds classes renamed to matched labels: its agreement
    # with the labels is the accuracy written to acc_learn.txt.
    shown = np.loadtxt(gdir / "class_learn.txt")
    acc = float(np.loadtxt(gdir / "acc_learn.txt"))
    assert acc == pytest.approx(np.mean(shown == labels), abs=1e-6)
    assert acc == pytest.approx(cluster_accuracy(labels, gmm1.classes), abs=1e-6)
    assert len(json.loads((gdir / "history.json").read_text())) == 5

    # Recognition mode on the same images reproduces the learned latents and classes.
    obs2 = srk.Observation(images[:50])
    vae2 = vae.VAE(18, mode="recog", load_dir="module001_vae")
    gmm2 = gmm.GMM(10, mode="recog", load_dir="module002_gmm", category=labels[:50])
    vae2.connect(obs2)
    gmm2.connect(vae2)
    vae2.update()
    gmm2.update()
    assert (tmp_path / vae2.get_name() / "z_recog.txt").is_file()
    assert (tmp_path / gmm2.get_name() / "class_recog.txt").is_file()
    assert (tmp_path / gmm2.get_name() / "acc_recog.txt").is_file()
    np.testing.assert_allclose(vae2.get_forward_msg(), z[:50], atol=1e-3)
    np.testing.assert_array_equal(gmm2.classes, gmm1.classes[:50])


# ----------------------------------------------------------------------------- GMM
def test_gmm_messages_have_documented_shapes(tmp_path):
    x, y = _separated_latents(n_per=30, k=4, d=5)
    srk.reset(tmp_path)
    obs = srk.Observation(x)
    g = gmm.GMM(4, category=y, seed=0)
    g.connect(obs)
    g.update()
    pdz = g.get_forward_msg()
    mu = obs.get_backward_msg()
    assert pdz.shape == (120, 4) and mu.shape == (120, 5)
    np.testing.assert_allclose(pdz.sum(axis=1), 1.0, atol=1e-10)
    assert np.all(pdz >= 0)
    # "hard" message: each point gets the posterior mean of its most probable class.
    np.testing.assert_allclose(mu, g.posterior.m[pdz.argmax(axis=1)])
    np.testing.assert_allclose(np.loadtxt(g.save_dir / "means_learn.txt"), g.posterior.m,
                               atol=1e-5)


def test_gmm_alone_finds_well_separated_clusters(tmp_path):
    x, y = _separated_latents()
    srk.reset(tmp_path)
    obs = srk.Observation(x)
    g = gmm.GMM(10, category=y, seed=0)
    g.connect(obs)
    g.update()
    assert cluster_accuracy(y, g.classes) >= 0.99
    assert g.last_metrics["accuracy"] >= 0.99


def test_gmm_later_updates_refine_the_last_partition(tmp_path):
    """After the first update the GMM starts from its last responsibilities only
    (no fresh starts by default): classes keep their ids, the fit does not get
    worse by its own bound, and fresh starts can be asked for."""
    x, y = _separated_latents(n_per=40, k=5, d=4, seed=3)
    srk.reset(tmp_path)
    obs = srk.Observation(x)
    g = gmm.GMM(5, seed=0)
    assert g.config.n_restarts_update == 0
    g.connect(obs)
    g.update()
    first, elbo1 = g.classes.copy(), g.last_metrics["elbo_per_point"]
    g.update()
    np.testing.assert_array_equal(g.classes, first)       # same ids, not just relabelled
    assert g.last_metrics["elbo_per_point"] >= elbo1 - 1e-6
    with pytest.raises(ValueError, match="screen_iter"):
        gmm.GMM(5, screen_iter=0)


def test_gmm_follows_a_prior_over_classes_from_above(tmp_path):
    """A confident per-point prior (backward message) decides ambiguous points."""
    rng = np.random.default_rng(1)
    x = rng.standard_normal((200, 2))         # one blob: the data alone cannot split it
    srk.reset(tmp_path)
    obs = srk.Observation(x)
    g = gmm.GMM(2, seed=0, n_restarts=2)
    g.connect(obs)
    target = (x[:, 0] > 0).astype(int)
    prior = np.full((200, 2), 0.001)
    prior[np.arange(200), target] = 0.999
    g.set_backward_msg(prior)
    g.update()
    assert cluster_accuracy(target, g.classes) >= 0.95


def test_vb_elbo_never_decreases():
    x, _ = _separated_latents(n_per=50, k=3, d=3, seed=2)
    cfg = bayes_gmm.VBGMMConfig()
    prior = bayes_gmm._prior(x, cfg)
    r = bayes_gmm.kmeanspp_responsibilities(x, 5, np.random.default_rng(0), n_lloyd=0)[None]
    xx = bayes_gmm._outer(x)
    post = bayes_gmm._m_step(x, xx, r, *prior, cfg.reg)
    elbos = []
    for _ in range(20):
        r, log_rho, e_pi, e_lam = bayes_gmm._e_step(x, xx, post, None)
        elbos.append(bayes_gmm._elbo(x, r, log_rho, post, prior, e_pi, e_lam)[0])
        post = bayes_gmm._m_step(x, xx, r, *prior, cfg.reg)
    assert np.all(np.diff(elbos) >= -1e-6 * np.abs(elbos[:-1]))


def _vb_starts(seed, n_starts, max_iter, start_seed):
    """Four separated 3-D classes and ``n_starts`` k-means++ starts:
    (x, packed outer products, prior, config, starts [S, N, 4])."""
    x, _ = _separated_latents(n_per=40, k=4, d=3, seed=seed)
    cfg = bayes_gmm.VBGMMConfig(tol=1e-6, max_iter=max_iter)
    rng = np.random.default_rng(start_seed)
    starts = np.stack([bayes_gmm.kmeanspp_responsibilities(x, 4, rng, n_lloyd=0)
                       for _ in range(n_starts)])
    return x, bayes_gmm._outer(x), bayes_gmm._prior(x, cfg), cfg, starts


def test_vb_restarts_side_by_side_match_one_at_a_time():
    """The restarts are swept as one batch; each must follow the same path
    (and stop at the same sweep) as when it is run alone."""
    x, xx, prior, cfg, starts = _vb_starts(seed=3, n_starts=3, max_iter=60, start_seed=0)
    both = bayes_gmm._iterate(x, xx, bayes_gmm._m_step(x, xx, starts, *prior, cfg.reg),
                              prior, cfg, None, 60)
    for i in range(3):
        one = bayes_gmm._iterate(x, xx, bayes_gmm._m_step(x, xx, starts[i:i + 1], *prior,
                                                          cfg.reg), prior, cfg, None, 60)
        np.testing.assert_allclose(both[2][i], one[2][0], rtol=1e-10)
        np.testing.assert_allclose(both[1][i], one[1][0], atol=1e-8)
        assert both[3][i] == one[3][0]


def test_vb_packed_second_moments_are_the_full_ones():
    """The sweeps use the upper triangles of x x^T; unpacked they must be the
    full outer products, and the packed quadratic form x^T W x exact."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((7, 5))
    full = x[:, :, None] * x[:, None, :]
    np.testing.assert_allclose(bayes_gmm._unpack(bayes_gmm._outer(x), 5), full, rtol=1e-12)
    a = rng.standard_normal((3, 5, 5))
    w = a @ np.swapaxes(a, -1, -2)
    quad = bayes_gmm._outer(x) @ bayes_gmm._pack_quadratic(w).T            # [7, 3]
    np.testing.assert_allclose(quad, np.einsum("ni,kij,nj->nk", x, w, x), rtol=1e-10)


def test_vb_restarts_split_between_threads_match_one_sweep():
    """Splitting the restarts between cores must not change any fit."""
    x, xx, prior, cfg, starts = _vb_starts(seed=5, n_starts=9, max_iter=40, start_seed=1)
    post = bayes_gmm._m_step(x, xx, starts, *prior, cfg.reg)
    one = bayes_gmm._iterate(x, xx, post, prior, cfg, None, 40)
    split = bayes_gmm._iterate_threads(x, xx, post, prior, cfg, None, 40)
    np.testing.assert_allclose(split[2], one[2], rtol=1e-10)
    np.testing.assert_allclose(split[1], one[1], atol=1e-8)
    np.testing.assert_array_equal(split[3], one[3])
    for a, b in zip(split[0], one[0]):
        np.testing.assert_allclose(a, b, rtol=1e-8, atol=1e-10)


# ----------------------------------------------------------------------------- VAE
def test_vae_round_pulls_latents_towards_class_means(tmp_path, small_mnist):
    images, labels = small_mnist
    srk.reset(tmp_path)
    obs = srk.Observation(images)
    v = vae.VAE(LATENT, itr=20, batch_size=100, seed=0)
    v.connect(obs)
    v.update()
    z0 = v.get_forward_msg()
    # Targets: the true-class means of the current latents, spread apart.
    means = np.stack([z0[labels == c].mean(axis=0) for c in range(10)])
    target = 3.0 * means[labels]
    before = np.linalg.norm(z0 - target, axis=1).mean()
    v.set_backward_msg(target)
    v.update()
    after = np.linalg.norm(v.get_forward_msg() - target, axis=1).mean()
    assert after < 0.7 * before


def test_vae_step_size_decays_over_an_update_when_asked(tmp_path, small_mnist):
    """final_learning_rate: the step size falls geometrically from one call of
    passes to the next and ends each update at the final value; by default it
    stays where it was set."""
    images, _ = small_mnist
    lrs = {}
    for final in (None, 1e-3):
        srk.reset(tmp_path / str(final))
        v = vae.VAE(LATENT, itr=2 * vae.PASSES_PER_CALL, batch_size=100, seed=0,
                    final_learning_rate=final)
        v.connect(srk.Observation(images))
        v.update()
        lrs[final] = float(v._optimizer.learning_rate.numpy())
    assert lrs[None] == pytest.approx(3e-3) and lrs[1e-3] == pytest.approx(1e-3)
    with pytest.raises(ValueError, match="final_learning_rate"):
        vae.VAE(LATENT, itr=1, final_learning_rate=0.0)


def test_vae_numbers_do_not_depend_on_what_ran_before(tmp_path, small_mnist):
    """Same seed, same numbers, also after other models ran in the process
    (the benchmark runs its seeds one after another)."""
    images, _ = small_mnist

    def latents(seed, root):
        srk.reset(root)
        v = vae.VAE(LATENT, itr=3, batch_size=100, seed=seed, send="sample")
        v.connect(srk.Observation(images))
        v.update()
        return np.array(v.get_forward_msg())

    first = latents(0, tmp_path / "a")
    other = latents(1, tmp_path / "b")
    again = latents(0, tmp_path / "c")
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


def test_vae_objective_is_serket_bound():
    """alpha * ELBO of the tempered model == E_q log p(o|z) - alpha KL, checked
    against the analytic KL with the same posterior sample."""
    import tensorflow as tf
    from gmvae.serket import vae_model as vm

    tf.random.set_seed(0)
    nets = vm.VAENets(vm.VAENetConfig(x_dim=6, z_dim=3, hidden_encoder_dim=4,
                                      hidden_decoder_dim=4))
    o = tf.constant(np.random.default_rng(0).uniform(size=(5, 6)), tf.float32)
    mu = tf.constant(np.random.default_rng(1).normal(size=(5, 3)), tf.float32)
    alpha = 2.5
    # Average many particles so the Monte Carlo KL is close to the analytic one.
    bound = vm.serket_bound(nets, o, mu, alpha=alpha, n_particles=4000).numpy()
    q = vm.variational_net(nets, o, n_particles=4000).observe()
    z = q.outputs("z")
    qz = q["z"].distribution
    log_po = vm.generative_net(nets, mu, 4000).observe(o=o, z=z).cond_log_prob("o")
    kl = tf.reduce_sum(-qz.logstd + 0.5 * (tf.exp(2 * qz.logstd) + (qz.mean - mu) ** 2) - 0.5,
                       axis=-1)
    expected = (tf.reduce_mean(log_po, 0) - alpha * kl).numpy()
    np.testing.assert_allclose(bound, expected, rtol=0.05, atol=0.3)


# ----------------------------------------------------------------------------- bad input
def test_update_before_connect_is_a_clear_error():
    v = vae.VAE(LATENT, itr=1)
    with pytest.raises(srk.NotConnectedError, match="connect"):
        v.update()
    g = gmm.GMM(3)
    with pytest.raises(srk.NotConnectedError, match="connect"):
        g.update()
    with pytest.raises(ValueError, match="at least one module"):
        g.connect()


def test_gmm_before_its_input_has_sent_anything():
    obs = srk.Observation(np.random.default_rng(0).uniform(size=(20, 4)))
    v = vae.VAE(2, itr=1)
    g = gmm.GMM(2)
    v.connect(obs)
    g.connect(v)
    with pytest.raises(srk.NotConnectedError, match="update"):
        g.update()


def test_ragged_data_rows_are_rejected():
    with pytest.raises(ValueError, match="same length"):
        srk.Observation([[0.1, 0.2, 0.3], [0.4, 0.5]])
    with pytest.raises(ValueError, match="finite"):
        srk.Observation(np.array([[0.1, np.nan]]))


def test_labels_of_wrong_length_are_rejected():
    obs = srk.Observation(np.random.default_rng(0).uniform(size=(20, 4)))
    v = vae.VAE(2, itr=1)
    v.connect(obs)
    g = gmm.GMM(2, category=np.zeros(19))
    with pytest.raises(ValueError, match="19 labels"):
        g.connect(v)


@pytest.mark.parametrize("k", [0, -1, 2.5])
def test_k_below_one_is_rejected(k):
    with pytest.raises(ValueError, match="K"):
        gmm.GMM(k)


def test_bad_prior_message_is_rejected(tmp_path):
    srk.reset(tmp_path)
    obs = srk.Observation(np.random.default_rng(0).normal(size=(30, 2)))
    g = gmm.GMM(2)
    g.connect(obs)
    g.set_backward_msg(np.full((30, 2), 0.3))
    with pytest.raises(ValueError, match="sum to one"):
        g.update()


def test_module_numbering_follows_creation_order(tmp_path):
    srk.reset(tmp_path)
    obs = srk.Observation(np.zeros((3, 2)))
    v = vae.VAE(2, itr=1)
    g = gmm.GMM(2)
    assert [m.get_name() for m in (obs, v, g)] == ["module000_obs", "module001_vae",
                                                    "module002_gmm"]
    assert v.save_dir == tmp_path / "module001_vae"


# ----------------------------------------------------------------------------- CLI and benchmark
def test_cli_runs_the_tutorial_on_given_files(tmp_path, small_mnist, capsys):
    from scripts.serket_vae_gmm import main

    images, labels = small_mnist
    np.savetxt(tmp_path / "data.txt", images[:120], fmt="%.3f")
    np.savetxt(tmp_path / "category.txt", labels[:120], fmt="%d")
    out = tmp_path / "out"
    assert main(["--data", str(tmp_path / "data.txt"), "--category",
                 str(tmp_path / "category.txt"), "--out", str(out), "--itr", "2",
                 "--rounds", "2", "--k", "3", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "round 1: accuracy" in printed and "round 2: accuracy" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert [r["round"] for r in metrics["rounds"]] == [0, 1]
    assert (out / "module002_gmm" / "acc_learn.txt").is_file()


def test_benchmark_writes_json_and_figures(tmp_path):
    from gmvae.serket.benchmark import run_benchmark
    from gmvae.serket.tutorial import TutorialConfig

    res = run_benchmark(tmp_path, seeds=(0,), n_images=100,
                        config=TutorialConfig(itr=2, n_rounds=2, k=3), verbose=False)
    saved = json.loads((tmp_path / "metrics.json").read_text())
    assert saved["median"]["final_accuracy"] == pytest.approx(res["median"]["final_accuracy"])
    run = saved["runs"][0]
    assert len(run["rounds"]) == 2
    assert {"accuracy", "nmi", "seconds", "vae_seconds", "gmm_seconds"} <= set(run["rounds"][0])
    assert 0.0 <= run["final_accuracy"] <= 1.0
    assert (tmp_path / "accuracy_per_round.png").is_file()
    assert (tmp_path / "pca_z_seed0.png").is_file()
    assert set(saved["targets"]) == {"max_seconds", "min_accuracy", "min_worst_accuracy",
                                     "time_met", "accuracy_met", "worst_met"}
    assert saved["spread"]["worst_seed"] == 0
    assert saved["spread"]["worst_accuracy"] == pytest.approx(run["final_accuracy"])
    assert saved["spread"]["range"] == 0.0


def test_mnist_subset_draws_from_the_training_part_of_an_official_split(tmp_path):
    """A full MNIST given to the Serket jobs goes through the one loader; its
    test images are never among the images the tutorial fits."""
    from common.data import load_mnist_split
    from common.data.tiling import write_idx_mnist
    from gmvae.serket.config import mnist_subset

    s = load_mnist_split(None, seed=0)
    write_idx_mnist(tmp_path, s.x_train[:300], s.y_train[:300], s.x_test[:50],
                    s.y_test[:50])
    x, y = mnist_subset(200, seed=1, path=tmp_path)
    assert x.shape == (200, 784) and np.bincount(y, minlength=10).min() >= 20
    train = {bytes(np.rint(r * 255).astype(np.uint8)) for r in s.x_train[:300]}
    assert all(bytes(np.rint(r * 255).astype(np.uint8)) in train for r in x)


def test_savetxt_fixed_writes_what_np_savetxt_writes(tmp_path):
    rng = np.random.default_rng(0)
    cases = [(rng.random((30, 7)).astype(np.float32), 4), (rng.standard_normal((20, 5)) * 30, 6),
             (np.array([[-1e-7, 0.0, 1.0, -12.5, 99.99996]]), 4), (np.arange(5.0), 0),
             (rng.standard_normal((4, 3)) * 1e6, 2), (np.array([[np.nan, 1.0]]), 3)]
    # Rows are formatted in blocks: a block size that does not divide the rows,
    # with the extremes (which fix the field widths) in different blocks.
    cases.append((np.array([[0.5], [-3.25], [120.0], [0.0], [7.0]]), 2))
    for arr, d in cases:
        np.savetxt(tmp_path / "b.txt", arr, fmt=f"%.{d}f")
        for block_rows in (256, 3):
            srk.savetxt_fixed(tmp_path / "a.txt", arr, d, block_rows=block_rows)
            assert (tmp_path / "a.txt").read_text() == (tmp_path / "b.txt").read_text()
