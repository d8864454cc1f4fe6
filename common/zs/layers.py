"""``tf.layers``-style functional layers whose variables live in the store of
the MetaBayesianNet being built (see :mod:`common.zs.bayesian_net`)."""
import tensorflow as tf

from .bayesian_net import current_store

__all__ = ["dense"]


def dense(inputs, units, activation=None, use_bias=True, name=None,
          kernel_initializer=None, bias_initializer=None):
    """Fully connected layer on the last axis of ``inputs`` (any rank >= 1).

    :param inputs: ``[..., in_units]``.
    :return: ``[..., units]``.
    """
    store = current_store()
    name = name or store.unique_name("dense")
    inputs = tf.convert_to_tensor(inputs)
    in_units = inputs.shape[-1]
    if in_units is None:
        raise ValueError(f"dense {name!r}: the last axis of inputs must be "
                         "statically known")
    kernel = store.get(f"{name}/kernel", [in_units, units],
                       kernel_initializer or tf.keras.initializers.GlorotUniform(),
                       dtype=inputs.dtype)
    # One 2-D GEMM over all leading axes is faster than a batched matmul.
    if inputs.shape.rank == 2:
        out = tf.matmul(inputs, kernel)
    else:
        flat = tf.reshape(inputs, [-1, in_units])
        out = tf.reshape(tf.matmul(flat, kernel),
                         tf.concat([tf.shape(inputs)[:-1], [units]], 0))
    if use_bias:
        bias = store.get(f"{name}/bias", [units],
                         bias_initializer or tf.keras.initializers.Zeros(),
                         dtype=inputs.dtype)
        out = out + bias
    return activation(out) if activation is not None else out
