"""Stochastic binarisation of [0, 1] images and seeded mini-batch indices.

Training uses *dynamic* binarisation (a fresh Bernoulli draw every epoch, via a
stateless TF op so it also works inside ``tf.function``); evaluation uses one
*fixed* draw so that test numbers are comparable across runs.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

__all__ = ["binarize_fixed", "binarize_dynamic", "batch_iterator"]


def binarize_fixed(images, seed: int = 0) -> np.ndarray:
    """One seeded Bernoulli draw per pixel, with the pixel intensity as probability.

    Args:
        images: array of any shape with values in [0, 1] (e.g. [N, 784]).
        seed: seed of the numpy Generator.

    Returns:
        float32 array of 0/1, same shape as ``images``.
    """
    arr = np.asarray(images, dtype=np.float64)
    if arr.size == 0:
        raise ValueError(f"images must not be empty, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError("images must be finite, found NaN or inf")
    if arr.min() < 0.0 or arr.max() > 1.0:
        raise ValueError(f"images must lie in [0, 1] (they are probabilities), got range "
                         f"[{arr.min():.6g}, {arr.max():.6g}]")
    u = np.random.default_rng(seed).random(arr.shape)
    return (u < arr).astype(np.float32)


def binarize_dynamic(images_tensor, seed) -> "tf.Tensor":
    """Stateless Bernoulli binarisation usable inside ``tf.function``.

    The same (images, seed) always gives the same result; pass a new seed each
    epoch, e.g. ``(base_seed, epoch)``, to resample.

    Args:
        images_tensor: tensor of any shape with values in [0, 1].
        seed: shape-[2] integer tensor / tuple (int32 or int64).

    Returns:
        float32 tensor of 0/1, same shape as ``images_tensor``.
    """
    import tensorflow as tf  # here, so that loading data does not start TensorFlow

    x = tf.convert_to_tensor(images_tensor)
    if not x.dtype.is_floating:
        x = tf.cast(x, tf.float32)
    seed = tf.convert_to_tensor(seed)
    if seed.dtype not in (tf.int32, tf.int64):
        raise ValueError(f"seed must be an int32/int64 tensor of shape [2], got dtype "
                         f"{seed.dtype.name}")
    if seed.shape.rank is not None and seed.shape.as_list() != [2]:
        raise ValueError(f"seed must have shape [2], got {seed.shape}")
    u = tf.random.stateless_uniform(tf.shape(x), seed=seed, dtype=x.dtype)
    return tf.cast(u < x, tf.float32)


def batch_iterator(n: int, batch_size: int, seed: int, drop_last: bool = True
                   ) -> Iterator[np.ndarray]:
    """Index arrays of one epoch of shuffled mini-batches.

    Arguments are checked when this function is called (not lazily on the
    first ``next``), so mistakes surface before training starts.

    Args:
        n: dataset size N >= 1.
        batch_size: 1 <= batch_size (<= N when ``drop_last``).
        seed: seed of the permutation (use e.g. ``seed + epoch`` per epoch).
        drop_last: skip the final incomplete batch (keeps shapes static for
            ``tf.function``).

    Returns:
        An iterator of int64 index arrays of shape [batch_size] (the last one
        may be shorter when ``drop_last`` is False).
    """
    for name, value in (("n", n), ("batch_size", batch_size)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) \
                or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    if drop_last and batch_size > n:
        raise ValueError(f"batch_size={batch_size} is larger than n={n}; with drop_last=True "
                         "the epoch would be empty")
    perm = np.random.default_rng(seed).permutation(int(n)).astype(np.int64)
    stop = (n // batch_size) * batch_size if drop_last else n
    return (perm[start:start + batch_size] for start in range(0, stop, batch_size))
