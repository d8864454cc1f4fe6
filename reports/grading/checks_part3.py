"""Part 3's automatic checks, on the bundled MNIST subset (``load_mnist(None)``)
split by ``train_test_split(n_test, split_seed)`` (the package's default split:
4,000 training and 1,000 held-out images).  A submission must have trained on
the training part only.

* **P3.R3** ``assign`` on the held-out images: clustering accuracy (Hungarian,
  ``common.metrics.cluster_accuracy``) at least ``min_accuracy``; NMI and
  clusters used are reported.  Score: 1 when passed, else accuracy /
  ``min_accuracy``.
* **P3.R4** ``generate(samples_per_cluster, 0)``: a ``[K, n, 784]`` grid in
  [0, 1] with K = ``n_clusters`` rows.  Score 1 or 0.
* **P3.Bonus.4** the generative purity of that grid
  (``gmvae.purity.generative_purity``: an RBF SVC trained on the labelled
  training images labels every generated image; per row the majority share):
  mean at least ``min_purity`` and K distinct majority digits.  Score: 1 when
  passed, else min(1, mean / min_purity) * distinct / K.

``assign`` and ``generate`` run in separate child processes, each after the
submission's ``setup()``.
"""
from __future__ import annotations

import functools

import numpy as np

from common.data import load_mnist, train_test_split
from common.metrics import cluster_accuracy, clusters_used, nmi

from .interface import SubmissionError, read_assignments, read_grid
from .result import ItemResult
from .sandbox import run_calls

__all__ = ["CHECKS", "mnist_split", "purity_classifier", "check_assign", "check_generate"]

FILE = "part3.py"


@functools.lru_cache(maxsize=2)
def mnist_split(n_test: int, seed: int):
    """``(x_train, y_train, x_test, y_test)`` of the bundled subset (cached)."""
    images, labels = load_mnist(None)
    return train_test_split(images, labels, n_test=n_test, seed=seed)


@functools.lru_cache(maxsize=2)
def purity_classifier(n_test: int, seed: int, n_train):
    """The purity classifier, trained once per process on the training part
    (its held-out accuracy says whether its verdicts can be trusted)."""
    from gmvae.purity import MAX_CLASSIFIER_TRAIN, fit_classifier

    x_tr, y_tr, x_te, y_te = mnist_split(n_test, seed)
    return fit_classifier(x_tr, y_tr, x_te, y_te, seed=seed,
                          max_train=n_train or MAX_CLASSIFIER_TRAIN)


def check_assign(submission, options) -> list:
    _, _, x_te, y_te = mnist_split(options.n_test, options.split_seed)
    run = run_calls(submission, FILE, [("assign", [x_te.astype(np.float32)])], setup=True,
                    time_limit=options.time_limit, memory_mb=options.memory_mb)
    call = run.calls[0]
    evidence = {"n_test": int(len(x_te)), "min_accuracy": options.min_accuracy,
                **run.evidence()}
    try:
        if not call.ok:
            raise SubmissionError(call.error)
        pred = read_assignments(call.value, len(x_te))
    except SubmissionError as exc:
        return [ItemResult.failed("P3.R3", str(exc), evidence, run.seconds)]
    acc = cluster_accuracy(y_te, pred)
    evidence.update(accuracy=acc, nmi=nmi(y_te, pred), clusters_used=clusters_used(pred))
    if acc >= options.min_accuracy:
        return [ItemResult("P3.R3", "passed", 1.0, f"held-out accuracy {acc:.3f} >= "
                           f"{options.min_accuracy:g}", evidence, run.seconds)]
    return [ItemResult.failed("P3.R3", f"held-out accuracy {acc:.3f} is below "
                              f"{options.min_accuracy:g}", evidence, run.seconds,
                              score=acc / options.min_accuracy)]


def check_generate(submission, options) -> list:
    k, n = options.n_clusters, options.samples_per_cluster
    run = run_calls(submission, FILE, [("generate", [n, 0])], setup=True,
                    time_limit=options.time_limit, memory_mb=options.memory_mb)
    call = run.calls[0]
    evidence = {"requested": [k, n, 784], **run.evidence()}
    try:
        if not call.ok:
            raise SubmissionError(call.error)
        grid = read_grid(call.value, k, n)
    except SubmissionError as exc:
        return [ItemResult.failed("P3.R4", str(exc), evidence, run.seconds),
                ItemResult.failed("P3.Bonus.4", f"no usable sample grid: {exc}", {},
                                  run.seconds)]
    evidence.update(shape=list(grid.shape), mean_pixel=float(grid.mean()))
    grid_result = ItemResult("P3.R4", "passed", 1.0, f"a {k} x {n} grid of images in "
                             "[0, 1], one row per cluster", evidence, run.seconds)
    return [grid_result, _purity_result(grid, options, run.seconds)]


def _purity_result(grid, options, seconds) -> ItemResult:
    from gmvae.purity import generative_purity

    clf = purity_classifier(options.n_test, options.split_seed, options.purity_train)
    pur = generative_purity(grid, clf)
    k = options.n_clusters
    evidence = {"mean": pur["mean"], "worst": pur["worst"],
                "n_distinct_majority": pur["n_distinct_majority"],
                "min_purity": options.min_purity,
                "per_cluster": [{"majority_class": c["majority_class"], "share": c["share"]}
                                for c in pur["per_cluster"]],
                "classifier": pur["classifier"]}
    caveat = "" if pur["trustworthy"] else (
        f" (the classifier's held-out accuracy "
        f"{pur['classifier']['held_out_accuracy']:.3f} is below its floor: untrustworthy)")
    summary = (f"mean purity {pur['mean']:.3f} (worst row {pur['worst']:.2f}), "
               f"{pur['n_distinct_majority']} distinct digits over {k} rows")
    if pur["mean"] >= options.min_purity and pur["n_distinct_majority"] == k:
        return ItemResult("P3.Bonus.4", "passed", 1.0, summary + caveat, evidence, seconds)
    ratio = 1.0 if options.min_purity == 0 else min(1.0, pur["mean"] / options.min_purity)
    return ItemResult.failed("P3.Bonus.4", f"{summary}; needs mean >= "
                             f"{options.min_purity:g} and {k} distinct digits" + caveat,
                             evidence, seconds,
                             score=ratio * pur["n_distinct_majority"] / k)


#: (rubric ids a check scores, the check) in the order they run.
CHECKS = ((("P3.R3",), check_assign), (("P3.R4", "P3.Bonus.4"), check_generate))
