"""Comparing a fit with the truth and with scikit-learn's EM.

EM (``GaussianMixture(covariance_type='diag', n_init=10)``) on the same data
is the exact maximum-likelihood reference: the ELBO's optimum with an exact
posterior is the MLE, so a good variational fit should reach EM's
log-likelihood and EM's means.
"""
from __future__ import annotations

import time

import numpy as np
from sklearn.mixture import GaussianMixture

from common.data import GMMParams
from common.metrics import cluster_accuracy, gmm_mean_loglik, parameter_errors

__all__ = ["fit_em", "compare_to_reference", "evaluate", "grad_var_summary"]


def fit_em(x: np.ndarray, k: int, n_init: int = 10, seed: int = 0, tol: float = 1e-6,
           max_iter: int = 2000) -> dict:
    """scikit-learn EM with diagonal covariances, timed.

    ``tol`` is tighter than scikit-learn's default (1e-3) so that EM reaches
    the maximum-likelihood estimate it serves as the reference for.

    :return: dict with params (GMMParams), seconds (wall time of ``fit``),
        labels [N] (MAP component), n_iter, converged.
    """
    gm = GaussianMixture(n_components=k, covariance_type="diag", n_init=n_init,
                         random_state=seed, tol=tol, max_iter=max_iter)
    t = time.perf_counter()
    gm.fit(x)
    seconds = time.perf_counter() - t
    weights = gm.weights_ / gm.weights_.sum()
    params = GMMParams(pi=weights, mu=gm.means_, sigma2=gm.covariances_)
    return {"params": params, "seconds": seconds, "labels": gm.predict(x).astype(np.int64),
            "n_iter": int(gm.n_iter_), "converged": bool(gm.converged_)}


def compare_to_reference(reference: GMMParams, learned: GMMParams) -> dict:
    """Errors of ``learned`` against ``reference`` after Hungarian matching
    of the means (:func:`common.metrics.parameter_errors`).

    ``mu_err_sigma`` is the largest distance between matched means in units
    of the reference component's standard deviation.
    """
    return parameter_errors(reference, learned)


def evaluate(x: np.ndarray, learned: GMMParams, labels: np.ndarray, em: dict,
             true_params: GMMParams | None = None, z_true: np.ndarray | None = None) -> dict:
    """Every comparison number of one fit.

    :param labels: [N] MAP components of the fit (argmax q(z|x)).
    :param em: the dict from :func:`fit_em`.
    :return: dict with loglik_vi, loglik_em, loglik_gap_to_em (EM minus VI,
        nats per point; <= 0 means VI is at least as good), vs_em
        (parameter errors against EM's estimate), and when the truth is known
        loglik_true, vs_true, em_vs_true, cluster_accuracy_vi,
        cluster_accuracy_em.
    """
    ll_vi = gmm_mean_loglik(x, learned)
    ll_em = gmm_mean_loglik(x, em["params"])
    out = {"loglik_vi": ll_vi, "loglik_em": ll_em, "loglik_gap_to_em": ll_em - ll_vi,
           "vs_em": compare_to_reference(em["params"], learned)}
    if true_params is not None:
        out["loglik_true"] = gmm_mean_loglik(x, true_params)
        out["vs_true"] = compare_to_reference(true_params, learned)
        out["em_vs_true"] = compare_to_reference(true_params, em["params"])
    if z_true is not None:
        out["cluster_accuracy_vi"] = cluster_accuracy(z_true, labels)
        out["cluster_accuracy_em"] = cluster_accuracy(z_true, em["labels"])
    return out


def grad_var_summary(grad_var: list, restart: int) -> dict:
    """Gradient-variance measurements of one restart, as curves and ratios.

    :param grad_var: ``FitResult.grad_var`` (per-restart lists).
    :return: dict of lists over the measurement points: iteration, reinforce,
        nvil, nvil_unscaled, exact, exact_sq_norm, nvil_scale,
        ratio (REINFORCE / NVIL), ratio_unscaled (REINFORCE / NVIL with its
        normalisation divisor multiplied back); and final_ratio,
        final_ratio_unscaled, min_ratio, min_ratio_unscaled.
    """
    keys = ["reinforce", "nvil", "nvil_unscaled", "exact", "exact_sq_norm", "nvil_scale"]
    out = {"iteration": [g["iteration"] for g in grad_var]}
    for key in keys:
        out[key] = [float(g[key][restart]) for g in grad_var]
    if not grad_var:
        return out
    rf, nv, nvu = (np.asarray(out[k]) for k in ("reinforce", "nvil", "nvil_unscaled"))
    out["ratio"] = (rf / nv).tolist()
    out["ratio_unscaled"] = (rf / nvu).tolist()
    out["final_ratio"] = out["ratio"][-1]
    out["final_ratio_unscaled"] = out["ratio_unscaled"][-1]
    out["min_ratio"] = float(np.min(out["ratio"]))
    out["min_ratio_unscaled"] = float(np.min(out["ratio_unscaled"]))
    return out
