"""Autoencoder pre-training and GMM initialisation of the mixture (bonus 4).

Why: trained from a random start, the GMVAE's mixture learns faster than the
encoder can spread the codes, so a few components take all the data (the
reference ZhuSuan run ended with 2-4 clusters in use).  As in VaDE (Jiang et
al., 2017) the encoder mean and the decoder are first trained as a plain
autoencoder, x -> m(x) -> p(x | h = m(x)), and a diagonal Gaussian mixture
fitted to the codes m(x) sets pi, mu and sigma^2; the GMVAE then starts from
K well-populated, well-separated components.
"""
import numpy as np
import tensorflow as tf

__all__ = ["autoencoder_loss", "fit_gmm_prior"]


def autoencoder_loss(model, x):
    """-mean log p(x | h = mean of q(h|x)): the autoencoder cost, scalar.

    :param x: ``[n, 784]`` binarised images.
    """
    q_bn = model.variational(x)
    n = x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]
    bn = model.generative(n, marginal=False).observe(x=x, h=q_bn["h_mean"])
    return -tf.reduce_mean(bn.cond_log_prob("x"))


def fit_gmm_prior(model, codes, seed=0, means_init=None):
    """Fit a K-component diagonal GMM to ``codes`` ``[N, D]`` and assign it to
    the model's (pi, mu, sigma^2).  Returns the fitted sklearn mixture.

    :param means_init: optional ``[K, D]`` starting means (semi-supervised: the
        mean code of each class's labelled images, so that component k starts
        on class k, which the observed z = k of the labelled images requires).
    """
    from sklearn.mixture import GaussianMixture  # only this path needs sklearn's GMM

    codes = np.asarray(codes, np.float64)
    k = model.config.n_clusters
    if codes.shape[0] < k:
        raise ValueError(f"need at least K={k} codes to fit the GMM, got {codes.shape[0]}")
    gmm = GaussianMixture(n_components=k, covariance_type="diag", reg_covar=1e-4,
                          n_init=3 if means_init is None else 1, max_iter=200,
                          random_state=seed, means_init=means_init)
    gmm.fit(codes)
    model.set_prior(gmm.weights_, gmm.means_, gmm.covariances_)
    return gmm
