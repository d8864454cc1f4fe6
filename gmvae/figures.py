"""Figures of a trained GMVAE (PNG files via :mod:`common.plotting`).

File names (under the run's output folder):

* ``samples_per_cluster.png`` — K x n grid: row k decodes h ~ p(h | z = k)
  (the assignment's required plot);
* ``cluster_means.png``       — per cluster: the decoded centre f(mu_k) and the
  mean of the test images assigned to it;
* ``reconstructions.png``     — test images (grey, binarised) and their
  reconstructions p(x | h = mean of q(h|x));
* ``test_by_cluster.png``     — up to n test images per assigned cluster;
* ``latent_by_label.png`` / ``latent_by_cluster.png`` — 2-D PCA view of the
  test images' latent means, coloured by true label / by assigned cluster;
* ``learning_curves.png``     — train/test bound, and test accuracy / NMI.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from common import plotting

from .evaluation import cluster_assignments, encode_means

__all__ = ["FIGURE_NAMES", "make_figures", "pca_2d", "side_by_side_samples",
           "purity_row_labels", "purity_caption"]

FIGURE_NAMES = ("samples_per_cluster.png", "cluster_means.png", "reconstructions.png",
                "test_by_cluster.png", "latent_by_label.png", "latent_by_cluster.png",
                "learning_curves.png")


def pca_2d(h):
    """First two principal components of ``[n, D]`` -> ``[n, 2]``."""
    h = np.asarray(h, np.float64)
    centred = h - h.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T if vt.shape[0] >= 2 else np.c_[centred @ vt[:1].T,
                                                             np.zeros(len(h))]


def _curves(history, names):
    out = {}
    for name in names:
        if history.get(name):
            pts = np.asarray(history[name], np.float64)
            out[name] = (pts[:, 0], pts[:, 1])
    return out


def side_by_side_samples(grids, titles, path, title=None):
    """Several [K, n, P] sample grids next to each other, separated by a blank column."""
    k, _, p = grids[0].shape
    blank = np.ones((k, 1, p))
    parts = []
    for i, g in enumerate(grids):
        if i:
            parts.append(blank)
        parts.append(g)
    return plotting.plot_image_grid(np.concatenate(parts, 1), path,
                                    row_labels=[str(r) for r in range(k)],
                                    title=title or "  |  ".join(titles))


def purity_row_labels(purity, k):
    """Row labels ``z=k → 5: 92%`` (majority class, its share) of a sample grid."""
    if purity is None:
        return [f"z={i}" for i in range(k)]
    return [f"z={i} → {c['majority_class']}: {100 * c['share']:.0f}%"
            for i, c in enumerate(purity["per_cluster"])]


def purity_caption(purity) -> str:
    """One line stating the generative purity of a grid and its classifier."""
    if purity is None:
        return ""
    clf = purity["classifier"]
    return (f"generative purity {purity['mean']:.2f} (worst {purity['worst']:.2f}, "
            f"{purity['n_distinct_majority']} digits; {purity['n_per_cluster']}/cluster, "
            f"classifier acc. {clf['held_out_accuracy']:.3f}"
            + ("" if purity["trustworthy"] else ", UNTRUSTWORTHY") + ")")


def make_figures(model, out_dir, x_test, x_test_bin, y_test=None, history=None,
                 n_per_cluster=10, seed=0, samples=None, purity=None) -> dict:
    """Write every figure; returns {file name: path}.

    :param samples: ``[K, n, 784]`` samples per cluster already drawn (the
        grid shows the first ``n_per_cluster``); default: a new draw.
    :param purity: their :func:`gmvae.purity.generative_purity`, written on
        the grid (majority digit and share per row, mean and worst in the title).
    """
    out_dir = Path(out_dir)
    paths = {}
    n_show = min(10, len(x_test))
    h_mean = encode_means(model, x_test_bin)
    recon = model.decode_mean(h_mean[:n_show]).numpy()
    paths["reconstructions.png"] = plotting.plot_image_grid(
        np.stack([x_test[:n_show], x_test_bin[:n_show], recon]),
        out_dir / "reconstructions.png", row_labels=["test", "binarised", "recon."],
        title="Reconstructions (mean of p(x | h = mean q(h|x)))")
    points = pca_2d(h_mean)
    if y_test is not None:
        paths["latent_by_label.png"] = plotting.plot_scatter_2d(
            points, y_test, out_dir / "latent_by_label.png",
            title="Latent means (PCA), coloured by label")
    if model.has_clusters:
        k = model.config.n_clusters
        if samples is None:
            samples = model.sample_per_cluster(n_per_cluster, seed=seed)
        paths["samples_per_cluster.png"] = plotting.plot_image_grid(
            np.asarray(samples)[:, :n_per_cluster], out_dir / "samples_per_cluster.png",
            row_labels=purity_row_labels(purity, k),
            title="Samples per cluster: h ~ p(h|z) (T=1), mean of p(x|h)\n"
                  + purity_caption(purity))
        pred, _ = cluster_assignments(model, x_test_bin)
        centres = model.decode_mean(model.prior_params()[1]).numpy()
        means = np.stack([x_test[pred == i].mean(0) if np.any(pred == i)
                          else np.zeros(x_test.shape[1]) for i in range(k)])
        paths["cluster_means.png"] = plotting.plot_image_grid(
            np.stack([centres, means]), out_dir / "cluster_means.png",
            row_labels=["f(mu_k)", "mean img"], title="Per cluster k = 0..K-1")
        grid = np.ones((k, n_per_cluster, x_test.shape[1]))
        for i in range(k):
            members = x_test[pred == i][:n_per_cluster]
            grid[i, :len(members)] = members
        paths["test_by_cluster.png"] = plotting.plot_image_grid(
            grid, out_dir / "test_by_cluster.png",
            row_labels=[f"{i} ({int(np.sum(pred == i))})" for i in range(k)],
            title="Test images by assigned cluster (count)")
        paths["latent_by_cluster.png"] = plotting.plot_scatter_2d(
            points, pred, out_dir / "latent_by_cluster.png",
            title="Latent means (PCA), coloured by cluster")
    if history:
        panels = [("lower bound (nats)", _curves(history, ["train_lower_bound",
                                                           "test_lower_bound"]))]
        clusters = _curves(history, ["test_accuracy", "test_nmi"])
        if clusters:
            panels.append(("clustering (test)", clusters))
        panels = [p for p in panels if p[1]]
        if panels:
            paths["learning_curves.png"] = plotting.plot_multi_panel(
                panels, out_dir / "learning_curves.png", xlabel="epoch")
    return {name: str(path) for name, path in paths.items()}
