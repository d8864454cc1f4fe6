"""Model evaluation (ZhuSuan ``zs.evaluation``)."""
from .variational import importance_weighted_objective

__all__ = ["is_loglikelihood"]


def is_loglikelihood(meta_bn, observed, latent=None, axis=None, proposal=None):
    """Importance-sampling estimate of log p(observed).

    log (1/K) sum_k p(x, z_k) / q(z_k) with z_k ~ ``proposal`` along ``axis``;
    a stochastic lower bound that tightens as K grows (Burda et al., 2016).

    :param proposal: a BayesianNet whose unobserved stochastic nodes are the
        latents (or give ``latent`` as a dict name -> (samples, log q)).
    :return: ``[batch]`` estimates.
    """
    return importance_weighted_objective(meta_bn, observed, latent=latent,
                                         axis=axis, variational=proposal).tensor
