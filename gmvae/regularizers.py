"""Regularisers for pure clusters without labels (bonus 4).

All act on the cluster posterior p(z | h) of the model itself (the same p(z|h)
that the bound sums over), computed at the reparameterised h ~ q(h | x):

* ``pull``    E_p(z|h)[ 0.5 ||m(x) - mu_z||^2 / sigma_z^2 ] with m(x) the mean
  of q(h|x) and the responsibilities held fixed (stop-gradient): like the
  Serket VAE+GMM's KL(q(h|x) || N(mu_z, .)) it draws each code towards the
  centre of its own cluster and the centres towards their members (a k-means
  step inside the bound), tightening clusters.
* ``balance`` KL( mean_x p(z|h) || uniform ): keeps the marginal cluster usage
  near uniform, the direct remedy for the collapse onto 2-4 components.
* ``entropy`` mean_x H(p(z|h)): sharpens the assignments; with ``balance`` it
  maximises the mutual information between x and z (as in IMSAT / RIM).

* ``neighbour`` -log sum_z p(z | m(x)) p(z | m(x')) with x' drawn from the
  nearest training images of x in pixel space (precomputed once): images that
  look alike should share a cluster (the consistency idea of SCAN, Van
  Gansbeke et al., 2020, with pixel-space neighbours instead of learned ones).
  It transfers the good local structure of MNIST (a pixel-space nearest
  neighbour has the same digit about 9 times in 10) to the clusters; with
  ``balance`` it cannot be satisfied by one big cluster.

* ``augment`` KL( p(z | m(x)) || p(z | m(x')) ) with x' a random affine
  distortion of x (:mod:`gmvae.augment`: rotation up to 15 degrees, shear
  (slant) up to 0.3, scale +-10 %, shift up to 2 px) and the first argument
  held fixed: the self-augmented training of IMSAT (Hu et al., 2017).  It
  tells the clusters which variations do not change a digit, which the
  pixel-space geometry that the bound sees does not know; with ``balance`` +
  ``entropy`` (the mutual information) it is the scheme that reaches pure
  clusters here.  The shear matters: without it, runs often ended with the
  4s and 9s shared by two clusters split by slant (mean slants -0.2 and
  +0.2, each cluster about half 4s and half 9s).

Training schemes that are not loss terms live in :mod:`gmvae.pretrain`
(autoencoder pre-training + GMM initialisation) and in the learning loop
(``pi_fixed_epochs``).
"""
import tensorflow as tf

from .model import cluster_log_posterior

__all__ = ["regularizer_terms", "weighted_penalty", "uses_regularizers",
           "neighbour_consistency", "augmentation_consistency", "generative_consistency",
           "nearest_neighbours"]


def regularizer_terms(model, q_bn):
    """The three penalties (scalars, to be minimised) for one batch.

    :param model: a :class:`gmvae.model.GMVAE` with a mixture prior.
    :param q_bn: the q(h|x) BayesianNet of the batch (``h``: [S, n, D],
        ``h_mean``: [n, D]).
    :return: dict ``pull``, ``balance``, ``entropy`` of scalar tensors.
    """
    pi_logits, h_means, h_logstds = model.prior_params()
    log_r = model.cluster_log_posterior(q_bn["h"].tensor)        # [S, n, K]
    r = tf.exp(log_r)
    k = tf.cast(tf.shape(r)[-1], r.dtype)
    # pull: squared standardised distance of m(x) to every centre  [n, K]
    diff = (q_bn["h_mean"][:, None, :] - h_means) * tf.exp(-h_logstds)
    dist = 0.5 * tf.reduce_sum(tf.square(diff), -1)
    pull = tf.reduce_mean(tf.reduce_sum(tf.stop_gradient(tf.reduce_mean(r, 0)) * dist, -1))
    p_bar = tf.reduce_mean(tf.reshape(r, [-1, tf.shape(r)[-1]]), 0)   # [K]
    balance = tf.reduce_sum(p_bar * (tf.math.log(p_bar + 1e-12) + tf.math.log(k)))
    entropy = tf.reduce_mean(-tf.reduce_sum(r * log_r, -1))
    return {"pull": pull, "balance": balance, "entropy": entropy}


def neighbour_consistency(model, h_mean, h_mean_nn):
    """-mean log sum_z p(z | h_mean) p(z | h_mean_nn), both ``[n, D]`` -> scalar."""
    log_r = model.cluster_log_posterior(h_mean)
    log_r_nn = model.cluster_log_posterior(h_mean_nn)
    return -tf.reduce_mean(tf.reduce_logsumexp(log_r + log_r_nn, -1))


def augmentation_consistency(model, h_mean, h_mean_aug):
    """mean KL(p(z | h_mean) || p(z | h_mean_aug)) with the first held fixed,
    both ``[n, D]`` -> scalar."""
    log_r = tf.stop_gradient(model.cluster_log_posterior(h_mean))
    log_r_aug = model.cluster_log_posterior(h_mean_aug)
    return tf.reduce_mean(tf.reduce_sum(tf.exp(log_r) * (log_r - log_r_aug), -1))


def nearest_neighbours(images, k, batch_size=1000):
    """Indices ``[N, k]`` of the k nearest other images (Euclidean, pixel space)."""
    import numpy as np

    x = np.asarray(images, np.float32)
    if k >= len(x):
        raise ValueError(f"n_neighbours={k} must be smaller than the {len(x)} images")
    sq = (x ** 2).sum(1)
    out = np.empty((len(x), k), np.int64)
    for a in range(0, len(x), batch_size):
        d = sq[a:a + batch_size, None] - 2.0 * x[a:a + batch_size] @ x.T + sq[None]
        d[np.arange(d.shape[0]), np.arange(a, a + d.shape[0])] = np.inf  # not itself
        part = np.argpartition(d, k, axis=1)[:, :k]
        order = np.take_along_axis(d, part, 1).argsort(1)
        out[a:a + batch_size] = np.take_along_axis(part, order, 1)
    return out


def weighted_penalty(terms, config):
    """sum of weight * term for the weights set in ``config`` (0 when none)."""
    total = tf.constant(0.)
    for name in ("pull", "balance", "entropy"):
        w = getattr(config, f"{name}_weight")
        if w:
            total = total + w * terms[name]
    return total


def uses_regularizers(config) -> bool:
    """Whether any penalty of :func:`regularizer_terms` is weighted (the
    neighbour and augmentation terms need their own batches and are added
    separately), so the step skips computing terms that would be dropped."""
    return bool(config.pull_weight or config.balance_weight or config.entropy_weight)


def generative_consistency(model, per_cluster, seed):
    """E_k E_{h ~ p(h|z=k)}[ -log p(z = k | m(f(h))) ] -> scalar.

    ``per_cluster`` draws h ~ N(mu_k, sigma_k^2) per component k ``[K * n, D]``
    are decoded to Bernoulli means f(h) ``[K * n, 784]``, encoded again to the
    means m of q(h | x) and scored by the model's own cluster posterior.  The
    prior's parameters are held fixed here (they follow the bound and its EM
    step); the decoder learns to draw, from every point a component puts
    mass on, a digit the encoder files under that component, and the encoder
    to file it there (InfoGAN's mutual-information bound, Chen et al., 2016).
    """
    pi_logits, h_means, h_logstds = (tf.stop_gradient(v) for v in model.prior_params())
    k = tf.shape(h_means)[0]
    z = tf.repeat(tf.eye(k), per_cluster, axis=0)                       # [K n, K]
    mean = tf.matmul(z, h_means)                                        # [K n, D]
    eps = tf.random.stateless_normal(tf.shape(mean), seed)
    h = mean + tf.exp(tf.matmul(z, h_logstds)) * eps
    h_again = model.encode_mean(model.decode_mean(h))
    log_r = cluster_log_posterior(h_again, pi_logits, h_means, h_logstds)
    return -tf.reduce_mean(tf.reduce_sum(z * log_r, -1))
