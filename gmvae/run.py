"""One complete run: data -> fit -> evaluation -> figures -> ``metrics.json``.

``run(config, out_dir)`` is what the ``gmvae`` CLI calls and what a report
generator can call directly.  Output folder layout::

    out_dir/metrics.json        every number (config, timings, test metrics, history)
    out_dir/history.json        per-epoch curves (also in TensorBoard)
    out_dir/tensorboard/        TensorBoard scalars
    out_dir/checkpoints/        tf.train checkpoints (one per epoch) + config.json
    out_dir/*.png               figures (see gmvae.figures)
"""
from __future__ import annotations

import time
from pathlib import Path

from common.data import binarize_fixed, load_mnist, train_test_split
from common.training import ensure_outdir, write_json

from .config import GMVAEConfig
from .evaluation import evaluate
from .figures import make_figures
from .learning import fit

__all__ = ["load_data", "run", "summary_line"]


def load_data(config: GMVAEConfig):
    """(x_train, y_train, x_test, y_test) from ``config.data_path`` (None: the
    bundled 5,000-image subset), split with ``config.seed``."""
    images, labels = load_mnist(config.data_path)
    if images.shape[1] != config.n_pixels:
        raise ValueError(f"images have {images.shape[1]} pixels, config expects "
                         f"{config.n_pixels}")
    if config.n_test >= len(images):
        raise ValueError(f"n_test={config.n_test} must be smaller than the "
                         f"{len(images)} images")
    return train_test_split(images, labels, n_test=config.n_test, seed=config.seed)


def run(config: GMVAEConfig, out_dir, resume=False, data=None, figures=True) -> dict:
    """Train, evaluate and plot one configuration; returns the metrics dict.

    :param data: optional (x_train, y_train, x_test, y_test) to use instead of
        loading ``config.data_path``.
    """
    out_dir = ensure_outdir(out_dir)
    x_tr, y_tr, x_te, y_te = data if data is not None else load_data(config)
    if config.max_train is not None:
        x_tr, y_tr = x_tr[:config.max_train], y_tr[:config.max_train]
    t0 = time.perf_counter()
    result = fit(config, x_tr, y_tr, x_te, y_te, out_dir=out_dir, resume=resume)
    fit_seconds = time.perf_counter() - t0
    x_te_bin = binarize_fixed(x_te, seed=config.seed + 1)
    t1 = time.perf_counter()
    test = evaluate(result.model, x_te_bin, y_te, is_samples=config.is_samples,
                    seed=config.seed)
    eval_seconds = time.perf_counter() - t1
    metrics = {
        "config": config.to_dict(),
        "out_dir": str(out_dir),
        "n_train": int(len(x_tr)),
        "resumed_from_epoch": result.start_epoch,
        "fit_seconds": fit_seconds,
        "eval_seconds": eval_seconds,
        "train_images_per_second": result.images_per_second,
        "test": test,
        "history": result.history,
    }
    metrics.update({k: v for k, v in result.extra.items() if k != "labelled_indices"})
    if "labelled_indices" in result.extra:
        metrics["n_labelled"] = len(result.extra["labelled_indices"])
    if figures:
        metrics["figures"] = make_figures(result.model, out_dir, x_te, x_te_bin, y_te,
                                          result.history, config.n_sample_images,
                                          seed=config.seed)
    write_json(Path(out_dir) / "metrics.json", metrics)
    metrics["_model"] = result.model  # for in-process callers; not in the JSON
    return metrics


def summary_line(metrics: dict) -> str:
    """One line with the headline numbers of a run."""
    t = metrics["test"]
    parts = [f"test bound {t['test_lower_bound']:.2f}",
             f"log-lik {t['test_loglik']:.2f} +- {t['test_loglik_stderr']:.2f}"]
    if "accuracy" in t:
        parts += [f"accuracy {t['accuracy']:.3f}", f"NMI {t['nmi']:.3f}",
                  f"clusters used {t['clusters_used']}"]
    return ", ".join(parts)

