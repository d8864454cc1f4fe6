"""Held-out evaluation: lower bound, importance-sampled log-likelihood, clusters.

* test lower bound: the training objective (z summed out) on fixed-binarised
  test images, averaged over ``n_particles`` draws of h per image;
* log-likelihood: ``zs.is_loglikelihood`` with q(h|x) as the proposal and
  ``n_samples`` (default 1,000) importance samples, with its standard error
  over the test images (std / sqrt(n));
* clusters: argmax_z p(z | h = mean of q(h|x)), unsupervised accuracy under the
  best one-to-one cluster -> class map (Hungarian), NMI, ARI, purity and the
  number of clusters in use;
* generative purity (:mod:`gmvae.purity`): what each component generates,
  h ~ p(h | z = k) at temperature 1, decoded and labelled by an independent
  classifier trained on the training images only.
"""
from __future__ import annotations

import time
import weakref

import numpy as np
import tensorflow as tf

from common import metrics, zs
from common.training import progress

from .purity import generative_purity

__all__ = ["lower_bound_per_image", "is_loglikelihood", "encode_means",
           "cluster_assignments", "clustering_metrics", "evaluate"]


def _batches(n, size):
    return [(s, min(s + size, n)) for s in range(0, n, size)]


# Compiled evaluation functions per model, kept outside the model so that
# checkpoints do not try to track them.
_EVAL_FNS = weakref.WeakKeyDictionary()


def _fn_cache(model):
    return _EVAL_FNS.setdefault(model, {})


def _eval_generator(model, seed):
    """The model's evaluation generator, reset to ``seed``: an evaluation draws
    the same h whatever was evaluated before it in the process."""
    cache = _fn_cache(model)
    if "rng" not in cache:
        cache["rng"] = tf.random.Generator.from_seed(seed)
    cache["rng"].reset_from_seed(seed)
    return cache["rng"]


def _map_batches(fn, x, batch_size, desc=None, verbose=False):
    """``fn`` over row batches of ``x`` (float32), results concatenated (numpy);
    with ``verbose`` a progress bar called ``desc`` counts the images."""
    x = np.asarray(x, np.float32)
    out = []
    with progress(total=len(x), desc=desc, verbose=verbose) as bar:
        for a, b in _batches(len(x), batch_size):
            out.append(fn(tf.constant(x[a:b])).numpy())
            bar.update(b - a)
    return np.concatenate(out)


def lower_bound_per_image(model, x_bin, n_particles=10, batch_size=500, seed=0):
    """Per-image lower bound ``[n]`` (numpy) on binarised images ``[n, 784]``."""
    cache = _fn_cache(model)
    key = ("lb", n_particles)
    rng = _eval_generator(model, seed)
    if key not in cache:
        @tf.function(reduce_retracing=True)
        def lb_fn(x):
            with zs.random_source(rng):
                q_bn = model.variational(x, n_particles)
                lb = zs.elbo(model.generative(tf.shape(x)[0], n_particles), {"x": x},
                             variational=q_bn, axis=0)
            return lb.tensor
        cache[key] = lb_fn
    return _map_batches(cache[key], x_bin, batch_size)


def is_loglikelihood(model, x_bin, n_samples=1000, batch_size=None, seed=0,
                     verbose=False):
    """Importance-sampled log p(x) per image with q(h|x) as proposal, in
    batches of about 20,000 decoder passes (bounded memory whatever the number
    of images); ``verbose`` shows a progress bar.

    :return: (mean, standard error, per-image ``[n]`` numpy array).
    """
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise ValueError(f"n_samples must be an integer >= 1, got {n_samples!r}")
    cache = _fn_cache(model)
    key = ("is", n_samples)
    rng = _eval_generator(model, seed)
    if key not in cache:
        @tf.function(reduce_retracing=True)
        def ll_fn(x):
            with zs.random_source(rng):
                q_bn = model.variational(x, n_samples)
                return zs.is_loglikelihood(model.generative(tf.shape(x)[0], n_samples),
                                           {"x": x}, proposal=q_bn, axis=0)
        cache[key] = ll_fn
    # About 20,000 decoder passes per call keeps memory near 60 MB.
    batch_size = batch_size or max(1, 20000 // n_samples)
    ll = _map_batches(cache[key], x_bin, batch_size, desc=f"IS log-lik ({n_samples} "
                      "samples)", verbose=verbose)
    stderr = float(ll.std(ddof=1) / np.sqrt(len(ll))) if len(ll) > 1 else float("nan")
    return float(ll.mean()), stderr, ll


def encode_means(model, x, batch_size=1000):
    """Means of q(h|x): ``[n, 784]`` -> ``[n, D]`` numpy."""
    return _map_batches(model.encode_mean, x, batch_size)


def cluster_assignments(model, x, batch_size=1000):
    """argmax_z p(z | h = mean of q(h|x)) per image and the posteriors.

    :return: (assignments ``[n]`` int64, p(z|h) ``[n, K]``).
    """
    h = encode_means(model, x, batch_size)
    probs = tf.exp(model.cluster_log_posterior(tf.constant(h))).numpy()
    return probs.argmax(-1).astype(np.int64), probs


def clustering_metrics(y_true, y_pred) -> dict:
    """Accuracy (Hungarian), NMI, ARI, per-cluster purity and clusters in use."""
    return {
        "accuracy": metrics.cluster_accuracy(y_true, y_pred),
        "nmi": metrics.nmi(y_true, y_pred),
        "ari": metrics.ari(y_true, y_pred),
        "purity": {str(k): v for k, v in metrics.cluster_purity(y_true, y_pred).items()},
        "clusters_used": metrics.clusters_used(y_pred),
        "clusters_used_1pct": metrics.clusters_used(y_pred, min_fraction=0.01),
        "cluster_sizes": np.bincount(y_pred, minlength=0).tolist(),
    }


def evaluate(model, x_test_bin, y_test=None, is_samples=1000, seed=0,
             purity_classifier=None, samples=None, n_purity_samples=100,
             verbose=False) -> dict:
    """Every held-out number of a trained model (see the module docstring).

    :param x_test_bin: ``[n, 784]`` fixed-binarised test images.
    :param y_test: ``[n]`` labels (None: no clustering scores).
    :param purity_classifier: a :class:`gmvae.purity.PurityClassifier` (None:
        no generative purity).
    :param samples: ``[K, n, 784]`` samples per cluster to score (default:
        ``model.sample_per_cluster(n_purity_samples, seed)``).
    """
    out = {"n_test": int(len(x_test_bin))}
    t0 = time.perf_counter()
    out["test_lower_bound"] = float(lower_bound_per_image(model, x_test_bin).mean())
    t1 = time.perf_counter()
    ll, se, _ = is_loglikelihood(model, x_test_bin, is_samples, seed=seed,
                                 verbose=verbose)
    out.update(test_loglik=ll, test_loglik_stderr=se, is_samples=is_samples)
    out["seconds"] = {"lower_bound": t1 - t0, "is_loglik": time.perf_counter() - t1}
    if model.has_clusters:
        pred, _ = cluster_assignments(model, x_test_bin)
        out["pi"] = model.pi().tolist()
        if y_test is not None:
            out.update(clustering_metrics(y_test, pred))
        if purity_classifier is not None:
            if samples is None:
                samples = model.sample_per_cluster(n_purity_samples, seed=seed)
            out["generative_purity"] = generative_purity(samples, purity_classifier)
    return out
