"""gmm_vi: learning, the CLI, the sweep and benchmark entry points, bad input."""
import json

import numpy as np
import pytest

from common.data import GMMParams, sample_gmm
from gmm_vi.config import GMMVIConfig, make_true_params, validate_data
from gmm_vi.learning import fit
from gmm_vi.sweep import SweepConfig, polygon_gmm_params

TINY = dict(n_restarts=2, max_iters=150, min_iters=50, eval_every=50, patience=2,
            polish_iters=50, grad_var_points=0, hidden_units=8)


@pytest.mark.rubric("P2.R3")
def test_short_nvil_training_recovers_means():
    true = GMMParams(pi=np.array([0.4, 0.6]), mu=np.array([[-4.0, 0.0], [4.0, 1.0]]),
                     sigma2=np.ones((2, 2)))
    x, z = sample_gmm(true, 200, seed=0)
    res = fit(x, GMMVIConfig(k=2, **{**TINY, "max_iters": 400}))
    perm = np.argsort(res.params.mu[:, 0])
    # Within 4 standard errors of the sample means of each true cluster.
    for k in range(2):
        se = 1.0 / np.sqrt((z == k).sum())
        np.testing.assert_allclose(res.params.mu[perm][k], x[z == k].mean(0), atol=4 * se)
    assert np.all(np.abs(res.params.sigma2 - 1.0) < 0.4)
    assert res.elbo <= res.loglik + 1e-4       # the ELBO is a lower bound


@pytest.mark.parametrize("estimator,posterior", [("reinforce", "amortized"),
                                                 ("exact", "free")])
@pytest.mark.rubric("P2.R2", "P2.R3")
def test_other_estimators_and_free_posterior_run(estimator, posterior):
    true = polygon_gmm_params(2, 8.0, seed=0)
    x, _ = sample_gmm(true, 60, seed=0)
    res = fit(x, GMMVIConfig(k=2, estimator=estimator, posterior=posterior,
                             **{**TINY, "max_iters": 100, "polish_iters": 0}))
    assert np.isfinite(res.elbo) and np.isfinite(res.loglik)
    assert res.q_probs.shape == (60, 2)
    np.testing.assert_allclose(res.q_probs.sum(1), 1.0, atol=1e-5)
    assert res.history["iteration"][0] == 0 and len(res.history["elbo"][0]) == 2


@pytest.mark.rubric("P2.R4")
def test_cli_tiny_run_writes_figures_and_metrics(tmp_path):
    from scripts.gmm_vi import main
    out = tmp_path / "run"
    rc = main(["--n", "40", "--k", "2", "--true-pi", "[0.5, 0.5]",
               "--true-mu", "[[-3, 0], [3, 0]]", "--restarts", "2", "--max-iters", "100",
               "--min-iters", "50", "--polish-iters", "50", "--grad-var-points", "2",
               "--grad-var-draws", "10", "--out", str(out), "--quiet"])
    assert rc == 0
    for name in ["metrics.json", "data_true_z.png", "clusters.png", "curves.png",
                 "grad_variance.png"]:
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    m = json.loads((out / "metrics.json").read_text())
    for key in ["config", "true_params", "vi", "em", "comparison", "grad_var", "history"]:
        assert key in m
    c = m["comparison"]
    assert abs(c["loglik_gap_to_em"]) < 0.05
    assert c["cluster_accuracy_vi"] > 0.9
    assert len(m["grad_var"]["iteration"]) == 2 and m["grad_var"]["reinforce"][0] > 0
    assert m["em"]["seconds"] > 0 and m["vi"]["train_seconds"] > 0


@pytest.mark.rubric("P2.R4")
def test_cli_measures_gradient_variance_only_when_asked(tmp_path):
    from scripts.gmm_vi import build_parser, main
    assert build_parser().parse_args([]).grad_var_points == 0
    out = tmp_path / "plain"
    rc = main(["--n", "40", "--k", "2", "--restarts", "2", "--max-iters", "50",
               "--min-iters", "50", "--polish-iters", "0", "--out", str(out), "--quiet"])
    assert rc == 0
    assert (out / "clusters.png").is_file() and not (out / "grad_variance.png").exists()
    m = json.loads((out / "metrics.json").read_text())
    assert m["config"]["grad_var_points"] == 0 and m["grad_var"]["iteration"] == []


@pytest.mark.rubric("P2.R4", "P2.Bonus.4")
def test_sweep_and_benchmark_entry_points(tmp_path):
    from gmm_vi.benchmark import run_benchmark
    from gmm_vi.sweep import run_sweep
    fit_cfg = GMMVIConfig(**{**TINY, "max_iters": 100, "polish_iters": 0})
    cfg = SweepConfig(n_values=(30,), k_values=(2,), separations=(6.0,), k_fixed=2,
                      n_fixed=30, seeds=1, workers=1, fit=fit_cfg)
    res = run_sweep(cfg, tmp_path / "sweep", verbose=False)
    assert len(res["results"]) == 2
    assert (tmp_path / "sweep" / "sweep.json").is_file()
    assert (tmp_path / "sweep" / "sweep_n_by_separation_mu_err_sigma.png").is_file()
    assert (tmp_path / "sweep" / "sweep_k_by_separation_lines.png").is_file()
    row = res["results"][0]
    assert row["cluster_accuracy"] > 0.9 and row["mu_err_sigma"] < 1.0

    bench = run_benchmark(tmp_path / "bench", seeds=[0], config=fit_cfg.replace(
        grad_var_points=2, grad_var_draws=10), n=60, verbose=False, process_repeats=0)
    assert (tmp_path / "bench" / "benchmark.json").is_file()
    s = bench["summary"]
    assert s["n_seeds"] == 1 and "final_ratio_min" in s and s["em_seconds_median"] > 0


@pytest.mark.rubric("P2.Bonus.4")
def test_polygon_params_have_the_requested_separation():
    for k in (2, 3, 5, 8):
        p = polygon_gmm_params(k, 2.5, seed=1)
        d = np.linalg.norm(p.mu[:, None] - p.mu[None], axis=-1)
        d[np.diag_indices(k)] = np.inf
        assert np.min(d) == pytest.approx(2.5)
        assert p.pi.sum() == pytest.approx(1.0)


# --------------------------------------------------------------------------- bad input
def test_bad_inputs_raise_clear_errors():
    x = np.random.default_rng(0).normal(size=(10, 2))
    with pytest.raises(ValueError, match="N >= K"):
        validate_data(x[:2], k=3)
    with pytest.raises(ValueError, match="K"):
        validate_data(x, k=0)
    with pytest.raises(ValueError, match="k must be an integer >= 1"):
        GMMVIConfig(k=0)
    bad = x.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match="finite"):
        validate_data(bad, k=2)
    with pytest.raises(ValueError, match=r"shape \[N, 2\]"):
        validate_data(np.zeros((10, 3)), k=2)
    with pytest.raises(ValueError, match=r"pi \(--true-pi\) must sum to 1"):
        make_true_params([0.5, 0.6], [[0, 0], [1, 1]])
    with pytest.raises(ValueError, match=r"sigma2 \(--true-sigma2\) must be > 0"):
        make_true_params([0.5, 0.5], [[0, 0], [1, 1]], [[1, 1], [-1, 1]])
    with pytest.raises(ValueError, match="estimator"):
        GMMVIConfig(estimator="sgvb")
    with pytest.raises(ValueError, match="N >= K"):
        fit(x[:2], GMMVIConfig(k=3))
    with pytest.raises(ValueError, match="N >= K"):
        SweepConfig(n_values=(2,), k_fixed=3)


def test_cli_bad_input_fails_before_any_work(tmp_path, capsys):
    from scripts.gmm_vi import main
    out = tmp_path / "never"
    data = tmp_path / "d.csv"
    data.write_text("1,2,3\n4,5,6\n7,8,9\n")
    for argv, message in (
            (["--k", "2", "--true-pi", "[0.7, 0.7]", "--true-mu", "[[0, 0], [3, 3]]"],
             "pi (--true-pi) must sum to 1"),
            (["--n", "2", "--k", "3"], "N >= K"),
            (["--data", str(data), "--k", "2"], "shape [N, 2]")):
        with pytest.raises(SystemExit) as exc:
            main(argv + ["--out", str(out), "--quiet"])
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("gmm-vi: error: ") and message in err
        assert len(err.splitlines()) == 1
    assert not out.exists()
