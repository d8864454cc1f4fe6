"""The experiments the reports quote, at the ``quick`` and ``full`` budgets.

Each function runs one experiment through the parts' public APIs in
``work_dir`` and returns ``(results, figures)``: the JSON-ready numbers the
report reads and ``{report figure name: path of the PNG the run drew}``.
"""
from __future__ import annotations

from pathlib import Path

__all__ = ["gmm_run", "gmm_bench", "gmm_sweep", "gmvae_bench", "gmvae_fullsize",
           "serket_bench", "meta"]


def _pick(mapping, keys):
    return {k: mapping[k] for k in keys if k in mapping}


# ---------------------------------------------------------------------------
# Part 2
# ---------------------------------------------------------------------------
def gmm_run(work_dir: Path, budget: str):
    """One NVIL fit at N = 100, K = 3 on the default true model (seed 0)."""
    from gmm_vi.config import GMMVIConfig
    from gmm_vi.experiment import run

    config = GMMVIConfig(seed=0)
    if budget == "quick":
        config = config.replace(grad_var_draws=min(config.grad_var_draws, 50))
    metrics = run(n=100, config=config, out_dir=work_dir, verbose=False)
    figs = metrics["figures"]
    figures = {"gmm_data.png": figs["data_true_z"],
               "gmm_clusters.png": figs["clusters"],
               "gmm_curves.png": figs["curves"]}
    if "grad_variance" in figs:
        figures["gmm_grad_variance.png"] = figs["grad_variance"]
    gv = metrics["grad_var"]
    results = _pick(metrics, ["config", "n", "true_params", "vi", "em",
                              "comparison"])
    results["grad_var"] = _pick(gv, ["final_ratio", "final_ratio_unscaled",
                                     "min_ratio", "min_ratio_unscaled"])
    return results, figures


def gmm_bench(work_dir: Path, budget: str):
    """The targets: 10 seeds (2 at the quick budget) against EM."""
    from gmm_vi.benchmark import run_benchmark

    if budget == "quick":
        result = run_benchmark(out_dir=work_dir, seeds=(0, 1), quick=True,
                               ablation=False, verbose=False)
    else:
        result = run_benchmark(out_dir=work_dir, verbose=False)
    per_seed = [{k: v for k, v in row.items() if k != "grad_var"}
                for row in result["per_seed"]]
    figures = {"gmm_bench_accuracy.png": result["figures"]["loglik_gap"]}
    if "variance_ratio" in result["figures"]:
        figures["gmm_bench_variance_ratio.png"] = \
            result["figures"]["variance_ratio"]
    results = {"settings": result["settings"], "summary": result["summary"],
               "per_seed": per_seed, "n_seeds": result["summary"]["n_seeds"],
               "wall_seconds": result["wall_seconds"]}
    if "process_time" in result:
        results["process_time"] = result["process_time"]
    return results, figures


def gmm_sweep(work_dir: Path, budget: str):
    """The bonus sweep over N, K and the distance between means."""
    from gmm_vi.sweep import SweepConfig, run_sweep

    config = SweepConfig()
    if budget == "quick":
        config = SweepConfig(n_values=(50, 200), k_values=(2, 4),
                             separations=(4.0,), seeds=1,
                             fit=config.fit.replace(n_restarts=2))
    result = run_sweep(config, out_dir=work_dir, verbose=False)
    figures = {f"gmm_{Path(p).name}": p for p in result["figures"].values()}
    return ({"settings": result["settings"], "grids": result["grids"],
             "wall_seconds": result["wall_seconds"],
             "n_fits": len(result["results"])}, figures)


# ---------------------------------------------------------------------------
# Part 3
# ---------------------------------------------------------------------------
#: The report's quick budget for the GMVAE: every section's inputs, tiny sizes.
GMVAE_QUICK = {"epochs": 3, "pretrain_epochs": 2, "variants": ("plain", "pretrain",
                                                                "pretrain_nn", "semi"),
               "loglik_epochs": 3, "throughput_repeats": 2, "is_samples": 50,
               "is_samples_other_seeds": 20, "throughput_images": 2000}


def gmvae_bench(work_dir: Path, budget: str, resume: bool = False, data=None):
    """Accuracy over seeds for every variant, semi-supervised vs unsupervised,
    the long log-likelihood runs and the throughput, side by side.  With
    ``resume`` the finished runs in ``work_dir`` with an unchanged
    configuration are reused (the throughput is always measured anew).
    ``data``: {"path", "split"} of a user's MNIST (None: the bundled subset)."""
    from gmvae.benchmark import run_benchmark

    data = data or {}
    result = run_benchmark(out_dir=work_dir,
                           budget=GMVAE_QUICK if budget == "quick" else "full",
                           verbose=False, resume=resume, data_path=data.get("path"),
                           split=data.get("split"))
    figures = {f"gmvae_{name}": path for name, path in result["figures"].items()}
    results = {k: v for k, v in result.items() if k not in ("figures", "runs")}
    # Per-run rows without the bulky per-cluster lists.
    results["runs"] = {v: [{k: x for k, x in r.items() if k not in ("pi", "cluster_sizes")}
                           for r in rows] for v, rows in result["runs"].items()}
    return results, figures


def gmvae_fullsize(work_dir: Path, budget: str):
    """One ``gmvae --variant pretrain_aug`` run on a 60,000 / 10,000-image
    stand-in of the official MNIST, timed as a whole process (quick: 2,000 /
    500 images, a 2-epoch ``pretrain`` run, to exercise the path)."""
    from gmvae.fullsize import run_fullsize_benchmark

    if budget == "quick":
        result = run_fullsize_benchmark(
            out_dir=work_dir, variant="pretrain", n_train=2000, n_test=500,
            extra_args=["--epochs", "1", "--pretrain-epochs", "1", "--is-samples", "20",
                        "--epoch-images", "1000"], verbose=False)
    else:
        result = run_fullsize_benchmark(out_dir=work_dir, verbose=False)
    return result, {}


def serket_bench(work_dir: Path, budget: str, data=None):
    """The Serket tutorial loop: 5 seeds (0-4) on 3,000 images (quick: one
    seed, 1,000 images, 30 passes per VAE update)."""
    from gmvae.serket.benchmark import run_benchmark
    from gmvae.serket.tutorial import TutorialConfig

    path = (data or {}).get("path")
    if budget == "quick":
        result = run_benchmark(out_dir=work_dir, seeds=(0,), n_images=1000,
                               config=TutorialConfig(itr=30), verbose=False,
                               data_path=path)
    else:
        result = run_benchmark(out_dir=work_dir, verbose=False, data_path=path)
    figs = result["figures"]
    figures = {"serket_accuracy_per_round.png": figs["accuracy_per_round"]}
    figures.update({f"serket_pca_z_seed{seed}.png": path
                    for seed, path in figs["pca_z"].items()})
    return {k: v for k, v in result.items() if k != "figures"}, figures


def meta(all_results: dict, budget: str) -> dict:
    """Report-wide facts: the seeds used and the data."""
    bench = all_results["gmm_bench"]
    return {
        "budget": budget,
        "seeds_gmm": ", ".join(str(s) for s in bench["settings"]["seeds"]),
        "seeds_gmvae": all_results["gmvae_bench"].get("seeds_text", "see tables"),
        "mnist": all_results["gmvae_bench"].get(
            "data_text", "the bundled 5,000-image MNIST subset"),
    }
