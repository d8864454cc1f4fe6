"""Benchmark of the Serket VAE+GMM tutorial: wall time and accuracy per round.

``run_benchmark(out_dir)`` runs the tutorial (5 rounds, VAE(18, itr=200,
batch_size=500), GMM(10)) on a class-balanced 3,000-image subset of the
bundled MNIST once per seed, and writes to ``out_dir``:

    metrics.json                  see :func:`run_benchmark` for the keys
    accuracy_per_round.png        accuracy and NMI per round, one curve per seed
    pca_z_seed{seed}.png          PCA of z1 before / after the mutual learning
    seed{seed}/module00*_*/       the tutorial's own module folders
    seed{seed}/z_first_round.txt  latents after the first VAE update
"""
from __future__ import annotations

import os
import platform
from dataclasses import asdict, replace
from typing import Optional, Sequence, Union

import numpy as np
from sklearn.mixture import GaussianMixture

from common.metrics import cluster_accuracy
from common.training import ensure_outdir, write_json

from .figures import plot_pca_before_after, plot_rounds
from .tutorial import TutorialConfig, mnist_subset, run_tutorial

__all__ = ["run_benchmark", "DEFAULT_SEEDS", "TARGET_SECONDS", "TARGET_ACCURACY",
           "TARGET_WORST_ACCURACY"]

PathLike = Union[str, os.PathLike]
DEFAULT_SEEDS = (0, 1, 2, 3, 4)
TARGET_SECONDS = 30.0          # the tutorial's 5 rounds on 3,000 images, 2 CPU cores
TARGET_ACCURACY = 0.82         # final accuracy, median over seeds
TARGET_WORST_ACCURACY = 0.78   # final accuracy of the worst seed


def _sklearn_baseline(z: np.ndarray, labels: np.ndarray, k: int, seed: int) -> float:
    """Accuracy of a plain (maximum-likelihood) full-covariance GMM fitted once
    on the first-round latents: what the mutual learning must beat."""
    pred = GaussianMixture(k, covariance_type="full", random_state=seed).fit_predict(z)
    return cluster_accuracy(labels, pred)


def run_benchmark(out_dir: PathLike = "runs/bench_serket", seeds: Sequence[int] = DEFAULT_SEEDS,
                  n_images: int = 3000, config: Optional[TutorialConfig] = None,
                  data_seed: int = 0, verbose: bool = True, data_path=None) -> dict:
    """Run the tutorial once per seed and write metrics and figures.

    Args:
        out_dir: output folder (created).
        seeds: one run per seed (module seeds; the image subset is fixed).
        n_images: size of the class-balanced MNIST subset.
        config: tutorial settings (default: the tutorial's; ``seed`` is
            replaced by each seed).
        data_seed: seed choosing the image subset.
        data_path: MNIST to draw it from (None: the bundled subset; see
            :func:`gmvae.serket.config.mnist_subset`).
        verbose: print one line per round.

    Returns (and writes to ``metrics.json``) a dict with keys
        "config", "n_images", "data_seed", "seeds", "machine" {"cpu_count", "platform"},
        "runs": [{"seed", "total_seconds", "final_accuracy", "final_nmi",
                  "sklearn_gmm_round1_accuracy", "rounds": [{"round", "accuracy",
                  "nmi", "seconds", "vae_seconds", "gmm_seconds", "elbo_per_point",
                  "vae_loss"}]}],
        "median": {"final_accuracy", "final_nmi", "total_seconds",
                   "accuracy_per_round", "nmi_per_round", "sklearn_gmm_round1_accuracy"},
        "spread": {"worst_seed", "worst_accuracy", "best_seed", "best_accuracy",
                   "range", "std", "max_seconds"} of the final accuracy over seeds,
        "targets": {"max_seconds", "min_accuracy", "min_worst_accuracy", "time_met",
                    "accuracy_met", "worst_met"},
        "figures": {"accuracy_per_round", "pca_z": {seed: path}}.
    """
    seeds = [int(s) for s in seeds]
    if not seeds:
        raise ValueError("seeds must hold at least one seed")
    base = config or TutorialConfig()
    out = ensure_outdir(out_dir)
    images, labels = mnist_subset(n_images, seed=data_seed, path=data_path)
    runs, pca_paths = [], {}
    for seed in seeds:
        cfg = replace(base, seed=seed)

        def show(rec, seed=seed):
            if verbose:
                print(f"seed {seed} round {rec['round'] + 1}: accuracy {rec['accuracy']:.4f} "
                      f"NMI {rec['nmi']:.4f}  {rec['seconds']:.1f} s "
                      f"(VAE {rec['vae_seconds']:.1f} s, GMM {rec['gmm_seconds']:.1f} s)",
                      flush=True)

        res = run_tutorial(images, labels, root=out / f"seed{seed}", config=cfg, on_round=show)
        rounds = res["rounds"]
        run = {"seed": seed, "total_seconds": res["total_seconds"],
               "final_accuracy": rounds[-1]["accuracy"], "final_nmi": rounds[-1]["nmi"],
               "sklearn_gmm_round1_accuracy": _sklearn_baseline(res["z_first"], labels,
                                                                cfg.k, seed),
               "rounds": rounds}
        runs.append(run)
        # Latents before / after, for the report and later analysis.
        np.savetxt(out / f"seed{seed}" / "z_first_round.txt", res["z_first"], fmt="%.6f")
        pca_paths[seed] = plot_pca_before_after(
            res["z_first"], res["z_last"], labels, out / f"pca_z_seed{seed}.png",
            title=f"seed {seed}: accuracy {rounds[0]['accuracy']:.3f} -> "
                  f"{rounds[-1]['accuracy']:.3f}")
        if verbose:
            print(f"seed {seed}: {res['total_seconds']:.1f} s, final accuracy "
                  f"{run['final_accuracy']:.4f}, NMI {run['final_nmi']:.4f}", flush=True)
    n_rounds = len(runs[0]["rounds"])
    median = {
        "final_accuracy": float(np.median([r["final_accuracy"] for r in runs])),
        "final_nmi": float(np.median([r["final_nmi"] for r in runs])),
        "total_seconds": float(np.median([r["total_seconds"] for r in runs])),
        "accuracy_per_round": [float(np.median([r["rounds"][i]["accuracy"] for r in runs]))
                               for i in range(n_rounds)],
        "nmi_per_round": [float(np.median([r["rounds"][i]["nmi"] for r in runs]))
                          for i in range(n_rounds)],
        "sklearn_gmm_round1_accuracy": float(np.median(
            [r["sklearn_gmm_round1_accuracy"] for r in runs])),
    }
    finals = np.array([r["final_accuracy"] for r in runs])
    worst, best = runs[int(np.argmin(finals))], runs[int(np.argmax(finals))]
    spread = {"worst_seed": worst["seed"], "worst_accuracy": float(finals.min()),
              "best_seed": best["seed"], "best_accuracy": float(finals.max()),
              "range": float(finals.max() - finals.min()), "std": float(finals.std()),
              "max_seconds": float(max(r["total_seconds"] for r in runs))}
    result = {
        "config": asdict(base), "n_images": int(n_images), "data_seed": int(data_seed),
        "seeds": seeds,
        "machine": {"cpu_count": os.cpu_count(), "platform": platform.platform()},
        "runs": runs, "median": median, "spread": spread,
        "targets": {"max_seconds": TARGET_SECONDS, "min_accuracy": TARGET_ACCURACY,
                    "min_worst_accuracy": TARGET_WORST_ACCURACY,
                    "time_met": bool(spread["max_seconds"] <= TARGET_SECONDS),
                    "accuracy_met": bool(median["final_accuracy"] >= TARGET_ACCURACY),
                    "worst_met": bool(spread["worst_accuracy"] >= TARGET_WORST_ACCURACY)},
        "figures": {"accuracy_per_round": plot_rounds(runs, out / "accuracy_per_round.png"),
                    "pca_z": {str(k): v for k, v in pca_paths.items()}},
    }
    write_json(out / "metrics.json", result)
    return result
