"""GMVAE learning: the bound rises, checkpoints resume, bad input, distribution."""
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from common.data import binarize_fixed
from gmvae.config import GMVAEConfig
from gmvae.evaluation import lower_bound_per_image
from gmvae.learning import Trainer, fit

TINY = dict(n_clusters=3, latent_dim=4, enc_hidden=(32,), dec_hidden=(32,),
            batch_size=20, steps_per_call=3, verbose=False, is_samples=5)


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    # Three "digit" prototypes plus noise: enough structure to learn fast.
    protos = rng.random((3, 784)) ** 3
    y = rng.integers(0, 3, 60)
    x = np.clip(protos[y] + rng.normal(0, 0.05, (60, 784)), 0, 1).astype(np.float32)
    return x[:40], y[:40], x[40:], y[40:]


@pytest.mark.rubric("P3.R3")
def test_a_few_steps_raise_the_bound(data):
    x_tr = data[0][:20]
    cfg = GMVAEConfig(epochs=1, **TINY)
    trainer = Trainer(cfg, x_tr)
    x_bin = binarize_fixed(x_tr, seed=0)
    before = lower_bound_per_image(trainer.model, x_bin, n_particles=20).mean()
    for epoch in range(15):
        trainer.run_epoch(epoch)
    after = lower_bound_per_image(trainer.model, x_bin, n_particles=20).mean()
    assert np.isfinite(before) and after > before + 20.0


@pytest.mark.rubric("P3.Bonus.3", "P3.Bonus.4")
def test_regularisers_and_semi_supervised_train(data):
    x_tr, y_tr, x_te, y_te = data
    cfg = GMVAEConfig(epochs=2, pretrain_epochs=1, pull_weight=1., balance_weight=1.,
                      entropy_weight=1., augment_weight=1., labels_per_class=2,
                      labelled_batch_size=4, pi_fixed_epochs=1, learning_rate=1e-3,
                      final_learning_rate=1e-4, **TINY)
    r = fit(cfg, x_tr, y_tr, x_te, y_te)
    # The schedule reached its end value in the optimiser that the step reads.
    np.testing.assert_allclose(float(r.trainer.optimizer.learning_rate), 1e-4, rtol=1e-6)
    assert len(r.history["train_lower_bound"]) == 2
    assert np.all(np.isfinite([v for _, v in r.history["train_lower_bound"]]))
    assert "after_pretrain" in r.extra and len(r.extra["labelled_indices"]) == 6


@pytest.mark.rubric("P3.Bonus.4")
def test_prior_em_phase_switches_regularisers_off_and_refits_the_prior(data):
    x_tr, y_tr, x_te, y_te = data
    cfg = GMVAEConfig(epochs=3, prior_em_epochs=2, balance_weight=5., entropy_weight=5.,
                      augment_weight=5., prior_em_draws=2, **TINY)
    assert [cfg.prior_em_at(e) for e in range(3)] == [False, True, True]
    r = fit(cfg, x_tr, y_tr, x_te, y_te)
    gains = r.history["prior_m_step_gain"]
    # One M-step after each epoch of the phase; EM never lowers the prior term.
    assert [e for e, _ in gains] == [2, 3]
    assert all(g >= -1e-6 for _, g in gains)
    assert float(r.trainer.regularizer_scale.numpy()) == 0.0
    # The prior is EM's fit: re-running EM from it barely moves the prior term.
    from gmvae.prior_em import prior_m_step
    again = prior_m_step(r.model, x_tr, n_draws=2, iterations=1, seed=3)
    assert again["log_prior_after"] - again["log_prior_before"] < max(
        1.0, gains[0][1])
    # Restarts are ranked with the regularisers on; the phase's switch is restored.
    assert np.isfinite(r.trainer.training_objective(seed=0))
    assert float(r.trainer.regularizer_scale.numpy()) == 0.0


def test_pi_stays_uniform_while_fixed(data):
    cfg = GMVAEConfig(epochs=1, pi_fixed_epochs=1, **TINY)
    r = fit(cfg, data[0])
    np.testing.assert_allclose(r.model.pi(), np.full(3, 1 / 3), atol=1e-6)


@pytest.mark.rubric("P3.R3")
def test_checkpoint_resume_continues_from_same_step_and_state(data, tmp_path):
    x_tr, y_tr, x_te, y_te = data
    cfg = GMVAEConfig(epochs=1, **TINY)
    r1 = fit(cfg, x_tr, y_tr, x_te, y_te, out_dir=tmp_path)
    saved = [v.numpy() for v in r1.trainer.variables]
    saved_m = [m.numpy() for m in r1.trainer.optimizer.m]
    # Resuming with the same number of epochs restores and trains nothing more.
    r2 = fit(cfg, x_tr, y_tr, x_te, y_te, out_dir=tmp_path, resume=True)
    assert r2.start_epoch == 1
    for a, b in zip(saved, r2.trainer.variables):
        np.testing.assert_array_equal(a, b.numpy())
    for a, b in zip(saved_m, r2.trainer.optimizer.m):
        np.testing.assert_array_equal(a, b.numpy())
    assert float(r2.trainer.optimizer.iterations) == float(r1.trainer.optimizer.iterations)
    # Training longer continues the step count and the curves.
    r3 = fit(cfg.replace(epochs=2), x_tr, y_tr, x_te, y_te, out_dir=tmp_path, resume=True)
    assert r3.start_epoch == 1
    assert [e for e, _ in r3.history["train_lower_bound"]] == [1, 2]
    assert float(r3.trainer.optimizer.iterations) == 2 * (40 // 20)
    # A different model configuration refuses to resume.
    with pytest.raises(ValueError, match="latent_dim"):
        fit(cfg.replace(latent_dim=5), x_tr, y_tr, x_te, y_te, out_dir=tmp_path,
            resume=True)


def test_a_stored_config_without_newer_fields_still_resumes(data, tmp_path):
    """Runs stored before a field was added (its default = the old behaviour)
    resume; the same field set to another value is refused."""
    x_tr, y_tr, x_te, y_te = data
    cfg = GMVAEConfig(epochs=1, **TINY)
    fit(cfg, x_tr, y_tr, x_te, y_te, out_dir=tmp_path)
    stored_path = tmp_path / "checkpoints" / "config.json"
    stored = json.loads(stored_path.read_text())
    for name in GMVAEConfig.added_defaults():
        del stored[name]
    stored_path.write_text(json.dumps(stored))
    cfg.check_resumable(tmp_path)
    assert fit(cfg, x_tr, y_tr, x_te, y_te, out_dir=tmp_path, resume=True).start_epoch == 1
    with pytest.raises(ValueError, match="labelled_augment"):
        cfg.replace(labelled_augment=True).check_resumable(tmp_path)


def _labelled_step_cost(data, **fields):
    """The training cost of one fixed batch under a semi-supervised config."""
    import tensorflow as tf

    x_tr, y_tr = data[0], data[1]
    cfg = GMVAEConfig(epochs=1, labels_per_class=2, labelled_weight=3., **TINY, **fields)
    labelled = (x_tr[:6], np.repeat(np.arange(3), 2))
    tr = Trainer(cfg, x_tr, labelled)
    x = tf.constant(binarize_fixed(x_tr[:20], seed=0))
    seed = tf.constant([4, 2], tf.int64)
    costs = {}
    for phase, scale in {"regularised": 1., "em": 0.}.items():
        tr.regularizer_scale.assign(scale)
        tr.generator.reset_from_seed(0)
        with __import__("common").zs.random_source(tr.generator):
            costs[phase] = float(tr.gmvae_loss(x, seed, tf.range(20, dtype=tf.int64))[0])
    return costs


@pytest.mark.rubric("P3.Bonus.3")
def test_labelled_augmentation_changes_only_the_labelled_term(data):
    plain = _labelled_step_cost(data)
    augmented = _labelled_step_cost(data, labelled_augment=True)
    # Distorted labelled images give another labelled cost ...
    assert abs(plain["regularised"] - augmented["regularised"]) > 1e-3
    # ... and nothing else: with the labelled term off the costs agree.
    assert plain["em"] == pytest.approx(augmented["em"], rel=1e-6)


@pytest.mark.parametrize("name", ["labelled_augment", "deterministic"])
def test_flag_fields_must_be_booleans(name):
    with pytest.raises(ValueError, match=name):
        GMVAEConfig(**{name: 1})


@pytest.mark.rubric("P3.Bonus.4")
def test_restarts_keep_the_lowest_training_objective(data, tmp_path):
    x_tr, y_tr, x_te, y_te = data
    cfg = GMVAEConfig(epochs=2, n_init=3, balance_weight=1., **TINY)
    r = fit(cfg, x_tr, y_tr, x_te, y_te, out_dir=tmp_path)
    recs = r.extra["restarts"]
    assert [rec["seed"] for rec in recs] == [0, 10007, 20014]    # restart 0 = the seed
    objectives = [rec["training_objective"] for rec in recs]
    assert len(set(objectives)) == 3                             # different restarts
    assert r.extra["chosen_restart"] == int(np.argmin(objectives))
    # The kept model is the chosen restart's: its objective is recomputed the
    # same up to the Monte Carlo noise of h ~ q(h|x) (one draw per image).
    chosen = recs[r.extra["chosen_restart"]]
    np.testing.assert_allclose(r.trainer.training_objective(seed=0),
                               chosen["training_objective"], rtol=0.02)
    assert r.trainer.config.seed == chosen["seed"]
    # Saved where the single-run layout expects it, and each restart on its own.
    assert (tmp_path / "checkpoints" / "config.json").is_file()
    assert json.loads((tmp_path / "checkpoints" / "config.json").read_text())["n_init"] == 3
    for k in range(3):
        assert (tmp_path / "restarts" / f"init{k}" / "checkpoints").is_dir()
    # Resuming reuses the finished restarts: same objectives, nothing retrained.
    again = fit(cfg, x_tr, y_tr, x_te, y_te, out_dir=tmp_path, resume=True)
    np.testing.assert_allclose([rec["training_objective"] for rec in again.extra["restarts"]],
                               objectives, rtol=0.02)
    assert again.start_epoch == 2


@pytest.mark.parametrize("kind", ["range", "size", "labels", "test_labels"])
def test_bad_inputs_raise_before_training(data, kind):
    x_tr, y_tr, x_te, y_te = data
    cfg = GMVAEConfig(epochs=1, **TINY)
    args = dict(x_train=x_tr, y_train=y_tr, x_test=x_te, y_test=y_te)
    if kind == "range":
        args["x_train"] = x_tr * 2.0
        match = r"\[0, 1\]"
    elif kind == "size":
        args["x_train"] = x_tr[:, :700]
        match = "784"
    elif kind == "labels":
        args["y_train"] = y_tr[:-1]
        match = "y_train"
    else:
        args["y_test"] = y_te[:3]
        match = "y_test"
    with pytest.raises(ValueError, match=match):
        fit(cfg, **args)


@pytest.mark.rubric("P3.Bonus.3")
def test_semi_supervised_needs_labels(data):
    cfg = GMVAEConfig(epochs=1, labels_per_class=2, **TINY)
    with pytest.raises(ValueError, match="y_train"):
        fit(cfg, data[0])


MIRRORED = textwrap.dedent("""
    import json, numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from gmvae.config import GMVAEConfig
    from gmvae.learning import Trainer
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    cfg = GMVAEConfig(n_clusters=3, latent_dim=4, enc_hidden=(16,), dec_hidden=(16,),
                      batch_size=10, steps_per_call=2, verbose=False,
                      strategy="mirrored", balance_weight=1.0)
    x = np.random.default_rng(0).random((30, 784)).astype(np.float32)
    tr = Trainer(cfg, x, strategy=strategy)
    before = [v.values[0].numpy() for v in tr.variables]
    lb, _ = tr.run_epoch(0)
    # Replicas hold identical copies after the all-reduced updates.
    same = all(np.array_equal(v.values[0].numpy(), v.values[1].numpy())
               for v in tr.variables)
    moved = any(not np.allclose(b, v.values[0].numpy())
                for b, v in zip(before, tr.variables))
    print(json.dumps({"replicas": strategy.num_replicas_in_sync, "bound": lb,
                      "same": same, "moved": moved,
                      "iterations": float(tr.optimizer.iterations.values[0].numpy())}))
""")


@pytest.mark.rubric("P3.R3")
def test_a_few_steps_under_mirrored_strategy_on_cpu():
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    out = subprocess.run([sys.executable, "-c", MIRRORED], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert res["replicas"] == 2 and res["same"] and res["moved"]
    assert np.isfinite(res["bound"]) and res["iterations"] == 3.0


def test_curves_follow_a_fixed_subset_of_a_large_test_set(data):
    """With more held-out images than monitor_images, the per-epoch curves use
    a seeded subset of that size (the final evaluation, in gmvae.run, all)."""
    x_tr, y_tr, x_te, y_te = data
    cfg = GMVAEConfig(epochs=1, monitor_images=10, **TINY)
    res = fit(cfg, x_tr, y_tr, x_te, y_te)
    assert res.extra["monitor_images"] == 10
    acc = res.history["test_accuracy"][-1][1]
    assert acc * 10 == pytest.approx(round(acc * 10))   # a share of 10 images
    full = fit(cfg.replace(monitor_images=1000), x_tr, y_tr, x_te, y_te)
    assert "monitor_images" not in full.extra


@pytest.mark.rubric("P3.R4")
def test_generative_consistency_term_is_what_training_lowers(data):
    """Trained with the generative-consistency term, the components' decoded
    draws are claimed by their own component more often than after the same
    training without it (same seed, same steps), and the term stays on in the
    prior-EM phase (the cost of one batch changes with it there too)."""
    import tensorflow as tf

    from gmvae.regularizers import generative_consistency
    x_tr = data[0]
    seed = tf.constant([5, 1], tf.int64)
    scores, extra = {}, {}
    for weight in (0., 20.):
        cfg = GMVAEConfig(epochs=1, generative_weight=weight, generative_per_cluster=5,
                          **TINY)
        tr = Trainer(cfg, x_tr)
        for epoch in range(12):
            tr.run_epoch(epoch)
        scores[weight] = float(generative_consistency(tr.model, 50, seed))
        # In the prior-EM phase (regularisers off) the cost is -bound plus
        # the term alone: on with its weight, absent without it.
        tr.regularizer_scale.assign(0.)
        x = tf.constant(binarize_fixed(x_tr[:20], seed=0))
        with __import__("common").zs.random_source(tr.generator):
            cost, bound = tr.gmvae_loss(x, seed, tf.range(20, dtype=tf.int64))
        extra[weight] = float(cost) + float(bound)
    assert scores[20.] < 0.5 * scores[0.], scores
    assert abs(extra[0.]) < 1e-3 and extra[20.] > 1e-3, extra
