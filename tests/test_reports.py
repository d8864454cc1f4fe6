"""The reports: the renderer's guarantees, the committed reports' numbers, and
a quick-budget build from real (small) runs."""
import re
from pathlib import Path

import pytest

from reports import build, tables
from reports.render import ReportError, load_results, lookup, render

ROOT = Path(__file__).resolve().parent.parent
REPORTS_DIR = ROOT / "reports"

PART2_SECTIONS = ["## 1. The lower bound", "## 2. Model, inference, learning",
                  "## 3. N = 100, K = 3", "## 4. Bonus"]
PART3_SECTIONS = ["## 1. Model, inference, learning", "## 2. Results",
                  "## 3. Bonus *3", "## 4. Bonus *4", "## 6. The Serket"]


def test_render_fills_placeholders_and_rejects_holes():
    results = {"r": {"a": {"b": [1.23456, 2]}, "name": "x"}}
    text = render("v={{ r:a.b.0 | .2f }} n={{r:name}} t={{ table:t }}",
                  results, {"t": lambda res: "T" + res["r"]["name"]})
    assert text == "v=1.23 n=x t=Tx"
    with pytest.raises(ReportError, match="no entry 'c'"):
        render("{{ r:a.c }}", results)
    with pytest.raises(ReportError, match="no results named"):
        render("{{ q:a }}", results)
    with pytest.raises(ReportError, match="no generator"):
        render("{{ table:missing }}", results)
    assert lookup(results, "r", "a.b.1") == 2


def _numbers(text):
    return re.findall(r"-?\d+\.\d+", text)


@pytest.mark.parametrize("report", sorted(build.REPORTS))
def test_committed_reports_match_committed_results(report):
    """Every number in a committed report is the one in the committed JSON:
    re-rendering from reports/results reproduces the report exactly."""
    path = REPORTS_DIR / report
    assert path.is_file(), f"{path} is not committed; run make-report --budget full"
    template, names = build.REPORTS[report]
    results = load_results(REPORTS_DIR / "results", names)
    expected = render((build.TEMPLATES / template).read_text(), results,
                      tables.GENERATORS)
    committed = path.read_text()
    assert committed == expected
    assert len(_numbers(committed)) > 20
    for line in committed.splitlines():
        for fig in re.findall(r"\]\((figures/[^)]+)\)", line):
            assert (REPORTS_DIR / fig).stat().st_size > 0, fig
    assert results["meta"]["budget"] == "full"


@pytest.mark.slow
def test_quick_report_builds_with_every_section(tmp_path):
    # Its duration is recorded in results/meta.json (a loaded CI machine must
    # not fail the suite on time, so it is not asserted here).
    paths = build.build_reports(tmp_path / "out", "quick",
                                work_dir=tmp_path / "work", verbose=False)
    assert (tmp_path / "out" / "results" / "meta.json").is_file()
    part2 = (tmp_path / "out" / "part2_gmm_vi.md").read_text()
    part3 = (tmp_path / "out" / "part3_gmvae.md").read_text()
    assert {p.name for p in paths} == set(build.REPORTS)
    for section in PART2_SECTIONS:
        assert section in part2
    for section in PART3_SECTIONS:
        assert section in part3
    for text in (part2, part3):
        assert "{{" not in text
        for fig in re.findall(r"\]\((figures/[^)]+)\)", text):
            assert (tmp_path / "out" / fig).stat().st_size > 0, fig
    # A second build reuses every result (nothing is stale).
    before = {p: p.stat().st_mtime for p in (tmp_path / "out" / "results").glob("*.json")
              if p.name != "meta.json"}
    build.build_reports(tmp_path / "out", "quick", work_dir=tmp_path / "work",
                        verbose=False)
    after = {p: p.stat().st_mtime for p in before}
    assert before == after


def test_only_runs_its_experiment_even_when_an_earlier_one_is_stale(tmp_path, monkeypatch):
    """``make-report --only B`` runs B although A (listed before it) has no
    up-to-date result; the reports are then not rendered."""
    ran = []

    def fake(name):
        def run(work_dir, budget):
            ran.append(name)
            return {"value": 1}, {}
        return run

    monkeypatch.setattr(build, "EXPERIMENTS", (
        build.Experiment("a", fake("a"), ("common",)),
        build.Experiment("b", fake("b"), ("common",))))
    paths = build.build_reports(tmp_path / "out", "quick", work_dir=tmp_path / "work",
                                verbose=False, only=["b"])
    assert ran == ["b"] and paths == []
    assert (tmp_path / "out" / "results" / "b.json").is_file()
    assert not (tmp_path / "out" / "results" / "a.json").exists()
