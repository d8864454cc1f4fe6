"""The autograder (reports/grading): verdicts on correct and broken submissions,
containment of hangs, crashes, NaN, wrong shapes and memory hogs, the reports
and exit codes of ``grade-submission``, and ``pytest --submission``.

The fake submissions are small numpy programs so that the tests stay fast; the
package's own solution, wrapped (reports/grading/template_submission), is
graded on part 2 by ``test_template_submission_passes_part2``.
"""
import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from reports.grading import checks_part2
from reports.grading.grader import AUTO_ITEMS, grade
from reports.grading.options import GradingOptions
from scripts import grade_submission as cli

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "reports" / "grading" / "template_submission"

# A correct part 2 in plain numpy: EM from scikit-learn, the bound enumerated.
PART2_OK = """
import numpy as np

def fit(x, k, seed):
    from sklearn.mixture import GaussianMixture   # here: lower_bound's child stays light

    gm = GaussianMixture(k, covariance_type="diag", n_init=5, tol=1e-6, max_iter=2000,
                         random_state=seed).fit(x)
    return {"pi": gm.weights_, "mu": gm.means_, "sigma2": gm.covariances_}

def lower_bound(x, pi, mu, sigma2, q_probs):
    d2 = (x[:, None, :] - mu[None]) ** 2
    log_joint = np.log(pi) - 0.5 * np.sum(np.log(2 * np.pi * sigma2) + d2 / sigma2, -1)
    return float(np.mean(np.sum(q_probs * (log_joint - np.log(q_probs)), -1)))
"""

# A correct part 3 by cheating in the open: it knows every bundled image's label
# (from mnist.npz, which oracle_submission() saves beside it, as a student's
# weights would be).
PART3_ORACLE = """
from pathlib import Path
import numpy as np

def setup():
    global LABEL_OF, BY_CLASS
    with np.load(Path(__file__).parent / "mnist.npz") as f:
        images, labels = f["images"], f["labels"]
    LABEL_OF = {img.tobytes(): int(y) for img, y in zip(images.astype(np.float32), labels)}
    BY_CLASS = [images[labels == c] for c in range(10)]

def assign(images):
    return np.array([LABEL_OF[img.tobytes()] for img in images])

def generate(n_per_cluster, seed):
    rng = np.random.default_rng(seed)
    return np.stack([rows[rng.choice(len(rows), n_per_cluster, replace=False)]
                     for rows in BY_CLASS])
"""

FAST = dict(fit_datasets=2, purity_train=1000, time_limit=60, memory_mb=4096)


def submission(tmp_path, name, part2=None, part3=None):
    folder = tmp_path / name
    folder.mkdir()
    for fname, body in (("part2.py", part2), ("part3.py", part3)):
        if body is not None:
            (folder / fname).write_text(textwrap.dedent(body))
    return folder


def oracle_submission(tmp_path, name, extra=""):
    from common.data import load_mnist

    folder = submission(tmp_path, name, part3=PART3_ORACLE + extra)
    images, labels = load_mnist(None)
    np.savez(folder / "mnist.npz", images=images.astype(np.float32), labels=labels)
    return folder


def results(g):
    return {r.id: r for r in g.items}


def test_reference_numbers_are_right():
    """The grader's own references: enumeration vs a Monte-Carlo estimate, and
    a bound that is tight at the exact posterior."""
    x, pi, mu, sigma2, q = checks_part2.lower_bound_cases()[0]
    rng = np.random.default_rng(0)
    z = np.array([rng.choice(len(pi), 20000, p=row) for row in q[:3]])     # [3, S]
    table = checks_part2.log_joint_table(x[:3], pi, mu, sigma2)
    mc = np.mean([np.mean(table[n, z[n]] - np.log(q[n, z[n]])) for n in range(3)])
    exact = checks_part2.exact_lower_bound(x[:3], pi, mu, sigma2, q[:3])
    assert abs(mc - exact) < 0.05
    x, pi, mu, sigma2, q = checks_part2.lower_bound_cases()[3]
    from scipy.special import logsumexp
    loglik = np.mean(logsumexp(checks_part2.log_joint_table(x, pi, mu, sigma2), axis=1))
    assert checks_part2.exact_lower_bound(x, pi, mu, sigma2, q) == pytest.approx(loglik)


@pytest.mark.rubric("P2.R2", "P2.R3")
def test_correct_part2_passes_and_report_is_written(tmp_path):
    sub = submission(tmp_path, "alice", part2=PART2_OK)
    assert cli.main([str(sub), "--part", "2", "--fit-datasets", "1",
                     "--out", str(tmp_path / "grades"), "--quiet"]) == 0
    data = json.loads((tmp_path / "grades" / "alice" / "grade.json").read_text())
    items = {r["id"]: r for r in data["items"]}
    assert items["P2.R2"]["status"] == "passed" and items["P2.R2"]["score"] == 1.0
    assert items["P2.R3"]["status"] == "passed"
    assert all(abs(c["difference"]) < 1e-9 for c in items["P2.R2"]["evidence"]["cases"])
    assert all(d["gap_to_em"] < 0.01 for d in items["P2.R3"]["evidence"]["datasets"])
    assert items["P2.R1"]["status"] == "manual" and items["P3.R3"]["status"] == "not graded"
    assert data["required_passed"] is True
    md = (tmp_path / "grades" / "alice" / "grade.md").read_text()
    assert "| P2.R2 | PASS | 1.00 |" in md and "## Evidence" in md


@pytest.mark.rubric("P2.R2", "P2.R3")
def test_wrong_bound_and_hanging_fit_score_zero_without_stopping_grading(tmp_path):
    sub = submission(tmp_path, "bob", part2=PART2_OK + """
_right = lower_bound
def lower_bound(*args):
    return _right(*args) + 0.5          # forgot a constant

def fit(x, k, seed):
    import subprocess, time
    # a grandchild that must die with the hung child
    proc = subprocess.Popen(["sleep", "300"])
    open("grandchild.pid", "w").write(str(proc.pid))
    time.sleep(300)
""")
    t0 = time.perf_counter()
    g = grade(sub, GradingOptions(parts=("P2",), **{**FAST, "time_limit": 3}))
    assert time.perf_counter() - t0 < 20
    r = results(g)
    assert r["P2.R2"].status == "failed" and r["P2.R2"].score == 0.0
    assert "off by +0.5" in r["P2.R2"].reason and "0/4 cases" in r["P2.R2"].reason
    assert r["P2.R3"].status == "failed" and r["P2.R3"].score == 0.0
    assert "timed out" in r["P2.R3"].reason and "3 s" in r["P2.R3"].reason
    assert not g.required_passed
    pid = int((sub / "grandchild.pid").read_text())
    time.sleep(0.2)
    assert not _alive(pid), "the hung submission's own child survived"


def _alive(pid):
    """Running (a killed, not yet reaped process is a zombie: state Z)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state not in ("Z", "X")


@pytest.mark.rubric("P2.R2", "P2.R3")
def test_raise_nan_and_memory_hog_are_reasons_not_crashes(tmp_path):
    sub = submission(tmp_path, "carol", part2="""
import numpy as np
def lower_bound(x, pi, mu, sigma2, q_probs):
    if len(pi) == 5:
        np.ones((1024, 1024, 1024))     # 8 GB, over the cap
    raise RuntimeError("student bug")

def fit(x, k, seed):
    return {"pi": np.full(k, 1 / k), "mu": np.full((k, 2), np.nan), "sigma2": np.ones((k, 2))}
""")
    g = grade(sub, GradingOptions(parts=("P2",), **{**FAST, "memory_mb": 1024}))
    r = results(g)
    cases = r["P2.R2"].evidence["cases"]
    assert "RuntimeError: student bug (at part2.py:" in cases[0]["error"]
    assert "MemoryError" in cases[3]["error"] or "allocate" in cases[3]["error"]
    assert r["P2.R3"].status == "failed" and "NaN" in r["P2.R3"].reason


@pytest.mark.rubric("P3.R3", "P3.R4", "P3.Bonus.4")
def test_oracle_part3_passes(tmp_path):
    sub = oracle_submission(tmp_path, "dora")
    g = grade(sub, GradingOptions(parts=("P3",), jobs=2, **FAST))
    r = results(g)
    assert r["P3.R3"].passed and r["P3.R3"].evidence["accuracy"] == 1.0
    assert r["P3.R4"].passed and r["P3.R4"].evidence["shape"] == [10, 20, 784]
    assert r["P3.Bonus.4"].passed, r["P3.Bonus.4"].reason
    assert r["P3.Bonus.4"].evidence["n_distinct_majority"] == 10
    assert g.required_passed and r["P2.R2"].status == "not graded"


@pytest.mark.rubric("P3.R3", "P3.R4", "P3.Bonus.4")
def test_wrong_shape_crash_and_random_clusters_fail_part3(tmp_path):
    sub = oracle_submission(tmp_path, "eve", """
def generate(n_per_cluster, seed):
    return np.zeros((9, n_per_cluster, 784))      # one cluster short

def assign(images):
    return np.random.default_rng(0).integers(0, 10, len(images))
""")
    crash = submission(tmp_path, "frank", part3="""
import os, signal
def setup():
    os.kill(os.getpid(), signal.SIGSEGV)
""")
    g = grade(sub, GradingOptions(parts=("P3",), **FAST))
    r = results(g)
    assert not r["P3.R3"].passed and 0 < r["P3.R3"].score < 0.2
    assert "below 0.8" in r["P3.R3"].reason
    assert not r["P3.R4"].passed and "K=10 rows" in r["P3.R4"].reason
    assert not r["P3.Bonus.4"].passed and "no usable sample grid" in r["P3.Bonus.4"].reason
    g = grade(crash, GradingOptions(parts=("P3",), **FAST))
    for item in ("P3.R3", "P3.R4", "P3.Bonus.4"):
        assert results(g)[item].score == 0.0
        assert "SIGSEGV" in results(g)[item].reason
    assert "SIGSEGV" in results(g)["P3.R3"].evidence["run_error"]


def test_missing_part_fails_its_items_and_class_summary(tmp_path, capsys):
    ok = submission(tmp_path, "gina", part2=PART2_OK)
    out = tmp_path / "grades"
    code = cli.main([str(ok), str(submission(tmp_path, "hugo", part2="""
def fit(x, k, seed):
    return {"pi": [1.0] * k}
""")), "--part", "2", "--fit-datasets", "1", "--out", str(out), "--quiet"])
    assert code == 1
    summary = (out / "summary.md").read_text()
    assert "| gina | 2.00 / 2 | yes |" in summary and "| hugo | 0.00 / 2 | NO |" in summary
    hugo = json.loads((out / "hugo" / "grade.json").read_text())
    items = {r["id"]: r for r in hugo["items"]}
    assert "missing mu, sigma2" in items["P2.R3"]["reason"]
    assert "defines no function lower_bound" in items["P2.R2"]["reason"]
    g = grade(ok, GradingOptions(parts=("P3",)))          # gina has no part3.py
    assert results(g)["P3.R3"].reason == "part3.py not found in the submission"
    assert results(g)["P3.R1"].status == "manual" and not g.required_passed


@pytest.mark.parametrize("args, message", [
    (["x/none"], "x/none: no such folder"),
    (["{sub}", "--min-accuracy", "1.5"], "--min-accuracy must be in [0, 1]"),
    (["{sub}", "--time-limit", "0"], "--time-limit must be a positive number"),
    (["{sub}", "--fit-datasets", "9"], "--fit-datasets must be at most 4"),
    (["{sub}", "--jobs", "0"], "--jobs must be an integer >= 1"),
    (["{sub}", "{sub}"], "share the folder name"),
    (["{empty}"], "holds neither part2.py nor part3.py"),
])
def test_bad_arguments_are_one_line_errors(tmp_path, capsys, args, message):
    sub = submission(tmp_path, "ivy", part2=PART2_OK)
    (tmp_path / "empty").mkdir()
    args = [a.format(sub=sub, empty=tmp_path / "empty") for a in args]
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("grade-submission: error: ") and message in err
    assert err.count("\n") == 1


def test_pytest_submission_option_grades_a_folder(tmp_path):
    """One run: P2.R2 passes, P2.R3 fails (a fit that returns the initial guess)."""
    sub = submission(tmp_path, "jack", part2=PART2_OK + """
def fit(x, k, seed):
    return {"pi": np.full(k, 1 / k), "mu": x[:k], "sigma2": np.ones((k, 2))}
""")
    out = tmp_path / "r.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           str(ROOT / "tests" / "test_grading_submission.py"),
                           "--submission", str(sub), "--submission-part", "2",
                           "--grading-option", "fit_datasets=1", f"--rubric-json={out}",
                           "--submission-report", str(tmp_path / "report")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "P2.R3 failed (score 0.00): 0/1 data sets reach EM" in proc.stdout
    rows = {r["id"]: r for r in json.loads(out.read_text())["items"]}
    assert rows["P2.R2"]["status"] == "passed" and rows["P2.R3"]["status"] == "failed"
    assert rows["P3.R3"]["status"] == "skipped" and rows["P2.R1"]["status"] == "not covered"
    assert (tmp_path / "report" / "grade.md").is_file()
    assert set(AUTO_ITEMS) == {"P2.R2", "P2.R3", "P3.R3", "P3.R4", "P3.Bonus.4"}


@pytest.mark.rubric("P2.R2", "P2.R3")
def test_template_submission_passes_part2(tmp_path):
    """The package's own solution behind the interface (TensorFlow, NVIL)."""
    g = grade(TEMPLATE, GradingOptions(parts=("P2",), fit_datasets=1, time_limit=300,
                                       jobs=2))
    r = results(g)
    assert r["P2.R2"].passed, r["P2.R2"].reason
    assert r["P2.R3"].passed, r["P2.R3"].reason
    assert r["P2.R3"].evidence["datasets"][0]["gap_to_em"] < 0.01


@pytest.mark.rubric("P3.R3", "P3.R4")
def test_template_part3_restores_its_trained_model_and_answers(tmp_path, monkeypatch):
    """The template's part 3 on a tiny GMVAE trained here (in this process: a
    good model takes minutes, the wrapper is what is tested): ``setup()``
    restores every variable from ``model/``, ``generate`` and ``assign``
    answer in the interface's shapes, and agree with the model itself."""
    import importlib.util

    from gmvae.config import GMVAEConfig
    from gmvae.learning import fit

    rng = np.random.default_rng(0)
    x = (rng.random((40, 784)) ** 3).astype(np.float32)
    config = GMVAEConfig(epochs=1, n_clusters=3, latent_dim=4, enc_hidden=(16,),
                         dec_hidden=(16,), batch_size=20, verbose=False)
    trained = fit(config, x, out_dir=tmp_path / "model").model
    (tmp_path / "model" / "metrics.json").write_text(json.dumps({"config": config.to_dict()}))

    spec = importlib.util.spec_from_file_location("template_part3", TEMPLATE / "part3.py")
    part3 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(part3)
    monkeypatch.setattr(part3, "MODEL_DIR", tmp_path / "elsewhere")
    with pytest.raises(FileNotFoundError, match="no trained model"):
        part3.setup()
    monkeypatch.setattr(part3, "MODEL_DIR", tmp_path / "model")
    part3.setup()
    np.testing.assert_allclose(part3._model.pi(), trained.pi(), rtol=1e-6)
    grid = np.asarray(part3.generate(4, 0))
    assert grid.shape == (3, 4, 784) and 0 <= grid.min() and grid.max() <= 1
    ids = np.asarray(part3.assign(x[:10]))
    assert ids.shape == (10,) and ids.dtype.kind == "i" and set(ids) <= {0, 1, 2}
