"""A ZhuSuan-compatible core on TensorFlow 2.

ZhuSuan (thu-ml/zhusuan) needs TensorFlow 1; this package carries its
modelling API — distributions with ZhuSuan's shape rules, BayesianNet,
meta_bayesian_net, and the variational objectives — so that model code reads
like ZhuSuan code::

    from common import zs
    bn = zs.BayesianNet(observed={"x": x})
    z = bn.onehot_categorical("z", logits)
"""
from . import distributions, fused, layers, rng
from .rng import random_source
from .bayesian_net import (BayesianNet, MetaBayesianNet, StochasticTensor,
                           VariableStore, get_variable, meta_bayesian_net)
from .distributions import (Bernoulli, Categorical, Distribution, Normal,
                            OnehotCategorical, OnehotDiscrete)
from .evaluation import is_loglikelihood
from .variational import (EvidenceLowerBoundObjective,
                          ImportanceWeightedObjective, NVILState, elbo,
                          importance_weighted_objective, log_mean_exp, nvil,
                          sgvb)

# ZhuSuan's sub-module names, so ``zs.variational.elbo`` etc. also work.
from . import variational, evaluation  # noqa: E402

__all__ = [
    "distributions", "fused", "layers", "variational", "evaluation", "rng",
    "random_source",
    "BayesianNet", "MetaBayesianNet", "StochasticTensor", "VariableStore",
    "get_variable", "meta_bayesian_net",
    "Distribution", "Normal", "Bernoulli", "OnehotCategorical",
    "OnehotDiscrete", "Categorical",
    "elbo", "sgvb", "nvil", "NVILState", "EvidenceLowerBoundObjective",
    "ImportanceWeightedObjective", "importance_weighted_objective",
    "log_mean_exp", "is_loglikelihood",
]
