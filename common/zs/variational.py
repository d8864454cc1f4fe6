"""Variational objectives and gradient estimators (ZhuSuan 0.4 + 0.3 names).

Object API (0.4)::

    lower_bound = zs.elbo(model, {"x": x}, variational=q_net, axis=0)
    cost = lower_bound.sgvb()                        # reparameterisation
    cost = lower_bound.reinforce(state=nvil_state,   # score function (NVIL)
                                 baseline=b_x)

Functional API (0.3, as in the assignment)::

    lb = zs.sgvb(log_joint, {"x": x}, {"h": [h, log_qh]}, axis=0)
    cost, lb = zs.nvil(log_joint, {"x": x}, {"z": [z, log_qz]},
                       baseline=b_x, variance_normalization=True,
                       state=nvil_state)

``latent`` maps each latent name to ``(samples, log q(samples))``;
``log_joint`` is either a :class:`MetaBayesianNet` or a function of the dict
of all (observed + latent) values, as in ZhuSuan 0.3.

TensorFlow 1 let ZhuSuan create its moving averages as hidden graph
variables.  Here they are an explicit, checkpointable :class:`NVILState`
passed by the caller, so the learning loop owns all of its state.
"""
import tensorflow as tf

from .bayesian_net import BayesianNet, MetaBayesianNet, StochasticTensor

__all__ = ["NVILState", "EvidenceLowerBoundObjective", "elbo", "sgvb", "nvil",
           "ImportanceWeightedObjective", "importance_weighted_objective",
           "log_mean_exp"]


class NVILState(tf.Module):
    """Moving averages used by NVIL's centering and variance normalisation.

    * ``moving_mean``: zero-debiased exponential moving average of the batch
      mean learning signal (as ``assign_moving_average(..., zero_debias=True)``
      in ZhuSuan), so the first step already sees an unbiased mean.
    * ``moving_variance``: exponential moving average of the batch variance
      of the signal, starting at 1 (Mnih & Gregor divide by
      ``max(1, sqrt(v))``, so an early small estimate never inflates it).

    ``shape`` (default ``()``, ZhuSuan's one scalar pair) keeps one moving
    mean and variance per element, for independent problems batched along
    the signal's trailing axes (e.g. random restarts trained side by side):
    a state of shape ``[R]`` averages a signal ``[..., R]`` over its leading
    axes only, so each of the R problems is centred by its own averages.
    """

    def __init__(self, name=None, shape=()):
        super().__init__(name=name)
        shape = tf.TensorShape(shape)
        if not shape.is_fully_defined():
            raise ValueError(f"NVILState shape must be fully defined, got {shape}")
        self.shape = shape
        self.biased_mean = tf.Variable(tf.zeros(shape), trainable=False,
                                       name="biased_mean")
        self.n_updates = tf.Variable(0., trainable=False, name="n_updates")
        self.moving_mean = tf.Variable(tf.zeros(shape), trainable=False,
                                       name="moving_mean")
        self.moving_variance = tf.Variable(tf.ones(shape), trainable=False,
                                           name="moving_variance")

    def batch_axes(self, signal):
        """The axes of ``signal`` that one moving average pools: None (all
        of them) for a scalar state, the leading ones for a state of rank r
        (whose shape must match the signal's last r axes)."""
        if self.shape.rank == 0:
            return None
        rank = signal.shape.rank
        if rank is None or rank < self.shape.rank or not \
                signal.shape[rank - self.shape.rank:].is_compatible_with(self.shape):
            raise ValueError(f"NVILState of shape {self.shape.as_list()} needs a "
                             f"learning signal whose trailing axes have that shape, "
                             f"got shape {signal.shape}")
        return list(range(rank - self.shape.rank))

    def update_mean(self, batch_mean, decay):
        """Update with ``batch_mean`` and return the debiased moving mean."""
        batch_mean = tf.cast(batch_mean, tf.float32)
        self.biased_mean.assign(decay * self.biased_mean
                                + (1. - decay) * batch_mean)
        self.n_updates.assign_add(1.)
        return self.moving_mean.assign(
            self.biased_mean / (1. - tf.pow(decay, self.n_updates)))

    def update_variance(self, batch_variance, decay):
        """Update with ``batch_variance`` and return the moving variance."""
        batch_variance = tf.cast(batch_variance, tf.float32)
        self.moving_variance.assign(decay * self.moving_variance
                                    + (1. - decay) * batch_variance)
        return tf.convert_to_tensor(self.moving_variance)


def _require_state(state, who):
    if not isinstance(state, NVILState):
        raise ValueError(
            f"{who} with variance reduction needs explicit moving-average "
            "state: pass state=zs.NVILState() (create it once, outside the "
            "training step, and keep it in your checkpoint)")


def _reduce(x, axis):
    return x if axis is None else tf.reduce_mean(x, axis)


def _latent_dict(latent, variational):
    """``{name: (value, log_q)}`` from an explicit dict or a q BayesianNet."""
    if (latent is None) == (variational is None):
        raise ValueError("give exactly one of `latent` (dict name -> "
                         "(samples, log_prob)) and `variational` (BayesianNet)")
    if variational is not None:
        if not isinstance(variational, BayesianNet):
            raise TypeError("variational must be a zs.BayesianNet, got "
                            f"{type(variational).__name__}")
        return {name: (node.tensor, node.cond_log_p)
                for name, node in variational.nodes.items()
                if isinstance(node, StochasticTensor) and not node.is_observed}
    out = {}
    for name, pair in latent.items():
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            raise ValueError(f"latent[{name!r}] must be (samples, log_prob), "
                             f"got {type(pair).__name__}")
        out[name] = (tf.convert_to_tensor(pair[0]),
                     tf.convert_to_tensor(pair[1]))
    return out


def _joint_and_q(log_joint, observed, latent):
    """Evaluate log p(observed, latent) and sum_i log q(latent_i)."""
    if not isinstance(observed, dict):
        raise TypeError("observed must be a dict of name -> value")
    overlap = set(observed) & set(latent)
    if overlap:
        raise ValueError(f"names {sorted(overlap)} are both observed and latent")
    if not latent:
        raise ValueError("there are no latent variables")
    values = dict(observed)
    values.update({k: v[0] for k, v in latent.items()})
    if isinstance(log_joint, MetaBayesianNet):
        log_p = log_joint.observe(**values).log_joint()
    elif callable(log_joint):
        log_p = log_joint(values)
    else:
        raise TypeError("log_joint must be a MetaBayesianNet or a function of "
                        f"the dict of values, got {type(log_joint).__name__}")
    log_q = tf.add_n([v[1] for v in latent.values()]) if len(latent) > 1 \
        else next(iter(latent.values()))[1]
    return log_p, log_q


def log_mean_exp(x, axis, keepdims=False):
    x_max = tf.stop_gradient(tf.reduce_max(x, axis=axis, keepdims=True))
    out = tf.math.log(tf.reduce_mean(tf.exp(x - x_max), axis=axis,
                                     keepdims=True)) + x_max
    return out if keepdims else tf.squeeze(out, axis=axis)


class EvidenceLowerBoundObjective:
    """E_q[log p(x, z) - log q(z)]: converts to its value (reduced over
    ``axis``, the sample axis, when given)."""

    def __init__(self, meta_bn, observed, latent=None, axis=None,
                 variational=None):
        self._axis = axis
        latent = _latent_dict(latent, variational)
        self.log_joint, self.log_q = _joint_and_q(meta_bn, observed, latent)
        # Keep log p and log q separate: the estimators weigh them differently.
        self.tensor = _reduce(self.log_joint - self.log_q, axis)

    def sgvb(self):
        """Surrogate cost of the reparameterisation estimator, per data point
        (``-lower bound``); needs reparameterised latents."""
        return -self.tensor

    def reinforce(self, variance_reduction=True, baseline=None, decay=0.8,
                  state=None):
        """Surrogate cost of the score-function estimator (ZhuSuan 0.4).

        With ``variance_reduction``, the signal l = log p - log q is replaced
        by l - b(x) when a ``baseline`` is given (adding the baseline's
        squared-error cost), then centred by the moving mean held in
        ``state`` (an :class:`NVILState`).
        """
        return _score_function_cost(self.log_joint, self.log_q, self._axis,
                                    variance_reduction, baseline, decay, state,
                                    variance_normalization=False,
                                    who="reinforce()")[0]


def _score_function_cost(log_joint, log_q, axis, variance_reduction,
                         baseline, decay, state, variance_normalization, who):
    l_signal = log_joint - log_q
    cost = 0.
    if variance_reduction:
        _require_state(state, who)
        if baseline is not None:
            baseline = tf.convert_to_tensor(baseline, dtype=l_signal.dtype)
            baseline_cost = 0.5 * tf.square(tf.stop_gradient(l_signal)
                                            - baseline)
            cost = _reduce(baseline_cost, axis)
            l_signal = l_signal - baseline
        l_stop = tf.stop_gradient(l_signal)
        batch_axes = state.batch_axes(l_stop)      # all axes for a scalar state
        batch_mean = tf.reduce_mean(l_stop, axis=batch_axes)
        m = state.update_mean(batch_mean, decay)
        l_signal = l_signal - tf.cast(m, l_signal.dtype)
        if variance_normalization:
            batch_var = tf.reduce_mean(tf.square(l_stop - batch_mean), axis=batch_axes)
            v = state.update_variance(batch_var, decay)
            l_signal = l_signal / tf.cast(tf.maximum(1., tf.sqrt(v)),
                                          l_signal.dtype)
    l_signal = tf.stop_gradient(l_signal)
    cost = cost + _reduce(-log_joint - l_signal * log_q, axis)
    return cost, _reduce(log_joint - log_q, axis)


def elbo(meta_bn, observed, latent=None, axis=None, variational=None):
    """The evidence lower bound objective (ZhuSuan 0.4 ``zs.variational.elbo``).

    :param meta_bn: the model, a :class:`MetaBayesianNet` (or a log-joint
        function of the value dict).
    :param observed: dict of observed values.
    :param latent: dict name -> (samples, log q) — or give ``variational``, a
        BayesianNet whose unobserved stochastic nodes are the latents.
    :param axis: the sample axis (or axes) to average over.
    """
    return EvidenceLowerBoundObjective(meta_bn, observed, latent, axis,
                                       variational)


def sgvb(log_joint, observed, latent, axis=None):
    """ZhuSuan 0.3: the lower bound to maximise with reparameterised latents.

    Returns the lower bound (not a cost), per data point, averaged over
    ``axis``; its gradient is the SGVB estimator.
    """
    return elbo(log_joint, observed, latent=latent, axis=axis).tensor


def nvil(log_joint, observed, latent, baseline=None, decay=0.8,
         variance_normalization=False, axis=None, state=None):
    """ZhuSuan 0.3 NVIL (Mnih & Gregor, 2014): returns ``(cost, lower_bound)``.

    ``cost`` is the surrogate to minimise: -log p - stop_grad(l_hat) * log q,
    where l_hat = (l - b(x) - m) / max(1, sqrt(v)) with l = log p - log q,
    plus 0.5 * (stop_grad(l) - b(x))^2 training the baseline ``b(x)``.
    ``m`` and ``v`` are the moving mean and variance held in ``state``
    (an :class:`NVILState`, required).
    """
    latent = _latent_dict(latent, None)
    log_p, log_q = _joint_and_q(log_joint, observed, latent)
    return _score_function_cost(log_p, log_q, axis, True, baseline, decay,
                                state, variance_normalization, who="nvil()")


class ImportanceWeightedObjective:
    """log (1/K) sum_k p(x, z_k) / q(z_k), the sample axis being ``axis``."""

    def __init__(self, meta_bn, observed, latent=None, axis=None,
                 variational=None):
        if axis is None:
            raise ValueError("importance weighting needs the sample `axis`")
        latent = _latent_dict(latent, variational)
        log_p, log_q = _joint_and_q(meta_bn, observed, latent)
        self.log_w = log_p - log_q
        self.tensor = log_mean_exp(self.log_w, axis)

    def sgvb(self):
        """IWAE surrogate cost (reparameterised latents)."""
        return -self.tensor


def importance_weighted_objective(meta_bn, observed, latent=None, axis=None,
                                  variational=None):
    return ImportanceWeightedObjective(meta_bn, observed, latent, axis,
                                       variational)


def _objective_to_tensor(value, dtype=None, name=None, as_ref=False):
    del name, as_ref
    if dtype is not None and not dtype.is_compatible_with(value.tensor.dtype):
        raise ValueError(f"objective has dtype {value.tensor.dtype.name}, "
                         f"requested {dtype.name}")
    return value.tensor


for _cls in (EvidenceLowerBoundObjective, ImportanceWeightedObjective):
    tf.register_tensor_conversion_function(_cls, _objective_to_tensor)
