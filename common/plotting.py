"""Figures saved straight to PNG.

Figures are built with ``matplotlib.figure.Figure`` and the Agg canvas, never
through pyplot, so no window can open and no global figure state leaks between
calls. Each ``plot_*`` function creates the parent folder, saves, releases the
figure and returns the path as str. ``*_figure`` builders return the Figure for
callers (and tests) that want to inspect it.
"""
from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Mapping, Optional, Sequence, Union

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse

__all__ = ["plot_gmm_clusters", "plot_image_grid", "plot_curves", "plot_multi_panel",
           "multi_panel_figure", "plot_heatmap", "plot_scatter_2d", "save_figure"]

PathLike = Union[str, os.PathLike]
Curves = Mapping[str, tuple]


# ----------------------------------------------------------------------------- helpers
def _new_figure(figsize: tuple[float, float]) -> Figure:
    fig = Figure(figsize=figsize)
    FigureCanvasAgg(fig)  # attach the non-interactive canvas
    return fig


def save_figure(fig: Figure, path: PathLike, dpi: int = 100) -> str:
    """Save ``fig`` as PNG (creating parent folders), release it, return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format="png", bbox_inches="tight")
    fig.clear()  # drop artists now; the Figure is not registered with pyplot
    return str(path)


def _points(arr, name: str, n_cols: int = 2) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float64)
    if a.ndim != 2 or a.shape[1] != n_cols:
        raise ValueError(f"{name} must have shape [N, {n_cols}], got {a.shape}")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{name} must be finite")
    return a


def _label_colors(n: int):
    """A qualitative palette with at least n colours."""
    cmap = colormaps["tab10"] if n <= 10 else colormaps["tab20"] if n <= 20 \
        else colormaps["hsv"].resampled(n + 1)
    return [cmap(i % cmap.N) for i in range(max(n, 1))]


# ----------------------------------------------------------------------------- GMM clusters
def _add_ellipses(ax, mu: np.ndarray, sigma2: np.ndarray, colors, linestyle: str,
                  label: Optional[str]) -> None:
    """Axis-aligned 1- and 2-sigma ellipses of diagonal Gaussians."""
    for k in range(mu.shape[0]):
        std = np.sqrt(sigma2[k])
        for r in (1.0, 2.0):
            ax.add_patch(Ellipse(tuple(mu[k]), width=2 * r * std[0], height=2 * r * std[1],
                                 fill=False, edgecolor=colors[k], linestyle=linestyle,
                                 linewidth=1.5 if r == 1.0 else 1.0,
                                 label=label if (k == 0 and r == 1.0) else None))


def plot_gmm_clusters(x, labels, mu, sigma2, path: PathLike, true_mu=None, true_sigma2=None,
                      title: Optional[str] = None) -> str:
    """2-D data coloured by cluster with learned (solid) and true (dashed) ellipses.

    Args:
        x: [N, 2] data.
        labels: [N] integer cluster labels (e.g. argmax q(z|x)) or None (grey).
        mu, sigma2: [K, 2] learned means and diagonal variances.
        path: PNG output path.
        true_mu, true_sigma2: optional [K_true, 2] true parameters (dashed, black).
        title: optional title.
    """
    x = _points(x, "x")
    mu = _points(mu, "mu")
    sigma2 = _points(sigma2, "sigma2")
    if sigma2.shape != mu.shape or np.any(sigma2 <= 0):
        raise ValueError(f"sigma2 must be positive with the shape of mu {mu.shape}, "
                         f"got shape {sigma2.shape}")
    if (true_mu is None) != (true_sigma2 is None):
        raise ValueError("true_mu and true_sigma2 must be given together")
    k = mu.shape[0]
    fig = _new_figure((6, 5))
    ax = fig.add_subplot(1, 1, 1)
    if labels is None:
        ax.scatter(x[:, 0], x[:, 1], s=4, color="0.5", alpha=0.5)
        n_colors = k
    else:
        labels = np.asarray(labels)
        if labels.shape != (x.shape[0],) or not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integer of shape [{x.shape[0]}], got "
                             f"{labels.dtype} {labels.shape}")
        n_colors = max(k, int(labels.max()) + 1 if labels.min() >= 0 else 0, 1)
        palette = _label_colors(n_colors)
        idx = np.mod(labels, n_colors)
        ax.scatter(x[:, 0], x[:, 1], s=4, c=[palette[i] for i in idx], alpha=0.5)
    palette = _label_colors(n_colors)
    _add_ellipses(ax, mu, sigma2, palette, "-", "learned")
    ax.scatter(mu[:, 0], mu[:, 1], marker="x", s=80, c=[palette[i] for i in range(k)],
               linewidths=2, zorder=3)
    if true_mu is not None:
        true_mu = _points(true_mu, "true_mu")
        true_sigma2 = _points(true_sigma2, "true_sigma2")
        if true_sigma2.shape != true_mu.shape or np.any(true_sigma2 <= 0):
            raise ValueError("true_sigma2 must be positive with the shape of true_mu")
        _add_ellipses(ax, true_mu, true_sigma2, ["k"] * true_mu.shape[0], "--", "true")
        ax.scatter(true_mu[:, 0], true_mu[:, 1], marker="+", s=80, c="k", zorder=3)
    ax.set_aspect("equal", adjustable="datalim")
    ax.autoscale_view()
    ax.legend(loc="best", fontsize="small")
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


# ----------------------------------------------------------------------------- images
def plot_image_grid(images, path: PathLike, n_rows: Optional[int] = None,
                    n_cols: Optional[int] = None, row_labels: Optional[Sequence[str]] = None,
                    title: Optional[str] = None, image_shape: tuple[int, int] = (28, 28)) -> str:
    """Tile flattened images into one grey-scale mosaic.

    Args:
        images: [rows, cols, P] (grid given) or [n, P] with P = prod(image_shape),
            values in [0, 1].
        path: PNG output path.
        n_rows, n_cols: grid size for [n, P] input (defaults: near-square).
        row_labels: optional one label per row, shown on the left.
        title: optional title.
        image_shape: (height, width) of one image.
    """
    arr = np.asarray(images, dtype=np.float64)
    h, w = (int(s) for s in image_shape)
    p = h * w
    if arr.ndim not in (2, 3) or arr.shape[-1] != p:
        raise ValueError(f"images must be [n, {p}] or [rows, cols, {p}] for image_shape "
                         f"{image_shape}, got {arr.shape}")
    if arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError("images must be non-empty and finite")
    if arr.min() < -1e-6 or arr.max() > 1 + 1e-6:
        raise ValueError(f"images must lie in [0, 1], got range [{arr.min():.4g}, "
                         f"{arr.max():.4g}]")
    if arr.ndim == 3:
        if n_rows is not None or n_cols is not None:
            raise ValueError("n_rows/n_cols are only for [n, P] input; [rows, cols, P] "
                             "input already fixes the grid")
        n_rows, n_cols = arr.shape[0], arr.shape[1]
        arr = arr.reshape(n_rows * n_cols, p)
    else:
        n = arr.shape[0]
        if n_cols is None:
            n_cols = math.ceil(n / n_rows) if n_rows else math.ceil(math.sqrt(n))
        if n_rows is None:
            n_rows = math.ceil(n / n_cols)
        if n_rows < 1 or n_cols < 1 or n_rows * n_cols < n:
            raise ValueError(f"a {n_rows}x{n_cols} grid cannot hold {n} images")
    if row_labels is not None and len(row_labels) != n_rows:
        raise ValueError(f"row_labels must have one entry per row ({n_rows}), "
                         f"got {len(row_labels)}")
    pad = 1
    mosaic = np.ones((n_rows * (h + pad) + pad, n_cols * (w + pad) + pad))
    for i, img in enumerate(arr):
        r, c = divmod(i, n_cols)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        mosaic[top:top + h, left:left + w] = img.reshape(h, w)
    fig = _new_figure((max(2.0, 0.6 * n_cols + (1.0 if row_labels else 0.0)),
                       max(2.0, 0.6 * n_rows + (0.4 if title else 0.0))))
    ax = fig.add_subplot(1, 1, 1)
    ax.imshow(mosaic, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
    ax.set_xticks([])
    if row_labels is not None:
        ax.set_yticks([pad + r * (h + pad) + h / 2 for r in range(n_rows)])
        ax.set_yticklabels([str(lbl) for lbl in row_labels])
        ax.tick_params(axis="y", length=0)
    else:
        ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


# ----------------------------------------------------------------------------- curves
def _draw_curves(ax, curves: Curves, xlabel: Optional[str], ylabel: Optional[str],
                 title: Optional[str], logy: bool) -> None:
    if not isinstance(curves, Mapping) or not curves:
        raise ValueError("curves must be a non-empty dict {name: (steps, values)}")
    for name, pair in curves.items():
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise ValueError(f"curves[{name!r}] must be a (steps, values) pair")
        steps = np.asarray(pair[0], dtype=np.float64).reshape(-1)
        values = np.asarray(pair[1], dtype=np.float64).reshape(-1)
        if steps.shape != values.shape:
            raise ValueError(f"curves[{name!r}]: steps and values differ in length "
                             f"({steps.size} vs {values.size})")
        ax.plot(steps, values, label=str(name), linewidth=1.2)
    if logy:
        ax.set_yscale("log")
    if xlabel:
        ax.set_xlabel(xlabel)
    if ylabel:
        ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if len(curves) > 1:
        ax.legend(fontsize="small")


def plot_curves(curves: Curves, path: PathLike, xlabel: str = "iteration",
                ylabel: Optional[str] = None, title: Optional[str] = None,
                logy: bool = False) -> str:
    """Line plot of {name: (steps [T], values [T])} on one axis."""
    fig = _new_figure((6, 4))
    _draw_curves(fig.add_subplot(1, 1, 1), curves, xlabel, ylabel, title, logy)
    return save_figure(fig, path)


def multi_panel_figure(panels: Sequence[tuple[str, Curves]], xlabel: str = "iteration",
                       ylabel: Optional[str] = None, title: Optional[str] = None,
                       logy: bool = False, n_cols: Optional[int] = None) -> Figure:
    """Figure with one subplot per (panel title, curves) entry; exactly len(panels) axes."""
    panels = list(panels)
    if not panels:
        raise ValueError("panels must hold at least one (title, curves) entry")
    for i, entry in enumerate(panels):
        if not isinstance(entry, (tuple, list)) or len(entry) != 2:
            raise ValueError(f"panels[{i}] must be a (title, curves) pair")
    n = len(panels)
    n_cols = n_cols or min(n, 3)
    if n_cols < 1:
        raise ValueError(f"n_cols must be >= 1, got {n_cols}")
    n_rows = math.ceil(n / n_cols)
    fig = _new_figure((4.5 * n_cols, 3.5 * n_rows))
    for i, (panel_title, curves) in enumerate(panels):
        # Add only the subplots that are used, so len(fig.axes) == len(panels).
        ax = fig.add_subplot(n_rows, n_cols, i + 1)
        _draw_curves(ax, curves, xlabel, ylabel, panel_title, logy)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_multi_panel(panels: Sequence[tuple[str, Curves]], path: PathLike,
                     xlabel: str = "iteration", ylabel: Optional[str] = None,
                     title: Optional[str] = None, logy: bool = False,
                     n_cols: Optional[int] = None) -> str:
    """Save ``multi_panel_figure(...)`` as PNG; one subplot per panel."""
    fig = multi_panel_figure(panels, xlabel=xlabel, ylabel=ylabel, title=title, logy=logy,
                             n_cols=n_cols)
    return save_figure(fig, path)


# ----------------------------------------------------------------------------- heatmap / scatter
def plot_heatmap(matrix, row_labels: Sequence, col_labels: Sequence, path: PathLike,
                 title: Optional[str] = None, fmt: Optional[str] = "{:.2f}",
                 cmap: str = "viridis") -> str:
    """Annotated heatmap of a [R, C] matrix (e.g. a contingency table or a sweep grid).

    ``fmt`` formats each cell's annotation; None disables annotations. NaN
    cells are left blank.
    """
    m = np.asarray(matrix, dtype=np.float64)
    if m.ndim != 2 or m.size == 0:
        raise ValueError(f"matrix must be a non-empty 2-D array, got shape {m.shape}")
    if len(row_labels) != m.shape[0]:
        raise ValueError(f"row_labels must have {m.shape[0]} entries, got {len(row_labels)}")
    if len(col_labels) != m.shape[1]:
        raise ValueError(f"col_labels must have {m.shape[1]} entries, got {len(col_labels)}")
    fig = _new_figure((max(3.0, 0.8 * m.shape[1] + 2), max(2.5, 0.6 * m.shape[0] + 1.5)))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(np.ma.masked_invalid(m), cmap=cmap, aspect="auto")
    fig.colorbar(image, ax=ax)
    ax.set_xticks(range(m.shape[1]))
    ax.set_xticklabels([str(c) for c in col_labels])
    ax.set_yticks(range(m.shape[0]))
    ax.set_yticklabels([str(r) for r in row_labels])
    if fmt is not None:
        finite = m[np.isfinite(m)]
        mid = (finite.min() + finite.max()) / 2 if finite.size else 0.0
        for (i, j), value in np.ndenumerate(m):
            if np.isfinite(value):
                # Dark text on the bright end of the colormap, white elsewhere.
                ax.text(j, i, fmt.format(value), ha="center", va="center", fontsize=8,
                        color="black" if value > mid else "white")
    if title:
        ax.set_title(title)
    return save_figure(fig, path)


def plot_scatter_2d(points, colors, path: PathLike, title: Optional[str] = None,
                    legend: bool = True) -> str:
    """Scatter of [N, 2] points.

    Integer ``colors`` [N] are treated as classes (qualitative palette, one
    legend entry per class); float ``colors`` as a continuous value (colorbar).
    """
    pts = _points(points, "points")
    c = np.asarray(colors)
    if c.shape != (pts.shape[0],):
        raise ValueError(f"colors must have shape [{pts.shape[0]}], got {c.shape}")
    fig = _new_figure((6, 5))
    ax = fig.add_subplot(1, 1, 1)
    if np.issubdtype(c.dtype, np.integer):
        classes = np.unique(c)
        palette = _label_colors(classes.size)
        for i, cls in enumerate(classes):
            sel = c == cls
            ax.scatter(pts[sel, 0], pts[sel, 1], s=4, color=palette[i], label=str(cls),
                       alpha=0.6)
        if legend:
            ax.legend(markerscale=3, fontsize="small", loc="best")
    else:
        sc = ax.scatter(pts[:, 0], pts[:, 1], s=4, c=c.astype(np.float64), cmap="viridis")
        if legend:
            fig.colorbar(sc, ax=ax)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)
