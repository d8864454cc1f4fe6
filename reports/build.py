"""Build the assignment reports from real runs.

``build_reports(out_dir, budget)`` runs every experiment the reports quote (or
reuses its results when they are up to date: same budget, same package
version, same source code of the parts it depends on), copies the figures it
drew into ``out_dir/figures``, writes the numbers to ``out_dir/results/*.json``
and renders ``part2_gmm_vi.md`` and ``part3_gmvae.md`` from the templates in
``reports/templates`` — so every number in a report is read from a JSON file
that a run wrote.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from common.training import read_json, write_json

from . import experiments, tables
from .render import load_results, render

__all__ = ["Experiment", "EXPERIMENTS", "REPORTS", "build_reports",
           "render_reports", "source_hash"]

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"
BUDGETS = ("quick", "full")


@dataclass(frozen=True)
class Experiment:
    """One experiment feeding the reports.

    ``run(work_dir, budget) -> (results: dict, figures: {name: path})``;
    ``sources`` are the package folders whose code decides staleness;
    ``resumable`` experiments also take ``resume=True`` and then reuse the
    finished runs in ``work_dir`` whose configuration is unchanged (training
    is deterministic, so a reused run equals a rerun); ``reads_mnist`` ones
    take ``data={"path", "split"}`` (make-report ``--data`` / ``--split``).
    """

    name: str
    run: Callable
    sources: tuple
    resumable: bool = False
    reads_mnist: bool = False


EXPERIMENTS = (
    Experiment("gmm_run", experiments.gmm_run, ("gmm_vi", "common")),
    Experiment("gmm_bench", experiments.gmm_bench, ("gmm_vi", "common")),
    Experiment("gmm_sweep", experiments.gmm_sweep, ("gmm_vi", "common")),
    Experiment("gmvae_bench", experiments.gmvae_bench, ("gmvae", "common"),
               resumable=True, reads_mnist=True),
    Experiment("gmvae_fullsize", experiments.gmvae_fullsize, ("gmvae", "common")),
    Experiment("serket_bench", experiments.serket_bench,
               ("gmvae/serket", "common"), reads_mnist=True),
)

# report file -> (template, results it reads)
REPORTS = {
    "part2_gmm_vi.md": ("part2_gmm_vi.md",
                        ("meta", "gmm_run", "gmm_bench", "gmm_sweep")),
    "part3_gmvae.md": ("part3_gmvae.md",
                       ("meta", "gmvae_bench", "gmvae_fullsize", "serket_bench")),
}


def source_hash(folders) -> str:
    """SHA-256 over the Python sources under ``folders`` (relative to the
    repository root), so results go stale when the code that made them
    changes."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted((ROOT / folder).rglob("*.py")):
            digest.update(str(path.relative_to(ROOT)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version("zs-gmvae")
    except PackageNotFoundError:
        return "unknown"


def _provenance(exp: Experiment, budget: str, data=None) -> dict:
    key = {"budget": budget, "version": _version(),
           "source_hash": source_hash(exp.sources)}
    if exp.reads_mnist and data:
        # Results on a user's MNIST are never mistaken for the bundled ones.
        key["data"] = {"path": str(Path(data["path"]).resolve()) if data.get("path")
                       else None, "split": data.get("split")}
    return key


def _up_to_date(path: Path, figures_dir: Path, provenance: dict) -> bool:
    if not path.is_file():
        return False
    stored = read_json(path)
    if stored.get("provenance", {}).get("key") != provenance:
        return False
    return all((figures_dir / name).is_file()
               for name in stored.get("figures", []))


def _run_experiment(exp, budget, results_dir, figures_dir, work_root, log,
                    resume=False, data=None):
    provenance = _provenance(exp, budget, data)
    path = results_dir / f"{exp.name}.json"
    if _up_to_date(path, figures_dir, provenance):
        log(f"[make-report] {exp.name}: up to date, reusing {path}")
        return read_json(path)
    work_dir = work_root / exp.name
    resume = resume and exp.resumable and work_dir.exists()
    log(f"[make-report] {exp.name}: running ({budget} budget"
        + (", reusing its finished runs)" if resume else ")"))
    if work_dir.exists() and not resume:
        shutil.rmtree(work_dir)
    start = time.perf_counter()
    kwargs = {"data": data} if exp.reads_mnist and data else {}
    if resume:
        kwargs["resume"] = True
    results, figures = exp.run(work_dir, budget, **kwargs)
    seconds = time.perf_counter() - start
    for name, src in figures.items():
        src = Path(src)
        if not src.is_file() or src.stat().st_size == 0:
            raise RuntimeError(f"{exp.name}: figure {src} was not written")
        shutil.copyfile(src, figures_dir / name)
    results = dict(results)
    results["figures"] = sorted(figures)
    results["provenance"] = {"key": provenance, "seconds": seconds,
                             "finished": _dt.datetime.now(_dt.timezone.utc)
                             .strftime("%Y-%m-%d %H:%M UTC")}
    write_json(path, results)
    log(f"[make-report] {exp.name}: done in {seconds:.0f} s")
    return results


def render_reports(out_dir) -> list:
    """Render every report from ``out_dir/results``; returns the paths."""
    out_dir = Path(out_dir)
    written = []
    for report, (template, names) in REPORTS.items():
        results = load_results(out_dir / "results", names)
        text = render((TEMPLATES / template).read_text(), results,
                      tables.GENERATORS)
        path = out_dir / report
        tmp = path.with_suffix(".md.tmp")
        tmp.write_text(text)
        tmp.replace(path)
        written.append(path)
    return written


def build_reports(out_dir="reports", budget="quick", work_dir=None,
                  command=None, verbose=True, only=None, resume=False,
                  data=None) -> list:
    """Run (or reuse) the experiments, then write the reports.

    :param out_dir: where ``part2_gmm_vi.md``, ``part3_gmvae.md``,
        ``figures/`` and ``results/`` go.
    :param budget: ``"quick"`` (minutes; small models and few seeds) or
        ``"full"`` (the sizes the targets are stated for).
    :param work_dir: scratch folder for the runs' own outputs (checkpoints,
        logs); default ``runs/report_work/<budget>``.
    :param only: names of experiments to run or reuse (default: all); the
        reports are rendered only when every result they read is present.
    :param resume: a stale resumable experiment (the GMVAE benchmark) keeps
        its work folder and reruns only the runs whose configuration changed
        or that did not finish (e.g. after a kill).
    :param data: ``{"path": ..., "split": ...}``: the MNIST the part-3
        experiments read (default: the bundled subset, its random split).
    :return: the paths of the reports written.
    """
    if budget not in BUDGETS:
        raise ValueError(f"budget must be one of {BUDGETS}, got {budget!r}")
    names = [exp.name for exp in EXPERIMENTS]
    unknown = set(only or ()) - set(names)
    if unknown:
        raise ValueError(f"only: unknown experiments {sorted(unknown)}; "
                         f"choose from {names}")
    out_dir = Path(out_dir)
    results_dir = out_dir / "results"
    figures_dir = out_dir / "figures"
    results_dir.mkdir(parents=True, exist_ok=True)
    figures_dir.mkdir(parents=True, exist_ok=True)
    work_root = Path(work_dir or Path("runs") / "report_work" / budget)
    log = print if verbose else (lambda *a, **k: None)

    start = time.perf_counter()
    all_results = {}
    for exp in EXPERIMENTS:
        if only is None or exp.name in only:
            all_results[exp.name] = _run_experiment(
                exp, budget, results_dir, figures_dir, work_root, log, resume, data)
    # The others (not asked for): render only if their up-to-date results are
    # already there.  Checked after every asked-for experiment has run, so a
    # stale neighbour never stops --only from doing its work.
    for exp in EXPERIMENTS:
        if exp.name in all_results:
            continue
        stored = results_dir / f"{exp.name}.json"
        if not _up_to_date(stored, figures_dir, _provenance(exp, budget, data)):
            log(f"[make-report] {exp.name}: no up-to-date {budget} results "
                "yet; reports not rendered")
            return []
        all_results[exp.name] = read_json(stored)
    experiment_seconds = sum(r["provenance"]["seconds"]
                             for r in all_results.values())
    meta = experiments.meta(all_results, budget)
    meta.update({
        "command": command or f"make-report --budget {budget}",
        "date": _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d"),
        "version": _version(),
        "seconds": experiment_seconds,
        "this_build_seconds": time.perf_counter() - start,
        "machine": (f"{platform.machine()}, {_cpu_count()} CPU cores, "
                    f"Python {sys.version.split()[0]}, "
                    f"TensorFlow {_tf_version()}"),
    })
    write_json(results_dir / "meta.json", meta)
    paths = render_reports(out_dir)
    for p in paths:
        log(f"[make-report] wrote {p}")
    return paths


def _cpu_count():
    import os
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count()


def _tf_version():
    import tensorflow as tf
    return tf.__version__
