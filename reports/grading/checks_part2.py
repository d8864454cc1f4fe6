"""Part 2's automatic checks: the lower bound (P2.R2) and the fit (P2.R3).

Every reference number is computed here, in numpy and scikit-learn, from
data this module generates with fixed seeds; the submission only answers.

* **P2.R2** ``lower_bound`` on 4 cases (K = 2..5, N = 40, parameters and
  q(z|x) that are *not* the fitted ones; in the last case q is the exact
  posterior, where the bound equals log p(x)) must equal the exact
  enumeration over z within ``lb_atol + lb_rtol * |exact|``.
  Score: the share of cases that match.
* **P2.R3** ``fit`` on ``fit_datasets`` generated data sets must reach the
  mean log-likelihood of scikit-learn's EM (``GaussianMixture``, diagonal
  covariances, 10 initialisations) within ``em_gap`` nats per point, with no
  component collapsed (every variance at least 1e-3 of the data's).
  Score: the share of data sets that pass.
"""
from __future__ import annotations

import functools

import numpy as np
from scipy.special import logsumexp

from common.data import GMMParams, default_gmm_params, random_gmm_params, sample_gmm
from common.metrics import gmm_mean_loglik

from .interface import SubmissionError, read_params, read_scalar
from .result import ItemResult
from .sandbox import run_calls

__all__ = ["CHECKS", "exact_lower_bound", "lower_bound_cases", "fit_dataset",
           "em_loglik", "check_lower_bound", "check_fit"]

FILE = "part2.py"
#: Smallest variance accepted, relative to the data's variance per dimension.
COLLAPSE_FLOOR = 1e-3


# ----------------------------------------------------------------------------- references
def log_joint_table(x, pi, mu, sigma2) -> np.ndarray:
    """``[N, K]``: log pi_k + log N(x_n; mu_k, diag sigma2_k)."""
    diff2 = (x[:, None, :] - mu[None]) ** 2
    log_norm = -0.5 * np.sum(np.log(2 * np.pi * sigma2)[None] + diff2 / sigma2[None], -1)
    return np.log(pi)[None] + log_norm


def exact_lower_bound(x, pi, mu, sigma2, q_probs) -> float:
    """Mean over points of sum_k q_nk (log p(x_n, z=k) - log q_nk), 0 log 0 = 0."""
    q = np.asarray(q_probs, np.float64)
    log_q = np.log(np.where(q > 0, q, 1.0))
    return float(np.mean(np.sum(q * (log_joint_table(x, pi, mu, sigma2) - log_q), -1)))


def lower_bound_cases() -> list:
    """``[(x [N,2], pi [K], mu [K,2], sigma2 [K,2], q_probs [N,K]), ...]``, float64."""
    cases = []
    for c, k in enumerate((2, 3, 4, 5)):
        rng = np.random.default_rng(100 + c)
        truth = random_gmm_params(k=k, separation=3.0, seed=c)
        x, _ = sample_gmm(truth, n=40, seed=c)
        # Parameters away from the truth: a bound coded only for the fitted
        # optimum (or the true model) must not pass by accident.
        pi = rng.dirichlet(np.full(k, 2.0))
        mu = truth.mu + rng.normal(0.0, 0.5, truth.mu.shape)
        sigma2 = truth.sigma2 * rng.uniform(0.5, 2.0, truth.sigma2.shape)
        if c == 3:      # q = p(z | x): the bound is tight, equal to log p(x)
            table = log_joint_table(x, pi, mu, sigma2)
            q = np.exp(table - logsumexp(table, axis=1, keepdims=True))
        else:
            q = rng.dirichlet(np.ones(k), size=len(x))
        cases.append((x, pi, mu, sigma2, q))
    return cases


#: (description, true model, N, seed) of the data sets ``fit`` is graded on.
_DATASETS = (
    ("the assignment's K=3 mixture, N=100", default_gmm_params, 100, 0),
    ("random K=2 (means >= 4 sigma apart), N=200",
     lambda: random_gmm_params(k=2, separation=4.0, seed=1), 200, 1),
    ("random K=4 (means >= 4 sigma apart), N=300",
     lambda: random_gmm_params(k=4, separation=4.0, seed=2), 300, 2),
    ("random K=3 (means >= 2.5 sigma apart), N=300",
     lambda: random_gmm_params(k=3, separation=2.5, seed=3), 300, 3),
)


def fit_dataset(i: int) -> tuple:
    """``(description, x [N, 2], k, seed)`` of data set ``i``."""
    name, params, n, seed = _DATASETS[i]
    truth = params()
    x, _ = sample_gmm(truth, n=n, seed=seed)
    return name, x, truth.k, seed


@functools.lru_cache(maxsize=None)
def em_loglik(i: int) -> float:
    """EM's mean log-likelihood on data set ``i`` (cached: 100 students, one EM)."""
    from sklearn.mixture import GaussianMixture

    _, x, k, _ = fit_dataset(i)
    gm = GaussianMixture(k, covariance_type="diag", n_init=10, tol=1e-6, max_iter=2000,
                         random_state=0).fit(x)
    return gmm_mean_loglik(x, GMMParams(pi=gm.weights_, mu=gm.means_,
                                        sigma2=gm.covariances_))


# ----------------------------------------------------------------------------- checks
def check_lower_bound(submission, options) -> list:
    cases = lower_bound_cases()
    run = run_calls(submission, FILE, [("lower_bound", list(c)) for c in cases],
                    time_limit=options.time_limit, memory_mb=options.memory_mb)
    rows, failures = [], []
    for i, (case, call) in enumerate(zip(cases, run.calls)):
        exact = exact_lower_bound(*case)
        row = {"case": i, "k": int(case[1].size), "n": int(len(case[0])),
               "exact": exact, "ok": False}
        try:
            if not call.ok:
                raise SubmissionError(call.error)
            got = read_scalar(call.value)
            tol = options.lb_atol + options.lb_rtol * abs(exact)
            row.update(submitted=got, difference=got - exact, tolerance=tol,
                       ok=bool(abs(got - exact) <= tol))
            if not row["ok"]:
                failures.append(f"case {i} (K={row['k']}): {got:.6g} vs exact "
                                f"{exact:.6g} (off by {got - exact:+.4g})")
        except SubmissionError as exc:
            row["error"] = str(exc)
            failures.append(f"case {i} (K={row['k']}): {exc}")
        rows.append(row)
    n_ok = sum(r["ok"] for r in rows)
    evidence = {"cases": rows, **run.evidence()}
    if failures:
        return [ItemResult.failed("P2.R2", f"{n_ok}/{len(rows)} cases match the exact "
                                  f"enumeration; " + "; ".join(failures[:2]),
                                  evidence, run.seconds, score=n_ok / len(rows))]
    return [ItemResult("P2.R2", "passed", 1.0, f"all {len(rows)} cases match the exact "
                       "enumeration over z", evidence, run.seconds)]


def check_fit(submission, options) -> list:
    sets = [fit_dataset(i) for i in range(options.fit_datasets)]
    run = run_calls(submission, FILE, [("fit", [x, k, seed]) for _, x, k, seed in sets],
                    time_limit=options.time_limit, memory_mb=options.memory_mb)
    rows, failures = [], []
    for i, ((name, x, k, seed), call) in enumerate(zip(sets, run.calls)):
        em = em_loglik(i)
        row = {"data": name, "k": k, "n": int(len(x)), "seed": seed, "em_loglik": em,
               "seconds": call.seconds, "ok": False}
        try:
            if not call.ok:
                raise SubmissionError(call.error)
            p = read_params(call.value, k)
            floor = COLLAPSE_FLOOR * x.var(axis=0)
            if np.any(p["sigma2"] < floor[None]):
                raise SubmissionError("a component collapsed: a variance is below "
                                      f"{COLLAPSE_FLOOR:g} of the data's")
            ll = gmm_mean_loglik(x, GMMParams(**p))
            row.update(loglik=ll, gap_to_em=em - ll, ok=bool(em - ll <= options.em_gap),
                       pi=p["pi"].tolist(), mu=p["mu"].tolist(), sigma2=p["sigma2"].tolist())
            if not row["ok"]:
                failures.append(f"{name}: log-likelihood {ll:.4f} is {em - ll:.4f} "
                                f"nats/point below EM's {em:.4f}")
        except (SubmissionError, ValueError) as exc:
            row["error"] = str(exc)
            failures.append(f"{name}: {exc}")
        rows.append(row)
    n_ok = sum(r["ok"] for r in rows)
    evidence = {"datasets": rows, "em_gap": options.em_gap, **run.evidence()}
    if failures:
        return [ItemResult.failed("P2.R3", f"{n_ok}/{len(rows)} data sets reach EM; "
                                  + "; ".join(failures[:2]), evidence, run.seconds,
                                  score=n_ok / len(rows))]
    return [ItemResult("P2.R3", "passed", 1.0, f"reaches EM's log-likelihood within "
                       f"{options.em_gap:g} nats/point on all {len(rows)} data sets",
                       evidence, run.seconds)]


#: (rubric ids a check scores, the check) in the order they run.
CHECKS = ((("P2.R2",), check_lower_bound), (("P2.R3",), check_fit))
