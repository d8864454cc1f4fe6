"""The rubric (common/rubric.py) and its pytest plugin (reports/grading/pytest_rubric.py)."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from common import rubric

ROOT = Path(__file__).resolve().parent.parent

EXPECTED_IDS = (["P2.R1", "P2.R2", "P2.R3", "P2.R4"]
                + [f"P2.Report.{i}" for i in range(1, 5)] + ["P2.Bonus.4"]
                + ["P3.R1", "P3.R2", "P3.R3", "P3.R4"]
                + [f"P3.Report.{i}" for i in range(1, 5)] + ["P3.Bonus.3", "P3.Bonus.4"])


def test_rubric_lists_every_assignment_item_once():
    ids = [i.id for i in rubric.ITEMS]
    assert ids == EXPECTED_IDS
    for item in rubric.ITEMS:
        assert item.part == item.id[:2] and item.kind in rubric.KINDS
        assert item.required == (item.kind != "bonus")
        assert 20 < len(item.statement) < 200 and "\n" not in item.statement
    assert [i.id for i in rubric.items("P3")] == EXPECTED_IDS[9:]
    assert rubric.part_of("P3.Bonus.4") == "P3"
    assert rubric.unknown_ids(["P2.R1", "P2.R9", "x"]) == ["P2.R9", "x"]
    with pytest.raises(KeyError, match="P2.R9"):
        rubric.get("P2.R9")
    with pytest.raises(ValueError, match="part"):
        rubric.items("P4")


def test_common_imports_no_part():
    """The layout's rule: common/ (the rubric included) never imports a part."""
    for path in (ROOT / "common").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] not in ("gmm_vi", "gmvae", "scripts", "reports"), \
                    f"{path.relative_to(ROOT)} imports {name}"


SUITE = """
import pytest

@pytest.mark.rubric("P2.R1")
def test_passes():
    pass

@pytest.mark.rubric("P2.R2", "P3.R1")
def test_fails():
    assert False

@pytest.mark.rubric("P3.R2")
def test_skips():
    pytest.skip("not today")

@pytest.mark.rubric("P3.R2")
@pytest.mark.parametrize("x", [1, 2])
def test_param(x):
    pass
"""


def _run(pytester, *args):
    pytester.makepyfile(test_suite=SUITE)
    return pytester.runpytest("-p", "reports.grading.pytest_rubric",
                              "-W", "error::pytest.PytestUnknownMarkWarning", *args)


def _rows(path):
    return {r["id"]: r for r in json.loads(Path(path).read_text())["items"]}


def test_plugin_prints_table_and_writes_json(pytester):
    out = pytester.path / "rubric.json"
    result = _run(pytester, f"--rubric-json={out}")
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    text = result.stdout.str()
    # The table closes the run: after pytest's short summary of failures.
    assert text.index("short test summary info") < text.index("assignment rubric")
    result.stdout.re_match_lines([r"P2\.R1\s+passed\s+1/1\s+Generative model",
                                  r"P2\.R2\s+failed\s+0/1",
                                  r"P3\.R2\s+passed\s+2/3",
                                  r"P3\.R3\s+not covered\s+-/0",
                                  r"19 items: 2 passed, 2 failed, 15 not covered"])
    rows = _rows(out)
    assert rows["P2.R1"]["status"] == "passed"
    assert rows["P3.R1"]["status"] == "failed" and rows["P3.R1"]["failed"] == 1
    assert rows["P3.R2"]["skipped"] == 1 and rows["P3.R2"]["passed"] == 2
    assert rows["P2.Bonus.4"]["status"] == "not covered" and not rows["P2.Bonus.4"]["required"]
    assert rows["P2.R2"]["tests"] == ["test_suite.py::test_fails"]
    assert rows["P2.R1"]["statement"] == rubric.get("P2.R1").statement


def test_part_marker_selects_one_part(pytester):
    out = pytester.path / "rubric.json"
    result = _run(pytester, "-m", "P2", f"--rubric-json={out}")
    # test_fails also names P3.R1, so it belongs to both parts.
    result.assert_outcomes(passed=1, failed=1)
    rows = _rows(out)
    assert rows["P3.R2"]["status"] == "not run"
    assert rows["P3.R1"]["status"] == "failed"
    result = _run(pytester, "-m", "P3 and not P2")
    result.assert_outcomes(passed=2, skipped=1)


def test_unknown_rubric_id_stops_the_run(pytester):
    pytester.makepyfile(test_typo="""
        import pytest
        @pytest.mark.rubric("P2.R7")
        def test_x():
            pass
    """)
    result = pytester.runpytest("-p", "reports.grading.pytest_rubric")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "unknown rubric item(s) P2.R7" in result.stderr.str()


def _collected_ids(config, tmp_path):
    """``{nodeid: rubric ids}`` of the whole suite: this session's own record
    when it collected every test file (a full run), else a fresh collection."""
    recorder = config.pluginmanager.get_plugin("rubric-recorder")
    files = {f"tests/{p.name}" for p in (ROOT / "tests").glob("test_*.py")}
    if recorder is not None and files <= {n.split("::")[0] for n in recorder.ids}:
        return recorder.ids
    out = tmp_path / "rubric.json"
    proc = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                           "-p", "no:cacheprovider", str(ROOT / "tests"),
                           f"--rubric-json={out}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    ids = {}
    for item_id, row in _rows(out).items():
        for test in row["tests"]:
            ids.setdefault(test, []).append(item_id)
    return ids


def test_every_item_is_covered_by_a_test_of_this_suite(request, tmp_path):
    """Each item has at least one test of the package (the --submission
    checks do not count: they are deselected in the package's run)."""
    ids = _collected_ids(request.config, tmp_path)
    for item_id in EXPECTED_IDS:
        own = [n for n, marks in ids.items()
               if item_id in marks and "test_grading_submission.py" not in n]
        assert own, f"{item_id} is covered by no test"
