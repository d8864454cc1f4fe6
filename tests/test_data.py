"""Tests for common.data: GMM parameters and sampling, MNIST loaders, binarisation."""
import gzip
import json

import numpy as np
import pytest
import tensorflow as tf

from common.data import (DataFormatError, GMMParams, batch_iterator, binarize_dynamic,
                         binarize_fixed, default_gmm_params, load_mnist, load_serket_txt,
                         random_gmm_params, sample_gmm, train_test_split, validate_images)


# ----------------------------------------------------------------------------- GMMParams
def test_gmm_params_valid_and_properties():
    p = default_gmm_params()
    assert (p.k, p.d) == (3, 2)
    np.testing.assert_allclose(p.pi, [0.5, 0.3, 0.2])
    np.testing.assert_allclose(p.mu, [[-3, 0], [3, 0], [0, 4]])
    np.testing.assert_allclose(p.sigma2, np.ones((3, 2)))


def test_gmm_params_dict_round_trip_is_json_friendly():
    p = random_gmm_params(4, d=3, seed=7)
    text = json.dumps(p.to_dict())
    q = GMMParams.from_dict(json.loads(text))
    assert q == p


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(pi=[0.5, 0.4], mu=[[0, 0], [1, 1]], sigma2=[[1, 1], [1, 1]]), r"pi must sum to 1, got 0\.9"),
    (dict(pi=[1.2, -0.2], mu=[[0, 0], [1, 1]], sigma2=[[1, 1], [1, 1]]), r"pi must be non-negative"),
    (dict(pi=[0.5, 0.5], mu=[[0, 0], [1, 1]], sigma2=[[1, -1], [1, 1]]), r"sigma2 must be strictly positive"),
    (dict(pi=[0.5, 0.5], mu=[[0, 0], [1, 1], [2, 2]], sigma2=[[1, 1], [1, 1]]), r"^mu must have shape"),
    (dict(pi=[0.5, 0.5], mu=[[0, 0], [1, 1]], sigma2=[[1, 1, 1], [1, 1, 1]]), r"^sigma2 must have the same shape"),
    (dict(pi=[0.5, 0.5], mu=[[0, np.nan], [1, 1]], sigma2=[[1, 1], [1, 1]]), r"^mu must be finite"),
    (dict(pi=[], mu=np.zeros((0, 2)), sigma2=np.zeros((0, 2))), r"^pi must have at least one"),
    (dict(pi=[[1.0]], mu=[[0, 0]], sigma2=[[1, 1]]), r"^pi must be 1-D"),
])
def test_gmm_params_validation_names_field(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        GMMParams(**{k: np.asarray(v, dtype=float) for k, v in kwargs.items()})


def test_gmm_params_are_read_only():
    p = default_gmm_params()
    with pytest.raises(ValueError):
        p.mu[0, 0] = 10.0


# ----------------------------------------------------------------------------- random params
def test_random_gmm_params_deterministic_and_separated():
    a = random_gmm_params(8, d=2, separation=4.0, seed=3, sigma=0.5)
    b = random_gmm_params(8, d=2, separation=4.0, seed=3, sigma=0.5)
    c = random_gmm_params(8, d=2, separation=4.0, seed=4, sigma=0.5)
    assert a == b
    assert not np.array_equal(a.mu, c.mu)
    dists = np.linalg.norm(a.mu[:, None] - a.mu[None], axis=-1)
    assert dists[np.triu_indices(8, 1)].min() >= 4.0 * 0.5
    assert np.all(a.sigma2 >= 0.5 * 0.25) and np.all(a.sigma2 <= 1.5 * 0.25)
    assert a.pi.min() > 0 and abs(a.pi.sum() - 1) < 1e-12


def test_random_gmm_params_impossible_separation_raises():
    with pytest.raises(ValueError, match="could not place mean"):
        random_gmm_params(200, d=1, separation=2.0, seed=0, max_tries=1)


@pytest.mark.parametrize("kwargs, name", [(dict(k=0), "k"), (dict(k=2, d=0), "d"),
                                          (dict(k=2, sigma=0.0), "sigma"),
                                          (dict(k=2, separation=-1.0), "separation")])
def test_random_gmm_params_argument_errors(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name} must"):
        random_gmm_params(**kwargs)


# ----------------------------------------------------------------------------- sampling
@pytest.mark.parametrize("params", [default_gmm_params(),
                                    random_gmm_params(4, d=3, seed=11, sigma=2.0)],
                         ids=["default", "random"])
@pytest.mark.rubric("P2.R1")
def test_sample_gmm_matches_declared_model(params):
    n = 20000
    x, z = sample_gmm(params, n, seed=5)
    assert x.shape == (n, params.d) and x.dtype == np.float64
    assert z.shape == (n,) and z.dtype == np.int64
    freq = np.bincount(z, minlength=params.k) / n
    # 5 binomial standard errors: a false failure is ~1e-6 likely per check.
    np.testing.assert_array_less(np.abs(freq - params.pi),
                                 5 * np.sqrt(params.pi * (1 - params.pi) / n))
    for k in range(params.k):
        xk = x[z == k]
        nk = xk.shape[0]
        se_mean = np.sqrt(params.sigma2[k] / nk)
        np.testing.assert_array_less(np.abs(xk.mean(0) - params.mu[k]), 5 * se_mean)
        # Var of the sample variance ~ 2 sigma^4 / n for Gaussians.
        se_var = params.sigma2[k] * np.sqrt(2.0 / nk)
        np.testing.assert_array_less(np.abs(xk.var(0, ddof=1) - params.sigma2[k]), 5 * se_var)


def test_sample_gmm_seeded_and_checks_n():
    p = default_gmm_params()
    x1, z1 = sample_gmm(p, 50, seed=1)
    x2, z2 = sample_gmm(p, 50, seed=1)
    x3, _ = sample_gmm(p, 50, seed=2)
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(z1, z2)
    assert not np.array_equal(x1, x3)
    with pytest.raises(ValueError, match="^n must"):
        sample_gmm(p, 0)
    with pytest.raises(ValueError, match="^params must"):
        sample_gmm({"pi": [1.0]}, 10)


# ----------------------------------------------------------------------------- MNIST helpers
def _idx_bytes(arr: np.ndarray) -> bytes:
    """Serialise a uint8 array as IDX: 0x00 0x00 0x08 ndim, big-endian sizes, data."""
    header = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return header + arr.astype(np.uint8).tobytes()


def _write(path, payload: bytes, gz: bool):
    if gz:
        with gzip.open(path, "wb") as fh:
            fh.write(payload)
    else:
        path.write_bytes(payload)


def _tiny_mnist(n, seed):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, size=n).astype(np.uint8))


@pytest.fixture(scope="module")
def mnist_default():
    return load_mnist()


def test_load_mnist_default_is_bundled_subset(mnist_default):
    images, labels = mnist_default
    assert images.shape == (5000, 784) and images.dtype == np.float32
    assert labels.shape == (5000,) and labels.dtype == np.int64
    assert images.min() == 0.0 and images.max() == 1.0
    np.testing.assert_array_equal(np.bincount(labels), np.full(10, 500))
    validate_images(images)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gz"])
def test_load_mnist_idx_directory_and_file(tmp_path, gz):
    suffix = ".gz" if gz else ""
    train_x, train_y = _tiny_mnist(6, seed=0)
    test_x, test_y = _tiny_mnist(3, seed=1)
    _write(tmp_path / f"train-images-idx3-ubyte{suffix}", _idx_bytes(train_x), gz)
    _write(tmp_path / f"train-labels-idx1-ubyte{suffix}", _idx_bytes(train_y), gz)
    _write(tmp_path / f"t10k-images-idx3-ubyte{suffix}", _idx_bytes(test_x), gz)
    _write(tmp_path / f"t10k-labels-idx1-ubyte{suffix}", _idx_bytes(test_y), gz)

    images, labels = load_mnist(tmp_path)  # train first, then t10k
    expected = np.concatenate([train_x, test_x]).reshape(9, 784).astype(np.float32) / 255
    np.testing.assert_array_equal(images, expected)
    np.testing.assert_array_equal(labels, np.concatenate([train_y, test_y]).astype(np.int64))
    assert images.dtype == np.float32 and labels.dtype == np.int64

    images, labels = load_mnist(tmp_path / f"t10k-images-idx3-ubyte{suffix}")
    np.testing.assert_array_equal(images, test_x.reshape(3, 784).astype(np.float32) / 255)
    np.testing.assert_array_equal(labels, test_y)


def test_load_mnist_keras_npz(tmp_path):
    xtr, ytr = _tiny_mnist(4, seed=2)
    xte, yte = _tiny_mnist(2, seed=3)
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte)
    images, labels = load_mnist(path)
    np.testing.assert_array_equal(
        images, np.concatenate([xtr, xte]).reshape(6, 784).astype(np.float32) / 255)
    np.testing.assert_array_equal(labels, np.concatenate([ytr, yte]))


def test_load_mnist_serket_txt_with_and_without_category(tmp_path):
    raw, y = _tiny_mnist(3, seed=4)
    raw = raw.reshape(3, 784)
    np.savetxt(tmp_path / "data.txt", raw, fmt="%d")
    np.savetxt(tmp_path / "category.txt", y, fmt="%d")
    images, labels = load_mnist(tmp_path / "data.txt")
    np.testing.assert_allclose(images, raw / 255.0, atol=1e-7)
    np.testing.assert_array_equal(labels, y)

    other = tmp_path / "scaled"
    other.mkdir()
    np.savetxt(other / "data.txt", raw / 255.0)  # already in [0, 1]: kept as is
    images, labels = load_mnist(other / "data.txt")
    np.testing.assert_allclose(images, raw / 255.0, atol=1e-7)
    np.testing.assert_array_equal(labels, np.full(3, -1))


def test_load_serket_txt_generic(tmp_path):
    data = np.arange(12, dtype=float).reshape(4, 3)
    np.savetxt(tmp_path / "d.txt", data)
    np.savetxt(tmp_path / "c.txt", [1, 0, 1, 2], fmt="%d")
    got, labels = load_serket_txt(tmp_path / "d.txt", tmp_path / "c.txt")
    np.testing.assert_array_equal(got, data)
    np.testing.assert_array_equal(labels, [1, 0, 1, 2])
    got, labels = load_serket_txt(tmp_path / "d.txt")
    assert labels is None


# ----------------------------------------------------------------------------- MNIST errors
def test_bad_idx_magic_names_file(tmp_path):
    x, y = _tiny_mnist(2, seed=0)
    bad = bytearray(_idx_bytes(x))
    bad[2] = 0x42  # unknown type code
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(bytes(bad))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(y))
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte.*bad IDX magic"):
        load_mnist(path)


def test_truncated_idx_names_file(tmp_path):
    x, y = _tiny_mnist(2, seed=0)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(x)[:-5])
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(y))
    with pytest.raises(DataFormatError, match=r"train-images-idx3-ubyte.*declares shape"):
        load_mnist(tmp_path)


def test_idx_label_count_mismatch_names_labels_file(tmp_path):
    x, y = _tiny_mnist(3, seed=0)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(x))
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(_idx_bytes(y[:2]))
    with pytest.raises(DataFormatError, match=r"train-labels-idx1-ubyte: holds 2 labels, expected 3"):
        load_mnist(tmp_path)


def test_serket_wrong_row_length_names_file_and_line(tmp_path):
    path = tmp_path / "data.txt"
    rows = [" ".join(["0"] * 784), " ".join(["0"] * 783), " ".join(["0"] * 784)]
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(DataFormatError, match=r"data\.txt: line 2 has 783 values, expected 784"):
        load_mnist(path)
    # Equal rows of the wrong width are also rejected for MNIST.
    np.savetxt(path, np.zeros((2, 10)))
    with pytest.raises(DataFormatError, match=r"data\.txt: rows must hold 784"):
        load_mnist(path)


def test_serket_category_count_mismatch(tmp_path):
    np.savetxt(tmp_path / "data.txt", np.zeros((3, 784)), fmt="%d")
    np.savetxt(tmp_path / "category.txt", [0, 1], fmt="%d")
    with pytest.raises(DataFormatError, match=r"category\.txt: holds 2 labels, expected 3"):
        load_mnist(tmp_path / "data.txt")


def test_missing_files_raise_file_not_found_naming_path(tmp_path):
    missing = tmp_path / "nowhere" / "mnist.npz"
    with pytest.raises(FileNotFoundError, match="nowhere"):
        load_mnist(missing)
    with pytest.raises(FileNotFoundError, match=str(tmp_path)):
        load_mnist(tmp_path)  # empty directory
    x, _ = _tiny_mnist(1, seed=0)
    (tmp_path / "train-images-idx3-ubyte").write_bytes(_idx_bytes(x))
    with pytest.raises(FileNotFoundError, match="train-labels-idx1-ubyte"):
        load_mnist(tmp_path / "train-images-idx3-ubyte")
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        load_serket_txt(tmp_path / "nope.txt")


def test_validate_images_errors():
    with pytest.raises(ValueError, match="x must be 2-D"):
        validate_images(np.zeros(784), name="x")
    with pytest.raises(ValueError, match="784 columns"):
        validate_images(np.zeros((2, 783)))
    with pytest.raises(ValueError, match="finite"):
        validate_images(np.full((2, 784), np.nan))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        validate_images(np.full((2, 784), 255.0))
    assert validate_images(np.zeros((2, 5)), n_pixels=5).shape == (2, 5)


# ----------------------------------------------------------------------------- split
@pytest.mark.rubric("P3.R3")
def test_train_test_split_seeded_and_disjoint():
    images = np.arange(50, dtype=np.float32)[:, None] * np.ones((1, 3), np.float32)
    labels = np.arange(50)
    xtr, ytr, xte, yte = train_test_split(images, labels, n_test=10, seed=3)
    assert xtr.shape == (40, 3) and xte.shape == (10, 3)
    assert set(ytr.tolist()).isdisjoint(yte.tolist())
    assert sorted(ytr.tolist() + yte.tolist()) == list(range(50))
    np.testing.assert_array_equal(xtr[:, 0], ytr)  # rows stay paired with labels
    again = train_test_split(images, labels, n_test=10, seed=3)
    np.testing.assert_array_equal(again[3], yte)
    other = train_test_split(images, labels, n_test=10, seed=4)
    assert not np.array_equal(other[3], yte)
    for bad in (0, 50, 2.5):
        with pytest.raises(ValueError, match="n_test"):
            train_test_split(images, labels, n_test=bad)
    with pytest.raises(ValueError, match="same length"):
        train_test_split(images, labels[:-1], n_test=5)


# ----------------------------------------------------------------------------- binarisation
def test_binarize_fixed(mnist_default):
    images = mnist_default[0][:1000]
    a = binarize_fixed(images, seed=1)
    b = binarize_fixed(images, seed=1)
    c = binarize_fixed(images, seed=2)
    assert a.dtype == np.float32 and a.shape == images.shape
    assert set(np.unique(a).tolist()) <= {0.0, 1.0}
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # 784k Bernoulli draws: the mean's standard error is < 1e-3.
    assert abs(a.mean() - images.mean()) < 3e-3
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        binarize_fixed(images * 255)


@pytest.mark.rubric("P3.R3")
def test_binarize_dynamic_seeds_and_tf_function(mnist_default):
    x = tf.constant(mnist_default[0][:500])
    a = binarize_dynamic(x, (0, 1))
    b = binarize_dynamic(x, tf.constant([0, 1], dtype=tf.int64))
    c = binarize_dynamic(x, (0, 2))
    assert a.dtype == tf.float32 and a.shape == x.shape
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert not np.array_equal(a.numpy(), c.numpy())
    assert abs(float(tf.reduce_mean(a)) - float(tf.reduce_mean(x))) < 5e-3

    @tf.function
    def per_epoch(images, epoch):
        return binarize_dynamic(images, tf.stack([tf.constant(0, tf.int64), epoch]))

    d = per_epoch(x, tf.constant(1, tf.int64))
    e = per_epoch(x, tf.constant(2, tf.int64))
    np.testing.assert_array_equal(d.numpy(), a.numpy())  # same seed as eager (0, 1)
    assert not np.array_equal(d.numpy(), e.numpy())
    with pytest.raises(ValueError, match="seed must have shape"):
        binarize_dynamic(x, (1, 2, 3))


def test_batch_iterator():
    batches = list(batch_iterator(10, 3, seed=0))
    assert [len(b) for b in batches] == [3, 3, 3]
    assert len(set(np.concatenate(batches).tolist())) == 9
    full = list(batch_iterator(10, 3, seed=0, drop_last=False))
    assert [len(b) for b in full] == [3, 3, 3, 1]
    assert sorted(np.concatenate(full).tolist()) == list(range(10))
    np.testing.assert_array_equal(np.concatenate(batches), np.concatenate(full)[:9])
    assert not np.array_equal(np.concatenate(full),
                              np.concatenate(list(batch_iterator(10, 3, 1, drop_last=False))))
    with pytest.raises(ValueError, match="batch_size"):
        batch_iterator(5, 6, seed=0)  # raised at call time, not on first next()
    with pytest.raises(ValueError, match="^n must"):
        batch_iterator(0, 1, seed=0)
