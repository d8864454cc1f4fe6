"""Where the core's random draws come from.

By default a distribution's ``sample`` uses TensorFlow's stateful ops
(``tf.random.normal`` & co.), as ZhuSuan does.  Their state lives in the op
kernels, so it cannot be saved: a training run resumed from a checkpoint
would draw other noise than the uninterrupted run.  Inside
``with zs.random_source(generator):`` the draws come from a
``tf.random.Generator`` instead, whose state is a variable that a
``tf.train.Checkpoint`` saves and restores (and that can be reset to a seed).
The context applies to the ops *built* inside it, i.e. at tracing time in a
``tf.function``.
"""
from contextlib import contextmanager

import tensorflow as tf

__all__ = ["random_source", "current_source", "normal", "uniform", "categorical"]

_SOURCES = []


@contextmanager
def random_source(generator):
    """Draw from ``generator`` (a ``tf.random.Generator``, or None for the
    stateful ops) for the samples built inside the ``with`` block."""
    if generator is not None and not isinstance(generator, tf.random.Generator):
        raise ValueError(f"random_source needs a tf.random.Generator or None, got "
                         f"{type(generator).__name__}")
    _SOURCES.append(generator)
    try:
        yield generator
    finally:
        _SOURCES.pop()


def current_source():
    """The generator in force, or None."""
    return _SOURCES[-1] if _SOURCES else None


def normal(shape, dtype=tf.float32):
    g = current_source()
    return tf.random.normal(shape, dtype=dtype) if g is None else g.normal(shape,
                                                                            dtype=dtype)


def uniform(shape, dtype=tf.float32):
    g = current_source()
    return tf.random.uniform(shape, dtype=dtype) if g is None else g.uniform(shape,
                                                                              dtype=dtype)


def categorical(logits, n_samples):
    """Class indices ``[B, n_samples]`` (int32) from logits ``[B, K]``."""
    g = current_source()
    if g is None:
        return tf.random.categorical(logits, n_samples, dtype=tf.int32)
    # Gumbel-max with the generator's uniforms: argmax_k (l_k + Gumbel noise).
    shape = tf.stack([tf.shape(logits)[0], n_samples, tf.shape(logits)[1]])
    u = g.uniform(shape, minval=1e-20, maxval=1.0, dtype=logits.dtype)
    return tf.argmax(logits[:, None, :] - tf.math.log(-tf.math.log(u)), axis=-1,
                     output_type=tf.int32)
