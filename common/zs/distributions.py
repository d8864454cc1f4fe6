"""ZhuSuan-style distributions on TensorFlow 2.

Shape conventions follow ZhuSuan 0.4:

* ``batch_shape`` — the shape of independent parameter sets (the broadcast shape
  of the parameters, less the event axis for categorical distributions);
* ``value_shape`` — the shape of one draw (``[]`` for scalar distributions,
  ``[n_categories]`` for one-hot ones);
* ``sample(n_samples=None)`` returns ``batch_shape + value_shape``, or
  ``[n_samples] + batch_shape + value_shape`` when ``n_samples`` is given;
* ``log_prob(given)`` returns one log-density per batch element and then sums
  the last ``group_ndims`` batch axes, so ``group_ndims=1`` on a
  ``[batch, D]`` diagonal Normal gives ``[batch]``.

Non-reparameterised samples are wrapped in ``tf.stop_gradient`` exactly as
ZhuSuan does, so a score-function estimator never sees a spurious path
derivative.
"""
import math

import tensorflow as tf

from . import rng

__all__ = ["Distribution", "Normal", "Bernoulli", "OnehotCategorical",
           "OnehotDiscrete", "Categorical"]

_LOG_2PI = math.log(2.0 * math.pi)


def _as_float(x, dtype=None, name="value"):
    x = tf.convert_to_tensor(x, dtype_hint=dtype or tf.float32, name=name)
    if not x.dtype.is_floating:
        x = tf.cast(x, dtype or tf.float32)
    return x


class Distribution:
    """Base class: shape bookkeeping, ``group_ndims`` and sampling axes.

    Subclasses implement ``_sample(n)`` (returning ``[n] + batch + value``)
    and ``_log_prob(given)`` (one value per batch element, no grouping).
    """

    def __init__(self, dtype, param_dtype, is_continuous, is_reparameterized,
                 group_ndims=0, check_numerics=False):
        if not isinstance(group_ndims, int) or group_ndims < 0:
            raise ValueError(
                f"group_ndims must be a non-negative int, got {group_ndims!r}")
        self.dtype = tf.as_dtype(dtype)
        self.param_dtype = tf.as_dtype(param_dtype)
        self.is_continuous = is_continuous
        self.is_reparameterized = is_reparameterized
        self.group_ndims = group_ndims
        self.check_numerics = check_numerics

    # -- shapes ---------------------------------------------------------
    @property
    def batch_shape(self):
        """Static ``tf.TensorShape`` of independent parameter sets."""
        return self._batch_shape()

    @property
    def value_shape(self):
        """Static ``tf.TensorShape`` of one draw."""
        return self._value_shape()

    def _batch_shape(self):
        raise NotImplementedError

    def _value_shape(self):
        return tf.TensorShape([])

    # -- sampling -------------------------------------------------------
    def sample(self, n_samples=None):
        """Draw samples.

        :param n_samples: ``None`` for one draw of shape
            ``batch_shape + value_shape``; an int (or scalar tensor) for
            ``[n_samples] + batch_shape + value_shape``.
        """
        if n_samples is None:
            samples = self._sample(1)
            samples = tf.squeeze(samples, axis=0)
        else:
            if isinstance(n_samples, int) and n_samples < 1:
                raise ValueError(f"n_samples must be >= 1, got {n_samples}")
            samples = self._sample(n_samples)
        if not self.is_reparameterized:
            samples = tf.stop_gradient(samples)
        return samples

    def _sample(self, n_samples):
        raise NotImplementedError

    # -- densities ------------------------------------------------------
    def log_prob(self, given):
        """Log probability (density) of ``given``, with the last
        ``group_ndims`` batch axes summed."""
        given = self._check_input_shape(given)
        log_p = self._log_prob(given)
        if self.check_numerics:
            log_p = tf.debugging.check_numerics(log_p, "log_prob")
        if self.group_ndims > 0:
            log_p = tf.reduce_sum(log_p, axis=list(range(-self.group_ndims, 0)))
        return log_p

    def prob(self, given):
        return tf.exp(self.log_prob(given))

    def _log_prob(self, given):
        raise NotImplementedError

    def _check_input_shape(self, given):
        given = tf.convert_to_tensor(given)
        value_shape = self.value_shape
        batch_shape = self.batch_shape
        g_shape = given.shape
        if g_shape.rank is None:
            return given
        v_rank = value_shape.rank
        if g_shape.rank < v_rank or (
                v_rank and not g_shape[-v_rank:].is_compatible_with(value_shape)):
            raise ValueError(
                f"{type(self).__name__}.log_prob: the value's trailing shape "
                f"must be value_shape {value_shape.as_list()}, got shape "
                f"{g_shape.as_list()}")
        g_batch = g_shape[:g_shape.rank - v_rank]
        try:
            tf.broadcast_static_shape(g_batch, batch_shape)
        except ValueError:
            raise ValueError(
                f"{type(self).__name__}.log_prob: value of shape "
                f"{g_shape.as_list()} does not broadcast with batch_shape "
                f"{batch_shape.as_list()} + value_shape "
                f"{value_shape.as_list()}") from None
        if self.group_ndims > max(g_batch.rank, batch_shape.rank):
            raise ValueError(
                f"group_ndims={self.group_ndims} exceeds the batch rank "
                f"{max(g_batch.rank, batch_shape.rank)}")
        return given


class Normal(Distribution):
    """Univariate Normal, elementwise: ``Normal(mean, std=..., logstd=...)``.

    Exactly one of ``std`` and ``logstd`` must be given (ZhuSuan 0.4).
    """

    def __init__(self, mean=0., std=None, logstd=None, group_ndims=0,
                 is_reparameterized=True, dtype=None, check_numerics=False):
        if (std is None) == (logstd is None):
            raise ValueError("Normal: give exactly one of `std` and `logstd`")
        self.mean = _as_float(mean, dtype, "mean")
        dtype = self.mean.dtype
        if std is not None:
            self.std = tf.cast(_as_float(std, dtype, "std"), dtype)
            self.logstd = tf.math.log(self.std)
        else:
            self.logstd = tf.cast(_as_float(logstd, dtype, "logstd"), dtype)
            self.std = tf.exp(self.logstd)
        super().__init__(dtype, dtype, True, is_reparameterized,
                         group_ndims, check_numerics)

    def _batch_shape(self):
        return tf.broadcast_static_shape(self.mean.shape, self.std.shape)

    def _sample(self, n_samples):
        shape = tf.concat([[n_samples], tf.broadcast_dynamic_shape(
            tf.shape(self.mean), tf.shape(self.std))], 0)
        eps = rng.normal(shape, dtype=self.dtype)
        return self.mean + self.std * eps

    def _log_prob(self, given):
        given = tf.cast(given, self.dtype)
        z = (given - self.mean) / self.std
        return -0.5 * _LOG_2PI - self.logstd - 0.5 * tf.square(z)


class Bernoulli(Distribution):
    """Bernoulli with ``logits``; samples have ``dtype`` (ZhuSuan default int32)."""

    def __init__(self, logits, group_ndims=0, dtype=tf.int32,
                 check_numerics=False):
        self.logits = _as_float(logits, name="logits")
        super().__init__(dtype, self.logits.dtype, False, False,
                         group_ndims, check_numerics)

    def _batch_shape(self):
        return self.logits.shape

    def _sample(self, n_samples):
        shape = tf.concat([[n_samples], tf.shape(self.logits)], 0)
        u = rng.uniform(shape, dtype=self.param_dtype)
        return tf.cast(u < tf.sigmoid(self.logits), self.dtype)

    def _log_prob(self, given):
        given = tf.cast(given, self.param_dtype)
        logits = self.logits
        # -softplus(-l) for x=1, -softplus(l) for x=0, without overflow.
        return given * logits - tf.nn.softplus(logits)


class _CategoricalBase(Distribution):
    def __init__(self, logits, group_ndims, dtype, check_numerics):
        self.logits = _as_float(logits, name="logits")
        if self.logits.shape.rank is not None and self.logits.shape.rank < 1:
            raise ValueError("logits must have at least one axis (categories)")
        super().__init__(dtype, self.logits.dtype, False, False,
                         group_ndims, check_numerics)

    @property
    def n_categories(self):
        return self.logits.shape[-1]

    def _batch_shape(self):
        return self.logits.shape[:-1]

    def _sample_indices(self, n_samples):
        flat = tf.reshape(self.logits, [-1, tf.shape(self.logits)[-1]])
        idx = rng.categorical(flat, n_samples)                        # [B, n]
        idx = tf.transpose(idx)
        return tf.reshape(idx, tf.concat([[n_samples],
                                          tf.shape(self.logits)[:-1]], 0))

    def _log_softmax(self):
        return tf.nn.log_softmax(self.logits, axis=-1)


class OnehotCategorical(_CategoricalBase):
    """Categorical whose values are one-hot vectors (``value_shape=[K]``)."""

    def __init__(self, logits, group_ndims=0, dtype=tf.int32,
                 check_numerics=False):
        super().__init__(logits, group_ndims, dtype, check_numerics)

    def _value_shape(self):
        return self.logits.shape[-1:]

    def _sample(self, n_samples):
        idx = self._sample_indices(n_samples)
        return tf.one_hot(idx, tf.shape(self.logits)[-1], dtype=self.dtype)

    def _log_prob(self, given):
        given = tf.cast(given, self.param_dtype)
        return tf.reduce_sum(given * self._log_softmax(), axis=-1)


OnehotDiscrete = OnehotCategorical  # ZhuSuan 0.3 name used by the assignment


class Categorical(_CategoricalBase):
    """Categorical whose values are integer class indices (``value_shape=[]``)."""

    def __init__(self, logits, group_ndims=0, dtype=tf.int32,
                 check_numerics=False):
        super().__init__(logits, group_ndims, dtype, check_numerics)

    def _sample(self, n_samples):
        return tf.cast(self._sample_indices(n_samples), self.dtype)

    def _log_prob(self, given):
        given = tf.cast(given, tf.int32)
        onehot = tf.one_hot(given, tf.shape(self.logits)[-1],
                            dtype=self.param_dtype)
        return tf.reduce_sum(onehot * self._log_softmax(), axis=-1)
