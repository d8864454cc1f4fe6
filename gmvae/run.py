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

from common.data import MNISTSplit, binarize_fixed
from common.training import ensure_outdir, write_json

from .config import GMVAEConfig
from .data import load_data
from .evaluation import evaluate
from .figures import make_figures
from .learning import fit
from .purity import cached_classifier

__all__ = ["load_data", "run", "summary_line"]


def run(config: GMVAEConfig, out_dir, resume=False, data=None, figures=True) -> dict:
    """Train, evaluate and plot one configuration; returns the metrics dict.

    :param data: optional :class:`common.data.MNISTSplit` (what
        :func:`load_data` returns; its ``info`` goes to ``metrics.json``) or a
        tuple (x_train, y_train, x_test, y_test) to use instead of loading
        ``config.data_path``.
    """
    out_dir = ensure_outdir(out_dir)
    if data is None:
        data = load_data(config)                 # max_train applied there
    if not isinstance(data, MNISTSplit):
        data = MNISTSplit(*data, info={
            "source": "arrays given to gmvae.run.run", "split": "given",
            "n_train": int(len(data[0])), "n_test": int(len(data[2])),
            "description": "arrays given by the caller"})
    data = data.limit_train(config.max_train)
    data_info = data.info
    x_tr, y_tr, x_te, y_te = data.arrays()
    t0 = time.perf_counter()
    result = fit(config, x_tr, y_tr, x_te, y_te, out_dir=out_dir, resume=resume)
    fit_seconds = time.perf_counter() - t0
    x_te_bin = binarize_fixed(x_te, seed=config.seed + 1)
    t1 = time.perf_counter()
    model, clf, samples = result.model, None, None
    if model.has_clusters:
        # One draw serves the purity and the figure, so the number states what
        # the picture shows (the figure shows its first n_sample_images).
        samples = model.sample_per_cluster(max(config.n_purity_samples,
                                               config.n_sample_images), seed=config.seed)
        if y_tr is not None and y_te is not None:
            clf = cached_classifier(x_tr, y_tr, x_te, y_te, seed=config.seed)
    test = evaluate(model, x_te_bin, y_te, is_samples=config.is_samples,
                    seed=config.seed, purity_classifier=clf, samples=samples,
                    verbose=config.verbose)
    eval_seconds = time.perf_counter() - t1
    metrics = {
        "config": config.to_dict(),
        "out_dir": str(out_dir),
        "data": data_info,
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
                                          seed=config.seed, samples=samples,
                                          purity=test.get("generative_purity"))
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
    if "generative_purity" in t:
        g = t["generative_purity"]
        parts.append(f"generative purity {g['mean']:.3f} (worst {g['worst']:.2f}, "
                     f"{g['n_distinct_majority']} digits; classifier accuracy "
                     f"{g['classifier']['held_out_accuracy']:.3f}"
                     + ("" if g["trustworthy"] else ", UNTRUSTWORTHY") + ")")
    return ", ".join(parts)

