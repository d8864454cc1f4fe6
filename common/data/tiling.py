"""A full-size MNIST stand-in made from a small one, for timing full-size runs.

No full MNIST ships with the package and nothing may be downloaded, so the
full-size benchmark tiles real images: every copy of an image is shifted by a
random whole-pixel offset (what MNIST's own centring varies by), so no two
copies of one image in a batch are identical.  The result is written as IDX
files, the format a user's full MNIST comes in, so the timed job reads it
through the same loader.  Shapes: images ``[N, 784]`` in [0, 1].
"""
from __future__ import annotations

import gzip
import os
from pathlib import Path
from typing import Union

import numpy as np

__all__ = ["tile_with_shifts", "write_idx", "write_idx_mnist"]

PathLike = Union[str, os.PathLike]


def tile_with_shifts(images, labels, n: int, max_shift: int = 2, seed: int = 0):
    """``n`` images drawn in turn from ``images`` (each used n / len times),
    each shifted by a random offset in [-max_shift, max_shift]^2 (zero-filled).

    Args:
        images: ``[M, 784]`` in [0, 1]; labels ``[M]``.
        n: images to make (n >= 1).
        max_shift: largest shift in pixels along each axis (0 = exact copies).
        seed: seed of the order and the shifts.

    Returns:
        (images ``[n, 784]`` float32, labels ``[n]`` int64).
    """
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels, np.int64)
    if images.ndim != 2 or images.shape[1] != 784 or len(images) != len(labels):
        raise ValueError(f"images must be [M, 784] with one label each, got "
                         f"{images.shape} and {labels.shape}")
    if not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be an integer >= 1, got {n!r}")
    if not isinstance(max_shift, (int, np.integer)) or not 0 <= max_shift < 14:
        raise ValueError(f"max_shift must be an integer in [0, 13], got {max_shift!r}")
    rng = np.random.default_rng(seed)
    m = len(images)
    order = np.concatenate([rng.permutation(m) for _ in range(-(-n // m))])[:n]
    shifts = rng.integers(-max_shift, max_shift + 1, size=(n, 2))
    pad = max_shift
    padded = np.pad(images.reshape(m, 28, 28), ((0, 0), (pad, pad), (pad, pad)))
    out = np.empty((n, 28, 28), np.float32)
    for (dy, dx) in {tuple(s) for s in shifts.tolist()}:
        rows = np.flatnonzero((shifts[:, 0] == dy) & (shifts[:, 1] == dx))
        out[rows] = padded[order[rows], pad - dy:pad - dy + 28, pad - dx:pad - dx + 28]
    return out.reshape(n, 784), labels[order]


def write_idx(path: PathLike, array) -> Path:
    """Write a uint8 array as an IDX file (gzip-compressed when ``path`` ends in .gz)."""
    arr = np.ascontiguousarray(array, dtype=np.uint8)
    header = bytes([0, 0, 0x08, arr.ndim]) + b"".join(int(s).to_bytes(4, "big")
                                                       for s in arr.shape)
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "wb") as fh:
        fh.write(header + arr.tobytes())
    return path


def write_idx_mnist(folder: PathLike, x_train, y_train, x_test, y_test) -> Path:
    """Write ``train-*`` and ``t10k-*`` IDX files (images in [0, 1] stored as
    0..255) into ``folder``, laid out as the official MNIST distribution."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for prefix, x, y in (("train", x_train, y_train), ("t10k", x_test, y_test)):
        x = np.rint(np.asarray(x, np.float32) * 255).astype(np.uint8).reshape(-1, 28, 28)
        write_idx(folder / f"{prefix}-images-idx3-ubyte", x)
        write_idx(folder / f"{prefix}-labels-idx1-ubyte", np.asarray(y, np.uint8))
    return folder
