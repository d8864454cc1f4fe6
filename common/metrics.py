"""Clustering metrics and comparisons of learned vs. true mixture parameters."""
from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist
from scipy.special import logsumexp
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from common.data import GMMParams

__all__ = ["hungarian_mapping", "cluster_accuracy", "nmi", "ari", "cluster_purity",
           "clusters_used", "contingency_table", "match_components", "parameter_errors",
           "gmm_mean_loglik"]


# ----------------------------------------------------------------------------- validation
def _check_label_array(y, name: str) -> np.ndarray:
    """A non-empty 1-D integer array, or a ValueError naming ``name``."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} must not be empty")
    if not np.issubdtype(arr.dtype, np.integer):
        raise ValueError(f"{name} must hold integer labels, got dtype {arr.dtype}")
    return arr


def _check_label_pair(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    y_true = _check_label_array(y_true, "y_true")
    y_pred = _check_label_array(y_pred, "y_pred")
    if y_true.shape[0] != y_pred.shape[0]:
        raise ValueError(f"y_true and y_pred must have the same length, got "
                         f"{y_true.shape[0]} and {y_pred.shape[0]}")
    return y_true, y_pred


# ----------------------------------------------------------------------------- clustering
def contingency_table(y_true, y_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Counts of (cluster, class) pairs.

    Returns:
        table: [n_clusters, n_classes] int64, table[i, j] = #points with
            y_pred == clusters[i] and y_true == classes[j].
        clusters: [n_clusters] sorted distinct values of y_pred.
        classes: [n_classes] sorted distinct values of y_true.
    """
    y_true, y_pred = _check_label_pair(y_true, y_pred)
    clusters, pred_idx = np.unique(y_pred, return_inverse=True)
    classes, true_idx = np.unique(y_true, return_inverse=True)
    table = np.zeros((clusters.size, classes.size), dtype=np.int64)
    np.add.at(table, (pred_idx, true_idx), 1)
    return table, clusters, classes


def hungarian_mapping(y_true, y_pred) -> dict[int, int]:
    """One-to-one cluster -> class assignment maximising the number of matches.

    Solved with ``linear_sum_assignment`` on the contingency table. When the
    number of clusters differs from the number of classes, only
    min(#clusters, #classes) pairs are formed; clusters left unmatched are
    absent from the mapping and their points count as wrong (the standard
    unsupervised clustering accuracy).

    Returns:
        dict {predicted cluster id: true label} for the matched clusters.
    """
    table, clusters, classes = contingency_table(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return {int(clusters[r]): int(classes[c]) for r, c in zip(rows, cols)}


def cluster_accuracy(y_true, y_pred) -> float:
    """Unsupervised clustering accuracy under the one-to-one Hungarian mapping.

    Points in clusters that the mapping leaves unmatched count as wrong.
    """
    table, _, _ = contingency_table(y_true, y_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def nmi(y_true, y_pred) -> float:
    """Normalised mutual information (sklearn, arithmetic normalisation)."""
    y_true, y_pred = _check_label_pair(y_true, y_pred)
    return float(normalized_mutual_info_score(y_true, y_pred))


def ari(y_true, y_pred) -> float:
    """Adjusted Rand index (sklearn)."""
    y_true, y_pred = _check_label_pair(y_true, y_pred)
    return float(adjusted_rand_score(y_true, y_pred))


def cluster_purity(y_true, y_pred) -> dict[int, float]:
    """Per cluster, the fraction of its points that belong to its majority class.

    Returns:
        dict {cluster id: purity in (0, 1]} for every cluster present in y_pred.
    """
    table, clusters, _ = contingency_table(y_true, y_pred)
    sizes = table.sum(axis=1)
    return {int(c): float(table[i].max() / sizes[i]) for i, c in enumerate(clusters)}


def clusters_used(y_pred, min_fraction: float = 0.0) -> int:
    """Number of clusters holding at least ``min_fraction`` of the points.

    With the default 0 this is the number of distinct values in ``y_pred``.
    """
    y_pred = _check_label_array(y_pred, "y_pred")
    if not 0.0 <= min_fraction <= 1.0:
        raise ValueError(f"min_fraction must be in [0, 1], got {min_fraction!r}")
    _, counts = np.unique(y_pred, return_counts=True)
    return int(np.sum(counts / y_pred.shape[0] >= min_fraction))


# ----------------------------------------------------------------------------- GMM parameters
def _check_means(mu, name: str) -> np.ndarray:
    arr = np.asarray(mu, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[0] < 1:
        raise ValueError(f"{name} must be 2-D [K, D] with K >= 1, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite")
    return arr


def match_components(true_mu, learned_mu) -> np.ndarray:
    """Match learned components to true ones by minimum total Euclidean distance.

    Args:
        true_mu: [K, D] true means.
        learned_mu: [K', D] learned means, K' >= K (usually K' == K).

    Returns:
        perm: [K] int64; learned component ``perm[k]`` matches true component k,
        so ``learned_mu[perm]`` lines up with ``true_mu``.
    """
    true_mu = _check_means(true_mu, "true_mu")
    learned_mu = _check_means(learned_mu, "learned_mu")
    if true_mu.shape[1] != learned_mu.shape[1]:
        raise ValueError(f"true_mu and learned_mu must have the same dimension D, got "
                         f"{true_mu.shape[1]} and {learned_mu.shape[1]}")
    if learned_mu.shape[0] < true_mu.shape[0]:
        raise ValueError(f"learned_mu must have at least as many components as true_mu "
                         f"(K={true_mu.shape[0]}), got {learned_mu.shape[0]}")
    rows, cols = linear_sum_assignment(cdist(true_mu, learned_mu))
    perm = np.empty(true_mu.shape[0], dtype=np.int64)
    perm[rows] = cols
    return perm


def parameter_errors(true: GMMParams, learned: GMMParams) -> dict:
    """Errors of learned mixture parameters after matching components.

    Components are matched on the means (``match_components``); the learned
    model may have more components than the true one (extra ones are ignored).

    Returns:
        dict with
          perm: list[int], learned index matched to each true component;
          pi_abs_err: max_k |pi_k - pi'_perm[k]|;
          mu_err: max_k ||mu_k - mu'_perm[k]||;
          mu_err_sigma: max_k ||mu_k - mu'_perm[k]|| / sqrt(mean_d sigma2_kd)
              (distance in units of the true component's standard deviation);
          sigma2_rel_err: max_{k,d} |sigma2'_perm[k],d - sigma2_kd| / sigma2_kd;
          matched_pi [K], matched_mu [K][D], matched_sigma2 [K][D]: the learned
              parameters reordered to line up with the true ones (lists).
    """
    for name, value in (("true", true), ("learned", learned)):
        if not isinstance(value, GMMParams):
            raise ValueError(f"{name} must be a GMMParams, got {type(value).__name__}")
    if true.d != learned.d:
        raise ValueError(f"true and learned must have the same dimension D, got "
                         f"{true.d} and {learned.d}")
    perm = match_components(true.mu, learned.mu)
    pi, mu, sigma2 = learned.pi[perm], learned.mu[perm], learned.sigma2[perm]
    dist = np.linalg.norm(true.mu - mu, axis=1)
    true_sigma = np.sqrt(true.sigma2.mean(axis=1))
    return {
        "perm": perm.tolist(),
        "pi_abs_err": float(np.max(np.abs(true.pi - pi))),
        "mu_err": float(np.max(dist)),
        "mu_err_sigma": float(np.max(dist / true_sigma)),
        "sigma2_rel_err": float(np.max(np.abs(sigma2 - true.sigma2) / true.sigma2)),
        "matched_pi": pi.tolist(),
        "matched_mu": mu.tolist(),
        "matched_sigma2": sigma2.tolist(),
    }


def gmm_mean_loglik(x, params: GMMParams) -> float:
    """Exact mean log-likelihood per point under a diagonal GMM.

    log p(x) = logsumexp_k [log pi_k + sum_d log N(x_d; mu_kd, sigma2_kd)].

    Args:
        x: [N, D] data.
        params: the mixture (D must match).

    Returns:
        (1/N) sum_n log p(x_n), a float.
    """
    if not isinstance(params, GMMParams):
        raise ValueError(f"params must be a GMMParams, got {type(params).__name__}")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1:
        raise ValueError(f"x must be 2-D [N, D] with N >= 1, got shape {x.shape}")
    if x.shape[1] != params.d:
        raise ValueError(f"x must have D={params.d} columns to match params, got {x.shape[1]}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite, found NaN or inf")
    diff2 = (x[:, None, :] - params.mu[None]) ** 2                      # [N, K, D]
    log_norm = -0.5 * (np.log(2.0 * np.pi * params.sigma2)[None] + diff2 / params.sigma2[None])
    with np.errstate(divide="ignore"):  # pi_k = 0 -> log 0 = -inf is fine in logsumexp
        log_pi = np.log(params.pi)
    log_px = logsumexp(log_pi[None] + log_norm.sum(axis=2), axis=1)  # [N]
    return float(np.mean(log_px))
