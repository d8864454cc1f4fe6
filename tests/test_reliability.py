"""Reliability: one-line refusals before any work, repeatable and resumable
training, checkpoints that survive corruption, workers that die with their
parent, strict JSON."""
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))


def _cli(module, *args, cwd=None):
    """Run ``python -m scripts.<module> args``; (returncode, stdout, stderr)."""
    out = subprocess.run([sys.executable, "-m", f"scripts.{module}", *map(str, args)],
                         capture_output=True, text=True, env=ENV, cwd=cwd, timeout=120)
    return out.returncode, out.stdout, out.stderr


def _assert_refused(rc, stderr, prog, *words):
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert rc == 2, stderr
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), stderr
    assert "Traceback" not in stderr
    for w in words:
        assert w in lines[0], (w, lines[0])


# ----------------------------------------------------------------------------- CLIs
@pytest.fixture(scope="module")
def bad_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "nan.csv").write_text("1,2\nnan,3\n4,5\n6,7\n")
    (d / "three.csv").write_text("1,2,3\n4,5,6\n7,8,9\n")
    (d / "empty.csv").write_text("")
    (d / "ones.txt").write_text("1 1\n" * 60)
    (d / "huge.txt").write_text("1e200 1\n2e200 3\n5 5\n")
    (d / "flat.txt").write_text("".join(f"{i} 3\n" for i in range(20)))
    (d / "ragged.txt").write_text("1 2\n3\n")
    (d / "file").write_text("not a folder")
    idx = d / "idx"
    idx.mkdir()
    (idx / "train-images-idx3-ubyte").write_bytes(b"\x00\x00\x08\x01garbage")
    (idx / "train-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01\x00\x00\x00\x01\x03")
    return d


GMM_VI_CASES = [
    (["--n", "0"], ["--n", "N >= K"]),
    (["--k", "0"], ["k must be an integer >= 1"]),
    (["--true-pi", "[0.5,0.3,0.3]", "--true-mu", "[[-3,0],[3,0],[0,4]]"],
     ["--true-pi", "sum 1.1"]),
    (["--true-pi", "[0.5,0.3,0.3]"], ["--true-pi", "sum 1.1"]),
    (["--true-pi", "[0.5,0.3,0.2]", "--true-mu", '"abc"'], ["--true-mu", "'abc'"]),
    (["--true-pi", "[0.5,"], ["--true-pi must be JSON"]),
    (["--data", "{d}/nan.csv"], ["finite"]),
    (["--data", "{d}/three.csv"], ["shape [N, 2]"]),
    (["--data", "{d}/empty.csv"], ["is empty"]),
    (["--data", "{d}/ones.txt"], ["1 distinct point"]),
    (["--data", "{d}/huge.txt", "--k", "2"], ["magnitude", "rescale"]),
    (["--data", "{d}/flat.txt", "--k", "2"], ["no variance", "coordinate(s) [1]"]),
    (["--data", "{d}/missing.csv"], ["--data file not found"]),
    (["--out", "{d}/file/sub"], ["--out", "regular file"]),
]


@pytest.mark.rubric("P2.R4")
@pytest.mark.parametrize("args, words", GMM_VI_CASES)
def test_gmm_vi_refuses_bad_input_in_one_line(bad_files, args, words):
    args = [a.format(d=bad_files) for a in args]
    if "--out" not in args:
        args += ["--out", str(bad_files / "never")]
    t0 = time.perf_counter()
    rc, _, err = _cli("gmm_vi", *args, "--quiet")
    _assert_refused(rc, err, "gmm-vi", *words)
    assert not (bad_files / "never").exists()
    # Refused before TensorFlow loads (which alone takes seconds).
    assert time.perf_counter() - t0 < 30


GMVAE_CASES = [
    (["--data", "{d}/idx"], ["{d}/idx"]),
    (["--data", "{d}/ragged.txt"], ["line 2"]),
    (["--batch-size", "5000"], ["--batch-size 5000", "training images"]),
    (["--n-test", "6000"], ["--n-test 6000"]),
    (["-K", "0"], ["n_clusters"]),
    (["--out", "{d}/file"], ["regular file"]),
]


@pytest.mark.parametrize("args, words", GMVAE_CASES)
def test_gmvae_refuses_bad_input_in_one_line(bad_files, args, words):
    args = [a.format(d=bad_files) for a in args]
    if "--out" not in args:
        args += ["--out", str(bad_files / "never")]
    rc, _, err = _cli("gmvae", *args, "--quiet")
    if args[0] == "-K":   # argparse-level config errors keep argparse's usage line
        assert rc == 2 and "n_clusters" in err
        return
    _assert_refused(rc, err, "gmvae", *[w.format(d=bad_files) for w in words])
    assert not (bad_files / "never").exists()


def test_other_clis_refuse_in_one_line(bad_files):
    rc, _, err = _cli("serket_vae_gmm", "--data", bad_files / "ragged.txt",
                      "--out", bad_files / "never")
    _assert_refused(rc, err, "serket-vae-gmm", "line 2")
    rc, _, err = _cli("make_report", "--only", "bogus")
    _assert_refused(rc, err, "make-report", "bogus", "gmm_run")
    rc, _, err = _cli("make_report", "--render-only", "--out", bad_files / "empty_rep")
    _assert_refused(rc, err, "make-report", "--render-only")
    for module, prog in (("bench_serket", "serket-bench"), ("bench_gmvae", "gmvae-bench"),
                         ("bench_gmm_vi", "gmm-vi-bench"),
                         ("gmm_vi_sweep", "gmm-vi-sweep")):
        rc, _, err = _cli(module, "--out", bad_files / "file" / "x")
        _assert_refused(rc, err, prog, "regular file")
    assert not (bad_files / "never").exists()


def test_make_report_knows_every_experiment():
    # The CLI checks --only against its own list so that it need not import
    # TensorFlow first; it must stay the list reports.build runs.
    from reports.build import EXPERIMENTS
    from scripts.make_report import EXPERIMENT_NAMES
    assert EXPERIMENT_NAMES == tuple(e.name for e in EXPERIMENTS)


def test_debug_flag_shows_the_traceback(bad_files):
    rc, _, err = _cli("gmm_vi", "--n", "0", "--debug", "--out", bad_files / "never")
    assert rc != 0 and "Traceback" in err


def test_a_finished_run_is_not_replaced_without_overwrite(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text('{"finished": true}')
    rc, _, err = _cli("gmvae", "--out", out, "--quiet")
    _assert_refused(rc, err, "gmvae", "finished run", "--resume", "--overwrite")
    rc, _, err = _cli("gmm_vi", "--out", out, "--quiet")
    _assert_refused(rc, err, "gmm-vi", "finished run")
    assert (out / "metrics.json").read_text() == '{"finished": true}'


def test_resume_with_another_configuration_is_refused_before_work(tmp_path):
    out = tmp_path / "run"
    (out / "checkpoints").mkdir(parents=True)
    from gmvae.config import GMVAEConfig
    stored = json.loads(json.dumps(GMVAEConfig(n_clusters=7).checkpoint_config()))
    (out / "checkpoints" / "config.json").write_text(json.dumps(stored))
    rc, _, err = _cli("gmvae", "--out", out, "--resume", "--quiet")
    _assert_refused(rc, err, "gmvae", "n_clusters", "stored 7")


# ----------------------------------------------------------------------------- JSON
def test_write_json_is_strict_and_names_non_finite_values(tmp_path):
    from common.training import write_json
    path = write_json(tmp_path / "m.json", {"a": float("nan"), "b": [1.0, math.inf],
                                            "c": np.array([1.0, np.nan])})
    text = path.read_text()
    assert "NaN" not in text and "Infinity" not in text
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict {c}"))
    assert data["a"] is None and data["b"] == [1.0, None] and data["c"] == [1.0, None]
    assert data["non_finite_as_null"] == ["a", "b[1]", "c (array)"]


# ----------------------------------------------------------------------------- checkpoints
def test_corrupt_newest_checkpoint_falls_back_to_the_older_one(tmp_path, capsys):
    import tensorflow as tf
    from common.training import CheckpointHelper
    v = tf.Variable([1.0, 2.0])
    helper = CheckpointHelper(tmp_path, {"a": 1}, v=v)
    for step in (5, 10):
        v.assign([step, step])
        helper.save(step)
    data = next(tmp_path.glob("ckpt-10.data-*"))
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])   # truncated
    v.assign([0.0, 0.0])
    again = CheckpointHelper(tmp_path, {"a": 1}, v=v)
    assert again.restore_or_initialize(True) == 5
    np.testing.assert_array_equal(v.numpy(), [5.0, 5.0])
    err = capsys.readouterr().err
    assert "skipping checkpoint" in err and data.name in err
    assert again.skipped[0]["checkpoint"].endswith("ckpt-10")
    # Every checkpoint garbled: start fresh, saying so.
    for f in tmp_path.glob("ckpt-*.data-*"):
        f.write_bytes(b"\x00" * f.stat().st_size)
    third = CheckpointHelper(tmp_path, {"a": 1}, v=v)
    assert third.restore_or_initialize(True) == 0
    assert "starting fresh" in capsys.readouterr().err


# ----------------------------------------------------------------------------- repeatability
TINY = dict(n_clusters=3, latent_dim=4, enc_hidden=(32,), dec_hidden=(32,),
            batch_size=20, steps_per_call=3, verbose=False, is_samples=5,
            balance_weight=1.0, entropy_weight=1.0, augment_weight=1.0)


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(0)
    protos = rng.random((3, 784)) ** 3
    y = rng.integers(0, 3, 100)
    return np.clip(protos[y] + rng.normal(0, 0.05, (100, 784)), 0, 1).astype(np.float32)


@pytest.mark.rubric("P3.R3")
def test_same_seed_same_numbers(images):
    from gmvae.config import GMVAEConfig
    from gmvae.learning import fit
    cfg = GMVAEConfig(epochs=2, pretrain_epochs=1, seed=3, **TINY)
    a, b = fit(cfg, images), fit(cfg, images)
    assert a.history["train_lower_bound"] == b.history["train_lower_bound"]
    for va, vb in zip(a.trainer.variables, b.trainer.variables):
        np.testing.assert_array_equal(va.numpy(), vb.numpy())
    c = fit(cfg.replace(seed=4), images)
    assert c.history["train_lower_bound"] != a.history["train_lower_bound"]


@pytest.mark.rubric("P3.R3")
def test_a_resumed_run_equals_an_uninterrupted_one(images, tmp_path):
    from gmvae.config import GMVAEConfig
    from gmvae.learning import fit
    # Nothing in this config depends on the planned length, so stopping after
    # two of four epochs is what a kill there leaves behind.
    cfg = GMVAEConfig(epochs=4, seed=1, **TINY)
    whole = fit(cfg, images, out_dir=tmp_path / "whole")
    fit(cfg.replace(epochs=2), images, out_dir=tmp_path / "cut")      # "killed" here
    resumed = fit(cfg, images, out_dir=tmp_path / "cut", resume=True)
    assert resumed.start_epoch == 2
    assert resumed.history["train_lower_bound"] == whole.history["train_lower_bound"]
    for va, vb in zip(whole.trainer.variables, resumed.trainer.variables):
        np.testing.assert_allclose(va.numpy(), vb.numpy(), rtol=0, atol=1e-6)


# ----------------------------------------------------------------------------- workers
PARENT = textwrap.dedent("""
    import os, sys, time
    from common.workers import process_pool

    def pid_after(seconds):
        time.sleep(seconds)
        return os.getpid()

    if __name__ == "__main__":
        pool = process_pool(2)
        futures = [pool.submit(pid_after, 0.2 * i) for i in range(4)]
        pids = sorted({f.result() for f in futures})
        print(" ".join(map(str, pids)), flush=True)
        pool.submit(time.sleep, 600)
        time.sleep(600)
""")


def _alive(pid):
    try:
        with open(f"/proc/{pid}/status") as fh:
            state = next(line for line in fh if line.startswith("State:"))
        return "Z" not in state      # a zombie has exited
    except (FileNotFoundError, StopIteration):
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_workers_die_with_their_parent(tmp_path):
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE,
                            text=True, env=ENV)
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert pids and all(_alive(p) for p in pids)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        deadline = time.time() + 10
        while time.time() < deadline and any(_alive(p) for p in pids):
            time.sleep(0.2)
        assert not any(_alive(p) for p in pids), "a worker outlived its parent"
    finally:
        if proc.poll() is None:
            proc.kill()
