"""One complete run: data -> fit -> comparison with truth and EM -> outputs.

``run(...)`` is what ``gmm-vi`` calls and what a report generator can call.
It writes, under ``out_dir``:

* ``metrics.json`` — every number (see :func:`run` for the keys);
* ``data_true_z.png`` — the data coloured by the true component;
* ``clusters.png`` — the learned clusters (argmax q) with 1- and 2-sigma
  ellipses, over the true ellipses (dashed);
* ``curves.png`` — exact ELBO and exact log-likelihood over training, with
  EM's and the true parameters' log-likelihood;
* ``grad_variance.png`` — variance of q's gradient under REINFORCE, NVIL and
  the exact estimator over training (log scale);
* ``tensorboard/`` — the ELBO and log-likelihood curves for TensorBoard.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import numpy as np

from common.data import GMMParams, default_gmm_params, random_gmm_params, sample_gmm
from common.plotting import (plot_curves, plot_gmm_clusters, plot_multi_panel,
                             plot_scatter_2d)
from common.training import ScalarLogger, ensure_outdir, write_json

from .config import GMMVIConfig, validate_data, validate_true_params
from .evaluation import evaluate, fit_em, grad_var_summary
from .learning import FitResult, fit

__all__ = ["make_data", "run", "write_figures", "summary_rows"]


def make_data(n: int, config: GMMVIConfig, true_params: Optional[GMMParams] = None,
              separation: float = 4.0):
    """Sample the training data from the true model (kept with the data).

    Without ``true_params``: the default mixture (pi = [.5, .3, .2], means
    (-3,0), (3,0), (0,4), unit variances) when K = 3, otherwise a random
    mixture with means at least ``separation`` sigma apart, drawn from the
    seed.

    :return: (x [n, D], z [n], true_params).
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n (number of data points) must be an integer >= 1, got {n!r}")
    if n < config.k:
        raise ValueError(f"need at least K={config.k} data points (N >= K), got N={n}")
    if true_params is None:
        true_params = (default_gmm_params() if config.k == 3 and config.d == 2 else
                       random_gmm_params(config.k, d=config.d, separation=separation,
                                         seed=config.seed))
    true_params = validate_true_params(true_params, k=config.k, d=config.d)
    x, z = sample_gmm(true_params, int(n), seed=config.seed)
    return x, z, true_params


def write_figures(out_dir: Path, x, z_true, result: FitResult, em: dict,
                  true_params: Optional[GMMParams], metrics: dict) -> dict:
    """Write the four figures; return {name: path}."""
    out = {}
    labels = np.argmax(result.q_probs, axis=1).astype(np.int64)
    if z_true is not None:
        out["data_true_z"] = plot_scatter_2d(x, z_true, out_dir / "data_true_z.png",
                                             title="data coloured by true z")
    else:
        out["data_true_z"] = plot_scatter_2d(x, np.zeros(len(x), np.int64),
                                             out_dir / "data_true_z.png",
                                             title="data (true z unknown)", legend=False)
    out["clusters"] = plot_gmm_clusters(
        x, labels, result.params.mu, result.params.sigma2, out_dir / "clusters.png",
        true_mu=None if true_params is None else true_params.mu,
        true_sigma2=None if true_params is None else true_params.sigma2,
        title="learned (solid, 1 and 2 sigma) vs true (dashed)")
    it = np.asarray(result.history["iteration"])
    elbo = np.asarray(result.history["elbo"])
    loglik = np.asarray(result.history["loglik"])
    elbo_curves = {f"restart {r}" + (" (kept)" if r == result.restart else ""):
                   (it, elbo[:, r]) for r in range(elbo.shape[1])}
    ll_curves = {"VI (kept restart)": (it, loglik[:, result.restart]),
                 "EM": (it, np.full(it.shape, metrics["comparison"]["loglik_em"]))}
    if "loglik_true" in metrics["comparison"]:
        ll_curves["true parameters"] = (it, np.full(it.shape,
                                                    metrics["comparison"]["loglik_true"]))
    out["curves"] = plot_multi_panel(
        [("exact ELBO (nats/point)", elbo_curves),
         ("exact log-likelihood (nats/point)", ll_curves)],
        out_dir / "curves.png", xlabel="iteration", n_cols=2)
    gv = metrics.get("grad_var", {})
    if gv.get("iteration"):
        gi = np.asarray(gv["iteration"])
        out["grad_variance"] = plot_curves(
            {"REINFORCE": (gi, gv["reinforce"]), "NVIL": (gi, gv["nvil"]),
             "NVIL, normalisation undone": (gi, gv["nvil_unscaled"]),
             "exact: |gradient|^2 (its variance is 0)": (gi, gv["exact_sq_norm"])},
            out_dir / "grad_variance.png", xlabel="iteration",
            ylabel="total variance of q's gradient", logy=True,
            title="gradient variance of the variational parameters")
    return out


def _log_tensorboard(logdir: Path, metrics: dict) -> None:
    """Mirror the training curves of the kept restart to TensorBoard."""
    logger = ScalarLogger(logdir)
    h = metrics["history"]
    for it, elbo, loglik in zip(h["iteration"], h["elbo"], h["loglik"]):
        logger.log(it, elbo=elbo, loglik=loglik)
    logger.close()


def summary_rows(metrics: dict) -> list:
    """(name, VI, EM, true) rows of the printed summary table."""
    c, vi, em = metrics["comparison"], metrics["vi"], metrics["em"]
    rows = [("mean log-likelihood", f"{c['loglik_vi']:.4f}", f"{c['loglik_em']:.4f}",
             f"{c.get('loglik_true', float('nan')):.4f}"),
            ("exact ELBO", f"{vi['elbo']:.4f}", "", ""),
            ("time to converge (s)", f"{vi['train_seconds']:.2f}", f"{em['seconds']:.3f}", ""),
            ("iterations", f"{vi['iterations']}+{vi['polish_iterations']}",
             f"{em['n_iter']}", "")]
    if "vs_true" in c:
        rows += [("max |mu - mu_true| (sigma)", f"{c['vs_true']['mu_err_sigma']:.3f}",
                  f"{c['em_vs_true']['mu_err_sigma']:.3f}", "0"),
                 ("max |pi - pi_true|", f"{c['vs_true']['pi_abs_err']:.3f}",
                  f"{c['em_vs_true']['pi_abs_err']:.3f}", "0"),
                 ("max rel. err sigma^2", f"{c['vs_true']['sigma2_rel_err']:.3f}",
                  f"{c['em_vs_true']['sigma2_rel_err']:.3f}", "0")]
    if "cluster_accuracy_vi" in c:
        rows.append(("cluster accuracy", f"{c['cluster_accuracy_vi']:.3f}",
                     f"{c['cluster_accuracy_em']:.3f}", ""))
    rows.append(("max |mu - mu_EM| (sigma)", f"{c['vs_em']['mu_err_sigma']:.4f}", "0", ""))
    gv = metrics.get("grad_var", {})
    if gv.get("ratio"):
        rows.append(("grad var REINFORCE/NVIL (final)", f"{gv['final_ratio']:.1f}", "", ""))
    return rows


def run(n: int = 100, config: GMMVIConfig = GMMVIConfig(), out_dir=None,
        true_params: Optional[GMMParams] = None, x=None, separation: float = 4.0,
        verbose: bool = False, figures: bool = True) -> dict:
    """Fit one data set and compare with EM (and the truth when known).

    Data: ``x`` [N, D] if given (no true z then; ``true_params`` optional),
    else ``n`` points sampled from ``true_params`` / the default mixture (see
    :func:`make_data`).  All input is validated before any training.

    :return: the metrics dict (also written to ``out_dir/metrics.json``) with
        keys ``config``, ``n``, ``true_params`` (or None), ``vi`` (params,
        elbo, loglik, restart, restart_elbo, restart_loglik, iterations,
        polish_iterations, converged, converged_iter, train_seconds,
        setup_seconds, init_mu), ``em`` (params, loglik, seconds, n_iter,
        converged), ``comparison`` (see :func:`gmm_vi.evaluation.evaluate`),
        ``grad_var`` (see :func:`gmm_vi.evaluation.grad_var_summary`),
        ``history`` (iteration, elbo, loglik of the kept restart, elbo_all),
        ``figures`` ({name: path}).
    """
    if not isinstance(config, GMMVIConfig):
        raise ValueError(f"config must be a GMMVIConfig, got {type(config).__name__}")
    if x is not None:
        x = validate_data(x, config.k, config.d)
        z_true = None
        if true_params is not None:
            validate_true_params(true_params, k=config.k, d=config.d)
    else:
        x, z_true, true_params = make_data(n, config, true_params, separation)
    out_dir = None if out_dir is None else ensure_outdir(out_dir)

    result = fit(x, config, verbose=verbose)
    em = fit_em(x, config.k, config.em_n_init, config.seed, config.em_tol,
                config.em_max_iter)
    labels = np.argmax(result.q_probs, axis=1).astype(np.int64)
    comparison = evaluate(x, result.params, labels, em, true_params, z_true)
    metrics = {
        "config": config.to_dict(),
        "n": int(x.shape[0]),
        "true_params": None if true_params is None else true_params.to_dict(),
        "vi": {"params": result.params.to_dict(), "elbo": result.elbo,
               "loglik": comparison["loglik_vi"], "restart": result.restart,
               "restart_elbo": result.restart_elbo, "restart_loglik": result.restart_loglik,
               "iterations": result.iterations, "polish_iterations": result.polish_iterations,
               "converged": result.converged, "converged_iter": result.converged_iter,
               "train_seconds": result.train_seconds, "setup_seconds": result.setup_seconds,
               "init_mu": result.init_mu},
        "em": {"params": em["params"].to_dict(), "loglik": comparison["loglik_em"],
               "seconds": em["seconds"], "n_iter": em["n_iter"], "converged": em["converged"]},
        "comparison": comparison,
        "grad_var": grad_var_summary(result.grad_var, result.restart),
        "history": {"iteration": result.history["iteration"],
                    "elbo": [e[result.restart] for e in result.history["elbo"]],
                    "loglik": [v[result.restart] for v in result.history["loglik"]],
                    "elbo_all": result.history["elbo"]},
    }
    if out_dir is not None:
        _log_tensorboard(out_dir / "tensorboard", metrics)
        metrics["figures"] = (write_figures(out_dir, x, z_true, result, em, true_params,
                                            metrics) if figures else {})
        write_json(out_dir / "metrics.json", metrics)
    return metrics
