"""Tests for common.training: JSON, checkpoints, scalar logging, seeding, timing."""
import dataclasses
import json
import os
import random
import time

import numpy as np
import pytest
import tensorflow as tf

from common.data import default_gmm_params
from common.training import (CheckpointHelper, ConfigMismatchError, ScalarLogger, Timer,
                             ensure_outdir, format_scalars, progress, read_json, set_seed,
                             to_jsonable, write_json)


@dataclasses.dataclass
class _Cfg:
    k: int
    lr: float


def test_write_json_round_trip_with_numpy_types(tmp_path):
    obj = {"a": np.float32(1.5), "b": np.int64(3), "c": np.arange(4).reshape(2, 2),
           "d": (1, 2), "e": _Cfg(k=np.int32(3), lr=0.1), "f": default_gmm_params(),
           "g": tf.constant([1.0, 2.0]), "h": np.bool_(True), "p": tmp_path}
    path = write_json(tmp_path / "sub" / "m.json", obj)
    back = read_json(path)
    assert back == {"a": 1.5, "b": 3, "c": [[0, 1], [2, 3]], "d": [1, 2],
                    "e": {"k": 3, "lr": 0.1}, "f": default_gmm_params().to_dict(),
                    "g": [1.0, 2.0], "h": True, "p": str(tmp_path)}
    assert list(back) == list(obj)  # key order kept (sort_keys=False)
    assert path.read_text().startswith("{\n  ")  # indent 2
    assert [p.name for p in path.parent.iterdir()] == ["m.json"]  # no temp left over


def test_write_json_failure_keeps_old_file(tmp_path):
    path = tmp_path / "m.json"
    write_json(path, {"ok": 1})
    with pytest.raises(ValueError, match=r"obj\['bad'\]: cannot convert object"):
        write_json(path, {"bad": object()})
    assert read_json(path) == {"ok": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]


def test_read_json_missing_names_path(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothere.json"):
        read_json(tmp_path / "nothere.json")


def test_ensure_outdir(tmp_path):
    out = ensure_outdir(tmp_path / "a" / "b")
    assert out.is_dir()
    assert ensure_outdir(out) == out
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError, match="file"):
        ensure_outdir(tmp_path / "file")


def _helper(tmp_path, config, **extra):
    v = tf.Variable([1.0, 2.0])
    return CheckpointHelper(tmp_path / "ckpt", config, v=v, **extra), v


def test_checkpoint_save_and_restore(tmp_path):
    config = {"k": 3, "lr": 1e-3, "dims": (2, 4)}
    helper, v = _helper(tmp_path, config)
    assert helper.restore_or_initialize(resume=False) == 0
    path = helper.save(step=7)
    assert os.path.basename(path) == "ckpt-7"
    assert read_json(tmp_path / "ckpt" / "config.json") == {"k": 3, "lr": 1e-3, "dims": [2, 4]}
    v.assign([5.0, 6.0])
    helper.save(step=9)
    v.assign([-1.0, -1.0])

    # A new process: fresh objects, restore the newest checkpoint.
    helper2, v2 = _helper(tmp_path, dict(config))
    assert helper2.restore_or_initialize(resume=True) == 9
    np.testing.assert_array_equal(v2.numpy(), [5.0, 6.0])
    assert int(helper2.step.numpy()) == 9


def test_checkpoint_restores_keras_model_and_optimizer(tmp_path):
    def build():
        model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
        opt = tf.keras.optimizers.Adam(0.1)
        opt.build(model.trainable_variables)
        return model, opt

    model, opt = build()
    x = tf.ones((4, 3))
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(model(x) ** 2)
    opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables),
                            model.trainable_variables))
    helper = CheckpointHelper(tmp_path / "ck", {"a": 1}, model=model, optimizer=opt)
    helper.save(step=1)
    saved = [w.numpy() for w in model.weights]

    model2, opt2 = build()
    helper2 = CheckpointHelper(tmp_path / "ck", {"a": 1}, model=model2, optimizer=opt2)
    assert helper2.restore_or_initialize(resume=True) == 1
    for a, b in zip(saved, model2.weights):
        np.testing.assert_array_equal(a, b.numpy())
    assert int(opt2.iterations.numpy()) == 1


def test_checkpoint_resume_with_other_config_names_key(tmp_path):
    helper, _ = _helper(tmp_path, {"k": 3, "lr": 0.1, "seed": 0})
    helper.save(step=1)
    helper2, _ = _helper(tmp_path, {"k": 4, "lr": 0.1, "seed": 0})
    with pytest.raises(ConfigMismatchError, match=r"\['k'\].*stored=3, current=4"):
        helper2.restore_or_initialize(resume=True)
    assert issubclass(ConfigMismatchError, ValueError)
    helper3, _ = _helper(tmp_path, {"k": 3, "lr": 0.1})
    with pytest.raises(ConfigMismatchError, match=r"\['seed'\]"):
        helper3.restore_or_initialize(resume=True)


def test_checkpoint_resume_without_checkpoint_is_clear(tmp_path):
    helper, _ = _helper(tmp_path, {"k": 3})
    with pytest.raises(FileNotFoundError, match="no checkpoint exists"):
        helper.restore_or_initialize(resume=True)
    with pytest.raises(ValueError, match="'step' is reserved"):
        CheckpointHelper(tmp_path / "x", {}, step=tf.Variable(0))


def test_scalar_logger_history_and_events_file(tmp_path):
    logger = ScalarLogger(tmp_path / "tb")
    for step in range(3):
        logger.log(step, elbo=tf.constant(-10.0 + step), acc=np.float32(0.5))
    logger.close()
    assert logger.history["elbo"] == [(0, -10.0), (1, -9.0), (2, -8.0)]
    steps, values = logger.curves()["acc"]
    np.testing.assert_array_equal(steps, [0, 1, 2])
    events = list((tmp_path / "tb").glob("events.out.tfevents.*"))
    assert len(events) == 1 and events[0].stat().st_size > 0
    # The events file really holds the scalars.
    written = {}
    for raw in tf.data.TFRecordDataset(str(events[0])):
        event = tf.compat.v1.Event.FromString(raw.numpy())
        for v in event.summary.value:
            assert v.metadata.plugin_data.plugin_name == "scalars"
            written.setdefault(v.tag, []).append((event.step, float(tf.make_ndarray(v.tensor))))
    assert written["elbo"] == [(0, -10.0), (1, -9.0), (2, -8.0)]
    assert written["acc"] == [(0, 0.5), (1, 0.5), (2, 0.5)]
    memory_only = ScalarLogger()
    memory_only.log(1, x=2)
    assert memory_only.history == {"x": [(1, 2.0)]}


def test_set_seed_reproducible():
    set_seed(123)
    a = (random.random(), np.random.rand(), float(tf.random.uniform(())))
    set_seed(123)
    b = (random.random(), np.random.rand(), float(tf.random.uniform(())))
    assert a == b
    with pytest.raises(ValueError, match="seed"):
        set_seed(-1)


def test_progress_format_and_timer():
    bar = progress(range(3), desc="x", verbose=False)
    assert list(bar) == [0, 1, 2]
    assert format_scalars({"elbo": -101.2345, "acc": np.float32(0.9)}) == "elbo=-101.2, acc=0.9"
    with Timer() as t:
        time.sleep(0.02)
    assert 0.015 < t.seconds < 1.0
    assert to_jsonable({1: np.arange(2)}) == {"1": [0, 1]}
    json.dumps(to_jsonable({"nan": float("nan")}))  # NaN passes through as in json
