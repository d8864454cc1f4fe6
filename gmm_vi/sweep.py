"""How N, K and the distance between means affect NVIL's results (``gmm-vi-sweep``).

Two grids, each over the mean separation (nearest-neighbour distance between
true means, in units of sigma):

* ``n_by_separation``: N in ``n_values`` x separation, K = ``k_fixed``;
* ``k_by_separation``: K in ``k_values`` x separation, N = ``n_fixed``.

Every cell is fitted for ``seeds`` seeds (new data, new true mixing weights and
rotation per seed).  True models are controlled exactly: the K means sit on a
regular K-gon (a segment for K = 2) whose side is ``separation * sigma``,
randomly rotated; variances are sigma^2 = 1; pi ~ Dirichlet(5, ..., 5).

Per fit we record the parameter error against the truth (matched means,
in sigma), the log-likelihood gap to EM, the cluster accuracy of argmax q, and
the iterations to converge.  Fits run in parallel across processes
(``workers``, spawn start method), each with one TensorFlow thread, so two
workers use the two cores without oversubscription.
"""
from __future__ import annotations

import dataclasses
import math
import os
import time
from concurrent.futures import as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.data import GMMParams
from common.plotting import plot_heatmap, plot_multi_panel
from common.workers import process_pool

from .config import GMMVIConfig

__all__ = ["SweepConfig", "polygon_gmm_params", "fit_cell", "run_sweep", "SWEEP_METRICS"]

#: metric -> (label, heat-map number format)
SWEEP_METRICS = {
    "mu_err_sigma": ("max |mu - mu_true| (sigma)", "{:.2f}"),
    "loglik_gap_to_em": ("EM - VI log-likelihood (nats/point)", "{:.3f}"),
    "cluster_accuracy": ("cluster accuracy of argmax q", "{:.2f}"),
    "converged_iter": ("iterations to converge", "{:.0f}"),
}


@dataclass(frozen=True)
class SweepConfig:
    """Grid and settings of the sweep.

    n_values: N of the ``n_by_separation`` grid (at K = k_fixed).
    k_values: K of the ``k_by_separation`` grid (at N = n_fixed).
    separations: nearest-neighbour mean distances in sigma units (both grids).
    seeds: seeds per cell (0 .. seeds-1).
    workers: parallel processes (one TensorFlow thread each).
    fit: the :class:`GMMVIConfig` of every fit (K and seed are set per cell);
        the default trims restarts to 4 and switches off the gradient-variance
        measurement to keep the default sweep under 15 minutes on 2 cores.
    """

    n_values: tuple = (25, 50, 100, 250, 1000)
    k_values: tuple = (2, 3, 4, 6, 8)
    separations: tuple = (1.0, 2.0, 3.0, 4.0, 6.0)
    k_fixed: int = 3
    n_fixed: int = 200
    seeds: int = 3
    workers: int = 2
    fit: GMMVIConfig = GMMVIConfig(n_restarts=4, grad_var_points=0, polish_iters=200)

    def __post_init__(self) -> None:
        for name in ("n_values", "k_values", "separations"):
            values = getattr(self, name)
            if not isinstance(values, (tuple, list)) or not values:
                raise ValueError(f"{name} must be a non-empty tuple, got {values!r}")
            object.__setattr__(self, name, tuple(values))
        for name in ("n_values", "k_values"):
            if any(not isinstance(v, (int, np.integer)) or v < 1 for v in getattr(self, name)):
                raise ValueError(f"{name} must hold integers >= 1, got {getattr(self, name)}")
        if any(not isinstance(s, (int, float)) or not math.isfinite(s) or s < 0
               for s in self.separations):
            raise ValueError(f"separations must be finite numbers >= 0, got {self.separations}")
        for name in ("k_fixed", "n_fixed", "seeds", "workers"):
            v = getattr(self, name)
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {v!r}")
        if min(self.n_values) < self.k_fixed:
            raise ValueError(f"every N in n_values must be >= k_fixed={self.k_fixed} "
                             f"(N >= K), got {self.n_values}")
        if self.n_fixed < max(self.k_values):
            raise ValueError(f"n_fixed={self.n_fixed} must be >= every K in k_values "
                             f"{self.k_values} (N >= K)")
        if not isinstance(self.fit, GMMVIConfig):
            raise ValueError(f"fit must be a GMMVIConfig, got {type(self.fit).__name__}")

    def tasks(self) -> list:
        """One dict per fit: grid, n, k, separation, seed."""
        out = []
        for grid, firsts in (("n_by_separation", [(n, self.k_fixed) for n in self.n_values]),
                             ("k_by_separation", [(self.n_fixed, k) for k in self.k_values])):
            for n, k in firsts:
                for sep in self.separations:
                    for seed in range(self.seeds):
                        out.append({"grid": grid, "n": int(n), "k": int(k),
                                    "separation": float(sep), "seed": seed})
        return out

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["fit"] = self.fit.to_dict()
        return d


def polygon_gmm_params(k: int, separation: float, seed: int = 0) -> GMMParams:
    """A 2-D mixture whose means are a regular K-gon of side ``separation``.

    The nearest-neighbour distance between means is exactly ``separation``
    (sigma = 1); the polygon is rotated at random; pi ~ Dirichlet(5 * 1_K);
    sigma^2 = 1.
    """
    rng = np.random.default_rng([seed, k, int(round(1000 * separation))])
    if k == 1:
        mu = np.zeros((1, 2))
    else:
        radius = separation / (2.0 * math.sin(math.pi / k)) if k > 2 else separation / 2
        angles = rng.uniform(0, 2 * math.pi) + 2 * math.pi * np.arange(k) / k
        mu = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return GMMParams(pi=rng.dirichlet(np.full(k, 5.0)), mu=mu, sigma2=np.ones((k, 2)))


def _init_worker() -> None:
    """Worker start-up: one TensorFlow thread per process (2 workers = 2 cores)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    try:
        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass  # TensorFlow already started (workers=1 in a running process)


def fit_cell(task: dict, fit_config: dict) -> dict:
    """Fit one (grid, n, k, separation, seed) task; return its row of results."""
    from common.data import sample_gmm
    from .evaluation import evaluate, fit_em
    from .learning import fit

    true = polygon_gmm_params(task["k"], task["separation"], task["seed"])
    x, z = sample_gmm(true, task["n"], seed=task["seed"])
    cfg = GMMVIConfig(**{**fit_config, "k": task["k"], "seed": task["seed"]})
    t = time.perf_counter()
    res = fit(x, cfg)
    wall = time.perf_counter() - t
    em = fit_em(x, task["k"], cfg.em_n_init, task["seed"], cfg.em_tol, cfg.em_max_iter)
    labels = np.argmax(res.q_probs, axis=1).astype(np.int64)
    ev = evaluate(x, res.params, labels, em, true, z)
    return {**task,
            "mu_err_sigma": ev["vs_true"]["mu_err_sigma"],
            "pi_abs_err": ev["vs_true"]["pi_abs_err"],
            "sigma2_rel_err": ev["vs_true"]["sigma2_rel_err"],
            "em_mu_err_sigma": ev["em_vs_true"]["mu_err_sigma"],
            "mu_err_sigma_vs_em": ev["vs_em"]["mu_err_sigma"],
            "loglik_vi": ev["loglik_vi"], "loglik_em": ev["loglik_em"],
            "loglik_gap_to_em": ev["loglik_gap_to_em"],
            "cluster_accuracy": ev["cluster_accuracy_vi"],
            "cluster_accuracy_em": ev["cluster_accuracy_em"],
            "converged": res.converged,
            "converged_iter": res.converged_iter if res.converged else cfg.max_iters,
            "iterations": res.iterations + res.polish_iterations,
            "train_seconds": res.train_seconds, "wall_seconds": wall,
            "em_seconds": em["seconds"]}


def _aggregate(rows: list, config: SweepConfig) -> dict:
    """Per grid: mean and std over seeds of every metric, as [rows, cols] tables."""
    grids = {}
    for grid, first_key, firsts in (("n_by_separation", "n", config.n_values),
                                    ("k_by_separation", "k", config.k_values)):
        table = {"rows": first_key, "row_values": list(firsts),
                 "separations": list(config.separations)}
        for metric in list(SWEEP_METRICS) + ["em_mu_err_sigma", "cluster_accuracy_em",
                                             "mu_err_sigma_vs_em", "train_seconds"]:
            mean = np.full((len(firsts), len(config.separations)), np.nan)
            std = np.full_like(mean, np.nan)
            for i, a in enumerate(firsts):
                for j, s in enumerate(config.separations):
                    vals = [r[metric] for r in rows if r["grid"] == grid
                            and r[first_key] == a and r["separation"] == float(s)]
                    if vals:
                        mean[i, j] = float(np.mean(vals))
                        std[i, j] = float(np.std(vals))
            table[metric] = {"mean": mean.tolist(), "std": std.tolist()}
        grids[grid] = table
    return grids


def _figures(out: Path, grids: dict) -> dict:
    figs = {}
    for grid, table in grids.items():
        row_name = table["rows"].upper()
        panels = []
        for metric, (label, fmt) in SWEEP_METRICS.items():
            mean = np.asarray(table[metric]["mean"])
            figs[f"{grid}_{metric}"] = plot_heatmap(
                mean, [f"{row_name}={v}" for v in table["row_values"]],
                [f"{s:g} sigma" for s in table["separations"]],
                out / f"sweep_{grid}_{metric}.png", title=f"{label} (mean over seeds)",
                fmt=fmt, cmap="viridis_r" if metric != "cluster_accuracy" else "viridis")
            panels.append((label, {f"separation {s:g}": (table["row_values"], mean[:, j])
                                   for j, s in enumerate(table["separations"])}))
        figs[f"{grid}_lines"] = plot_multi_panel(panels, out / f"sweep_{grid}_lines.png",
                                                 xlabel=row_name, n_cols=2)
    return figs


def run_sweep(config: SweepConfig = SweepConfig(), out_dir="runs/gmm_vi_sweep",
              verbose: bool = True) -> dict:
    """Run every task (in parallel), write ``sweep.json`` and figures, return the dict.

    :return: dict with ``settings`` (the SweepConfig), ``results`` (one row per
        fit: grid, n, k, separation, seed, mu_err_sigma, pi_abs_err,
        sigma2_rel_err, em_mu_err_sigma, mu_err_sigma_vs_em, loglik_vi,
        loglik_em, loglik_gap_to_em, cluster_accuracy, cluster_accuracy_em,
        converged, converged_iter, iterations, train_seconds, wall_seconds,
        em_seconds), ``grids`` (per grid: rows, row_values, separations and
        for each metric {"mean": [rows][cols], "std": ...}), ``wall_seconds``,
        ``figures`` ({name: path}; files ``sweep_<grid>_<metric>.png`` and
        ``sweep_<grid>_lines.png``).
    """
    if not isinstance(config, SweepConfig):
        raise ValueError(f"config must be a SweepConfig, got {type(config).__name__}")
    # TensorFlow loads with these; the CLI checks its flags before calling here.
    from common.training import ensure_outdir, progress, write_json

    out = ensure_outdir(out_dir)
    tasks = config.tasks()
    fit_config = config.fit.to_dict()
    t0 = time.perf_counter()
    rows = []
    bar = progress(total=len(tasks), desc="gmm-vi-sweep", verbose=verbose)
    if config.workers == 1:
        _init_worker()
        for task in tasks:
            rows.append(fit_cell(task, fit_config))
            bar.update(1)
    else:
        # Spawned workers that die with this process (even on SIGKILL).
        with process_pool(config.workers, initializer=_init_worker) as pool:
            # Largest fits first, so no long fit is left running alone at the end.
            order = sorted(tasks, key=lambda t: -t["n"] * t["k"])
            futures = [pool.submit(fit_cell, t, fit_config) for t in order]
            for fut in as_completed(futures):
                rows.append(fut.result())
                bar.update(1)
    bar.close()
    key = lambda r: (r["grid"], r["n"], r["k"], r["separation"], r["seed"])  # noqa: E731
    rows.sort(key=key)
    grids = _aggregate(rows, config)
    result = {"settings": config.to_dict(), "results": rows, "grids": grids,
              "wall_seconds": time.perf_counter() - t0}
    result["figures"] = _figures(out, grids)
    write_json(out / "sweep.json", result)
    return result
