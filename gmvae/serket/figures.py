"""Figures of the Serket VAE+GMM benchmark (Agg, saved as PNG)."""
from __future__ import annotations

import os
from typing import Sequence, Union

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from sklearn.decomposition import PCA

from common.plotting import multi_panel_figure, save_figure

__all__ = ["plot_pca_before_after", "plot_rounds"]

PathLike = Union[str, os.PathLike]


def plot_pca_before_after(z_before, z_after, labels, path: PathLike, title: str = "") -> str:
    """Two panels: the first two principal components of z [N, D] before and
    after the mutual learning, coloured by true class [N]."""
    labels = np.asarray(labels)
    fig = Figure(figsize=(11, 5))
    FigureCanvasAgg(fig)
    cmap = colormaps["tab10"]
    classes = np.unique(labels)
    for i, (z, name) in enumerate([(z_before, "before (first VAE update)"),
                                   (z_after, "after mutual learning")]):
        ax = fig.add_subplot(1, 2, i + 1)
        p = PCA(n_components=2).fit_transform(np.asarray(z, dtype=np.float64))
        for j, c in enumerate(classes):
            sel = labels == c
            ax.scatter(p[sel, 0], p[sel, 1], s=4, color=cmap(j % 10), label=str(c), alpha=0.7)
        ax.set_title(f"z1 {name}")
        ax.set_xlabel("PC 1")
        ax.set_ylabel("PC 2")
    fig.axes[-1].legend(title="true class", markerscale=3, fontsize=8, loc="best")
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def plot_rounds(runs: Sequence[dict], path: PathLike) -> str:
    """Accuracy and NMI per round, one curve per seed."""
    acc, nmi = {}, {}
    for run in runs:
        rounds = [r["round"] + 1 for r in run["rounds"]]
        acc[f"seed {run['seed']}"] = (rounds, [r["accuracy"] for r in run["rounds"]])
        nmi[f"seed {run['seed']}"] = (rounds, [r["nmi"] for r in run["rounds"]])
    fig = multi_panel_figure([("accuracy (Hungarian)", acc), ("NMI", nmi)], xlabel="round")
    for ax in fig.axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))   # rounds are whole
    return save_figure(fig, path)
