"""BayesianNet, StochasticTensor and MetaBayesianNet with ZhuSuan 0.4 semantics.

A model is written as a function that builds a :class:`BayesianNet` node by
node::

    @zs.meta_bayesian_net(scope="gen", reuse_variables=True)
    def build_gen(n, n_particles):
        bn = zs.BayesianNet()
        z = bn.onehot_categorical("z", logits, n_samples=n_particles)
        h = bn.normal("h", mean, std=std, group_ndims=1)
        x_logits = zs.layers.dense(h, 784, name="out")
        bn.bernoulli("x", x_logits, group_ndims=1)
        return bn

    model = build_gen(n, n_particles)          # a MetaBayesianNet
    bn = model.observe(x=x_batch, h=h_samples)   # a BayesianNet

Observed nodes take their observed values; the others sample.

Variables.  ZhuSuan reuses TF1 variables through ``tf.variable_scope``; TF2 has
no variable scopes, so each :class:`MetaBayesianNet` owns a
:class:`VariableStore` (a ``tf.Module``), and ``zs.get_variable`` /
``zs.layers.dense`` inside the model function fetch-or-create variables in the
store of the net being built.  Names are given explicitly or derived from call
order (``dense``, ``dense_1``, ...), restarting at every build, which is what
``reuse=tf.AUTO_REUSE`` amounted to.  With ``reuse_variables=True`` the store
belongs to the decorated function, so every call (any ``n_particles``) and every
``observe`` share variables; with ``False`` each MetaBayesianNet has its own.
Models may equally close over Keras layers or ``tf.Module`` s; the store is a
convenience, not a requirement.
"""
import contextlib
import functools
import threading
from collections import OrderedDict

import tensorflow as tf

from . import distributions as dists

__all__ = ["StochasticTensor", "BayesianNet", "MetaBayesianNet",
           "meta_bayesian_net", "VariableStore", "get_variable"]

_context = threading.local()


def _stack(name):
    if not hasattr(_context, name):
        setattr(_context, name, [])
    return getattr(_context, name)


# ---------------------------------------------------------------------------
# StochasticTensor
# ---------------------------------------------------------------------------
class StochasticTensor:
    """A named random variable in a BayesianNet; converts to its value.

    ``tensor`` is the observed value if the node is observed, otherwise a
    sample (``[n_samples] + batch_shape + value_shape``), drawn once.
    """

    def __init__(self, bn, name, distribution, n_samples=None):
        self.bn = bn
        self.name = name
        self.distribution = distribution
        self.n_samples = n_samples
        self._tensor = None
        self._cond_log_p = None

    @property
    def is_observed(self):
        return self.name in self.bn.observed

    @property
    def dtype(self):
        return self.tensor.dtype

    @property
    def shape(self):
        return self.tensor.shape

    @property
    def tensor(self):
        if self._tensor is None:
            if self.is_observed:
                self._tensor = tf.convert_to_tensor(self.bn.observed[self.name])
            else:
                self._tensor = self.distribution.sample(self.n_samples)
        return self._tensor

    def sample(self, n_samples=None):
        return self.distribution.sample(n_samples)

    def log_prob(self, given):
        return self.distribution.log_prob(given)

    @property
    def cond_log_p(self):
        """Log probability of this node's value given its parents."""
        if self._cond_log_p is None:
            self._cond_log_p = self.distribution.log_prob(self.tensor)
        return self._cond_log_p

    def __repr__(self):
        return (f"StochasticTensor(name={self.name!r}, "
                f"distribution={type(self.distribution).__name__}, "
                f"observed={self.is_observed})")


def _to_tensor(value, dtype=None, name=None, as_ref=False):
    del name, as_ref
    t = value.tensor
    if dtype is not None and not dtype.is_compatible_with(t.dtype):
        raise ValueError(f"StochasticTensor {value.name!r} has dtype "
                         f"{t.dtype.name}, requested {dtype.name}")
    return t


tf.register_tensor_conversion_function(StochasticTensor, _to_tensor)


def _binary(op, reverse=False):
    def method(self, other):
        a, b = (other, self.tensor) if reverse else (self.tensor, other)
        return op(a, b)
    return method


for _name, _op in [("add", lambda a, b: a + b), ("sub", lambda a, b: a - b),
                   ("mul", lambda a, b: a * b), ("truediv", lambda a, b: a / b),
                   ("floordiv", lambda a, b: a // b), ("mod", lambda a, b: a % b),
                   ("pow", lambda a, b: a ** b), ("matmul", lambda a, b: a @ b)]:
    setattr(StochasticTensor, f"__{_name}__", _binary(_op))
    setattr(StochasticTensor, f"__r{_name}__", _binary(_op, reverse=True))
for _name, _op in [("lt", lambda a, b: a < b), ("le", lambda a, b: a <= b),
                   ("gt", lambda a, b: a > b), ("ge", lambda a, b: a >= b),
                   ("and", lambda a, b: a & b), ("or", lambda a, b: a | b)]:
    setattr(StochasticTensor, f"__{_name}__", _binary(_op))
StochasticTensor.__neg__ = lambda self: -self.tensor
StochasticTensor.__abs__ = lambda self: abs(self.tensor)
StochasticTensor.__getitem__ = lambda self, key: self.tensor[key]
StochasticTensor.__array_priority__ = 100


# ---------------------------------------------------------------------------
# BayesianNet
# ---------------------------------------------------------------------------
class BayesianNet:
    """A directed graphical model built node by node.

    :param observed: dict from node name to observed value.  When ``None`` and
        the net is being built by :meth:`MetaBayesianNet.observe`, the
        observations passed there are used.
    """

    def __init__(self, observed=None):
        if observed is None:
            pending = _stack("observed")
            observed = pending[-1] if pending else {}
        if not isinstance(observed, dict):
            raise TypeError(f"observed must be a dict of name -> value, got "
                            f"{type(observed).__name__}")
        self._observed = dict(observed)
        self._nodes = OrderedDict()
        self._log_joint_fn = None

    # -- introspection ---------------------------------------------------
    @property
    def observed(self):
        return self._observed

    @property
    def nodes(self):
        return self._nodes

    def _add(self, name, node):
        if not isinstance(name, str) or not name:
            raise ValueError(f"node name must be a non-empty str, got {name!r}")
        if name in self._nodes:
            raise ValueError(f"BayesianNet already has a node named {name!r}")
        self._nodes[name] = node
        return node

    # -- building --------------------------------------------------------
    def stochastic(self, name, dist, n_samples=None):
        """Add a stochastic node with a given :class:`Distribution`."""
        if not isinstance(dist, dists.Distribution):
            raise TypeError(f"node {name!r}: dist must be a zs Distribution, "
                            f"got {type(dist).__name__}")
        return self._add(name, StochasticTensor(self, name, dist, n_samples))

    def deterministic(self, name, tensor):
        """Add a named deterministic node; returns ``tensor``."""
        tensor = tf.convert_to_tensor(tensor)
        self._add(name, tensor)
        return tensor

    def normal(self, name, mean=0., std=None, logstd=None, n_samples=None,
               group_ndims=0, is_reparameterized=True, **kwargs):
        return self.stochastic(name, dists.Normal(
            mean, std=std, logstd=logstd, group_ndims=group_ndims,
            is_reparameterized=is_reparameterized, **kwargs), n_samples)

    def bernoulli(self, name, logits, n_samples=None, group_ndims=0,
                  dtype=tf.int32, **kwargs):
        return self.stochastic(name, dists.Bernoulli(
            logits, group_ndims=group_ndims, dtype=dtype, **kwargs), n_samples)

    def onehot_categorical(self, name, logits, n_samples=None, group_ndims=0,
                           dtype=tf.int32, **kwargs):
        return self.stochastic(name, dists.OnehotCategorical(
            logits, group_ndims=group_ndims, dtype=dtype, **kwargs), n_samples)

    onehot_discrete = onehot_categorical  # ZhuSuan 0.3 name

    def categorical(self, name, logits, n_samples=None, group_ndims=0,
                    dtype=tf.int32, **kwargs):
        return self.stochastic(name, dists.Categorical(
            logits, group_ndims=group_ndims, dtype=dtype, **kwargs), n_samples)

    discrete = categorical  # ZhuSuan 0.3 name

    # -- queries ---------------------------------------------------------
    def _node(self, name):
        try:
            return self._nodes[name]
        except KeyError:
            raise KeyError(f"BayesianNet has no node {name!r}; nodes are "
                           f"{list(self._nodes)}") from None

    def get(self, names):
        """The node(s) called ``names`` (a str or a list of str)."""
        if isinstance(names, (list, tuple)):
            return [self._node(n) for n in names]
        return self._node(names)

    def __getitem__(self, name):
        return self._node(name)

    def outputs(self, names):
        """Values (tensors) of the node(s) called ``names``."""
        nodes = self.get(names)
        value = (lambda n: n.tensor if isinstance(n, StochasticTensor) else n)
        if isinstance(nodes, list):
            return [value(n) for n in nodes]
        return value(nodes)

    def _stochastic_node(self, name):
        node = self._node(name)
        if not isinstance(node, StochasticTensor):
            raise ValueError(f"node {name!r} is deterministic; it has no "
                             "log probability")
        return node

    def cond_log_prob(self, names):
        """log p(node | parents) for the node(s) called ``names``."""
        if isinstance(names, (list, tuple)):
            return [self._stochastic_node(n).cond_log_p for n in names]
        return self._stochastic_node(names).cond_log_p

    local_log_prob = cond_log_prob  # ZhuSuan 0.3 name

    def log_joint(self):
        """Sum of every stochastic node's conditional log probability
        (broadcast), or the custom ``log_joint`` of the MetaBayesianNet."""
        if self._log_joint_fn is not None:
            return self._log_joint_fn(self)
        terms = [n.cond_log_p for n in self._nodes.values()
                 if isinstance(n, StochasticTensor)]
        if not terms:
            raise ValueError("log_joint of a BayesianNet with no stochastic node")
        return functools.reduce(lambda a, b: a + b, terms)


# ---------------------------------------------------------------------------
# Variables and MetaBayesianNet
# ---------------------------------------------------------------------------
class VariableStore(tf.Module):
    """Named variables of one model, created on first use and then reused."""

    def __init__(self, name=None):
        super().__init__(name=name)
        self._vars = {}
        self._counts = {}

    def reset_names(self):
        self._counts = {}

    def unique_name(self, base):
        i = self._counts.get(base, 0)
        self._counts[base] = i + 1
        return base if i == 0 else f"{base}_{i}"

    def get(self, name, shape, initializer=None, dtype=tf.float32,
            trainable=True):
        shape = tf.TensorShape(shape)
        if name in self._vars:
            var = self._vars[name]
            if not var.shape.is_compatible_with(shape):
                raise ValueError(f"variable {name!r} exists with shape "
                                 f"{var.shape.as_list()}, requested "
                                 f"{shape.as_list()}")
            return var
        if initializer is None:
            initializer = tf.keras.initializers.GlorotUniform()
        # init_scope lifts creation out of a tf.function trace.
        with tf.init_scope():
            value = initializer(shape.as_list(), dtype=dtype) if callable(
                initializer) else tf.cast(initializer, dtype)
            var = tf.Variable(value, trainable=trainable,
                              name=f"{self.name}/{name}" if self.name else name)
        self._vars[name] = var
        return var

    @property
    def variables_by_name(self):
        return dict(self._vars)


def current_store():
    stores = _stack("stores")
    if not stores:
        raise RuntimeError(
            "zs.get_variable / zs.layers.* must be called inside a model "
            "function decorated with @zs.meta_bayesian_net (or inside "
            "`with store.building():`)")
    return stores[-1]


@contextlib.contextmanager
def _building(store, observed):
    store.reset_names()
    _stack("stores").append(store)
    _stack("observed").append(observed)
    try:
        yield
    finally:
        _stack("stores").pop()
        _stack("observed").pop()


def get_variable(name, shape, initializer=None, dtype=tf.float32,
                 trainable=True):
    """Fetch-or-create a variable of the model being built (TF1-style)."""
    return current_store().get(name, shape, initializer, dtype, trainable)


class MetaBayesianNet:
    """A model-building function bound to its arguments and its variables.

    ``observe(**values)`` runs the function with those nodes observed and
    returns the BayesianNet.  Assigning ``meta_bn.log_joint = fn`` (a function
    of the BayesianNet) overrides how the joint log probability is computed,
    as in ZhuSuan 0.4 (e.g. to sum a discrete latent out).
    """

    def __init__(self, f, args=(), kwargs=None, scope=None,
                 reuse_variables=False, store=None):
        self._f = f
        self._args = args
        self._kwargs = kwargs or {}
        self._scope = scope
        self._reuse_variables = reuse_variables
        self._store = store if store is not None else VariableStore(scope)
        self.log_joint = None

    @property
    def store(self):
        return self._store

    @property
    def trainable_variables(self):
        return self._store.trainable_variables

    @property
    def variables(self):
        return self._store.variables

    def observe(self, **kwargs):
        with _building(self._store, kwargs):
            bn = self._f(*self._args, **self._kwargs)
        if not isinstance(bn, BayesianNet):
            raise TypeError(f"model function {self._f.__name__} must return "
                            f"a BayesianNet, got {type(bn).__name__}")
        unknown = set(kwargs) - set(bn.nodes)
        if unknown:
            raise ValueError(f"observed names {sorted(unknown)} are not nodes "
                             f"of {self._f.__name__}; nodes are "
                             f"{list(bn.nodes)}")
        if self.log_joint is not None:
            bn._log_joint_fn = self.log_joint
        return bn


def meta_bayesian_net(scope=None, reuse_variables=False):
    """Decorator turning a BayesianNet-building function into a factory of
    :class:`MetaBayesianNet` (ZhuSuan 0.4).

    With ``reuse_variables=True`` all MetaBayesianNets made by the decorated
    function share one :class:`VariableStore`, available as ``fn.store``
    (``fn.store.trainable_variables`` once the model has been built).
    """

    def decorator(f):
        shared = VariableStore(scope or f.__name__) if reuse_variables else None

        @functools.wraps(f)
        def wrapper(*args, **kwargs):
            return MetaBayesianNet(f, args, kwargs, scope=scope,
                                   reuse_variables=reuse_variables,
                                   store=shared)

        wrapper.store = shared
        return wrapper

    return decorator
