"""Tests for common.plotting: every function writes a real PNG."""
import numpy as np
import pytest
from matplotlib.image import imread

from common.data import default_gmm_params, sample_gmm
from common.plotting import (multi_panel_figure, plot_curves, plot_gmm_clusters,
                             plot_heatmap, plot_image_grid, plot_multi_panel,
                             plot_scatter_2d)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, expected_path):
    assert path == str(expected_path)
    data = expected_path.read_bytes()
    assert data[:8] == PNG_MAGIC and len(data) > 1000
    img = imread(path)
    # Not a blank canvas: something was drawn.
    assert img[..., :3].std() > 0.01
    return img


@pytest.mark.rubric("P2.R4")
def test_plot_gmm_clusters(tmp_path):
    p = default_gmm_params()
    x, z = sample_gmm(p, 300, seed=0)
    out = tmp_path / "deep" / "gmm.png"  # parent folder is created
    _assert_png(plot_gmm_clusters(x, z, p.mu + 0.3, p.sigma2 * 1.2, out, true_mu=p.mu,
                                  true_sigma2=p.sigma2, title="fit"), out)
    out2 = tmp_path / "gmm_nolabels.png"
    _assert_png(plot_gmm_clusters(x, None, p.mu, p.sigma2, out2), out2)
    with pytest.raises(ValueError, match="true_mu and true_sigma2"):
        plot_gmm_clusters(x, z, p.mu, p.sigma2, out2, true_mu=p.mu)
    with pytest.raises(ValueError, match="x must have shape"):
        plot_gmm_clusters(x[:, :1], z, p.mu, p.sigma2, out2)


@pytest.mark.rubric("P3.R4")
def test_plot_image_grid_layouts(tmp_path):
    rng = np.random.default_rng(0)
    grid = rng.random((3, 5, 784))
    out = tmp_path / "grid.png"
    _assert_png(plot_image_grid(grid, out, row_labels=["a", "b", "c"], title="t"), out)
    flat = tmp_path / "flat.png"
    _assert_png(plot_image_grid(rng.random((10, 784)), flat, n_cols=5), flat)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        plot_image_grid(grid * 255, out)
    with pytest.raises(ValueError, match="row_labels"):
        plot_image_grid(grid, out, row_labels=["a"])
    with pytest.raises(ValueError, match="cannot hold"):
        plot_image_grid(rng.random((10, 784)), out, n_rows=2, n_cols=2)


def test_plot_image_grid_shows_pixels(tmp_path):
    # A single white image on the white padding vs. a black one: mean brightness differs.
    white, black = tmp_path / "w.png", tmp_path / "b.png"
    plot_image_grid(np.ones((1, 784)), white, title="x")
    plot_image_grid(np.zeros((1, 784)), black, title="x")
    assert imread(white)[..., :3].mean() > imread(black)[..., :3].mean() + 0.1


def test_plot_curves_and_multi_panel(tmp_path):
    steps = np.arange(50)
    curves = {"elbo": (steps, -100 + np.log1p(steps)), "test": (steps, -101 + np.log1p(steps))}
    out = tmp_path / "curves.png"
    _assert_png(plot_curves(curves, out, ylabel="nats", title="ELBO"), out)
    logy = tmp_path / "logy.png"
    _assert_png(plot_curves({"loss": (steps, np.exp(-steps / 10.0))}, logy, logy=True), logy)
    with pytest.raises(ValueError, match="differ in length"):
        plot_curves({"bad": (steps, steps[:-1])}, out)

    panels = [(f"K={k}", {"elbo": (steps, steps * k)}) for k in range(1, 6)]
    fig = multi_panel_figure(panels)
    assert len(fig.axes) == 5
    assert [ax.get_title() for ax in fig.axes] == [f"K={k}" for k in range(1, 6)]
    out = tmp_path / "multi.png"
    one = tmp_path / "one.png"
    _assert_png(plot_multi_panel(panels, out, title="sweep"), out)
    plot_multi_panel(panels[:1], one)
    # Five panels in a 3-column grid make a wider and taller image than one panel.
    big, small = imread(out), imread(one)
    assert big.shape[0] > small.shape[0] and big.shape[1] > 2 * small.shape[1]
    with pytest.raises(ValueError, match="panels"):
        plot_multi_panel([], out)


def test_plot_heatmap(tmp_path):
    m = np.arange(12, dtype=float).reshape(3, 4)
    m[0, 0] = np.nan
    out = tmp_path / "heat.png"
    _assert_png(plot_heatmap(m, ["a", "b", "c"], [1, 2, 3, 4], out, title="h"), out)
    with pytest.raises(ValueError, match="col_labels"):
        plot_heatmap(m, ["a", "b", "c"], [1, 2], out)


def test_plot_scatter_2d(tmp_path):
    rng = np.random.default_rng(1)
    pts = rng.standard_normal((200, 2))
    out = tmp_path / "classes.png"
    _assert_png(plot_scatter_2d(pts, rng.integers(0, 10, 200), out, title="z"), out)
    cont = tmp_path / "cont.png"
    _assert_png(plot_scatter_2d(pts, pts[:, 0], cont, legend=True), cont)
    with pytest.raises(ValueError, match="colors must have shape"):
        plot_scatter_2d(pts, np.zeros(3, dtype=int), out)
