"""Semi-supervised GMVAE (bonus 3): a few labelled images with z observed.

For a labelled image (x, y) the cluster is observed, z = onehot(y) (cluster k
is class k), and its bound is that of the full joint:

    L_l(x, y) = E_q(h|x)[ log p(x|h) + log p(h|z=y) + log pi_y - log q(h|x) ].

Since log p(h, z=y) = log p(h) + log p(z=y | h), this is the unlabelled bound
plus the log-probability that the model's own cluster posterior gives the
right class: the labels pull each component onto its class.

Weighting.  Each step draws an unlabelled batch (``batch_size``) and a
labelled batch (``labelled_batch_size``, all labelled images when fewer); the
loss is  mean_unlabelled(-L) + labelled_weight * mean_labelled(-L_l).  With
100 labels and 4,000 images this up-weights each labelled image by about
(4000 / 100) * labelled_weight relative to an unlabelled one, which is what
lets 10 images per class name the clusters.
"""
import numpy as np
import tensorflow as tf

from common import zs

__all__ = ["select_labelled", "labelled_lower_bound"]


def select_labelled(labels, per_class, n_classes, seed=0):
    """Seeded choice of ``per_class`` training indices for each class 0..n_classes-1.

    :param labels: ``[N]`` integer labels.
    :return: ``[per_class * n_classes]`` int64 indices (class-major order).
    """
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be 1-D, got shape {labels.shape}")
    if isinstance(per_class, bool) or not isinstance(per_class, (int, np.integer)) \
            or per_class < 1:
        raise ValueError(f"per_class must be an integer >= 1, got {per_class!r}")
    rng = np.random.default_rng(seed)
    out = []
    for c in range(n_classes):
        idx = np.flatnonzero(labels == c)
        if idx.size < per_class:
            raise ValueError(f"class {c} has {idx.size} training images, fewer than "
                             f"labels_per_class={per_class}")
        out.append(rng.choice(idx, per_class, replace=False))
    return np.concatenate(out).astype(np.int64)


def labelled_lower_bound(model, x, z_onehot, n_particles=1):
    """L_l(x, y) per image, ``[n]``: the bound with z observed.

    :param x: ``[n, 784]`` binarised images; ``z_onehot``: ``[n, K]`` float.
    """
    n = tf.shape(x)[0]
    q_bn = model.variational(x, n_particles)
    lb = zs.elbo(model.generative(n, n_particles, marginal=False),
                 {"x": x, "z": z_onehot}, variational=q_bn, axis=0)
    return lb.tensor
