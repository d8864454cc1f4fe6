"""pytest plugin: tests name the rubric items they check; the run reports per item.

A test says what it checks with ``@pytest.mark.rubric("P2.R3", ...)`` (ids from
:mod:`common.rubric`; an unknown id stops the run, so a typo cannot silently
cover nothing).  At collection the plugin adds the part markers (``P2`` /
``P3``) so that ``pytest -m P2`` selects part 2's items; at the end it prints a
table — item, status, tests passed / run, statement — and with
``--rubric-json FILE`` writes the same as JSON.

Status of an item: ``failed`` if any of its tests failed or errored,
``passed`` if at least one passed and none failed, ``skipped`` if every test
that ran was skipped, ``not run`` if its tests were all deselected (``-m``,
``-k``), ``not covered`` if no collected test names it.

Loaded by ``tests/conftest.py``; elsewhere ``pytest -p reports.grading.pytest_rubric``.
"""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from common import rubric

MARK = "rubric"
# Outcome precedence when a test reports several phases (setup/call/teardown).
_RANK = {"passed": 0, "skipped": 1, "failed": 2}


def item_ids(item) -> list[str]:
    """Rubric ids of every ``rubric`` mark on a collected test (module,
    class and function marks together), without repeats."""
    ids = []
    for mark in item.iter_markers(MARK):
        for arg in mark.args:
            for i in ([arg] if isinstance(arg, str) else arg):
                if i not in ids:
                    ids.append(i)
    return ids


def pytest_addoption(parser):
    group = parser.getgroup("rubric", "assignment rubric (common.rubric)")
    group.addoption("--rubric-json", metavar="FILE", default=None,
                    help="write the per-item rubric table as JSON to FILE")


def pytest_configure(config):
    config.addinivalue_line("markers", "rubric(*ids): the assignment items "
                            "(common.rubric ids, e.g. 'P2.R3') this test checks")
    for part in rubric.PARTS:
        config.addinivalue_line("markers", f"{part}: added from the rubric marks; "
                                f"tests of an assignment part {part[1:]} item")
    if not config.pluginmanager.has_plugin(RubricRecorder.NAME):
        config.pluginmanager.register(RubricRecorder(config), RubricRecorder.NAME)


class RubricRecorder:
    """Per-session plugin: what the run collected and how each marked test
    ended; prints and writes the table at the end."""

    NAME = "rubric-recorder"

    def __init__(self, config):
        self.config = config
        # nodeid -> rubric ids, for every collected test (before -m/-k deselect)
        self.ids = {}
        self.outcome = {}       # nodeid -> "passed" | "skipped" | "failed"

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, session, config, items):
        # tryfirst: the part markers must exist before `-m` deselects on them.
        for item in items:
            ids = item_ids(item)
            bad = rubric.unknown_ids(ids)
            if bad:
                raise pytest.UsageError(f"{item.nodeid}: unknown rubric item(s) "
                                        f"{', '.join(bad)} (see common/rubric.py)")
            for part in sorted({rubric.part_of(i) for i in ids}):
                item.add_marker(part)
            self.ids[item.nodeid] = ids

    def pytest_runtest_logreport(self, report):
        if report.nodeid not in self.ids:
            return
        if report.when != "call" and report.passed:
            return          # a passing setup/teardown says nothing about the test
        new = "skipped" if report.skipped else ("failed" if report.failed else "passed")
        old = self.outcome.get(report.nodeid)
        if old is None or _RANK[new] > _RANK[old]:
            self.outcome[report.nodeid] = new

    def table(self) -> list[dict]:
        """One row per rubric item, in rubric order."""
        rows = []
        for item in rubric.ITEMS:
            tests = sorted(n for n, ids in self.ids.items() if item.id in ids)
            ran = [n for n in tests if n in self.outcome]
            counts = {k: sum(self.outcome[n] == k for n in ran) for k in _RANK}
            if not tests:
                status = "not covered"
            elif not ran:
                status = "not run"
            elif counts["failed"]:
                status = "failed"
            elif counts["passed"]:
                status = "passed"
            else:
                status = "skipped"
            rows.append({"id": item.id, "part": item.part, "kind": item.kind,
                         "required": item.required, "statement": item.statement,
                         "status": status, "tests": tests,
                         "outcomes": {n: self.outcome[n] for n in ran}, **counts})
        return rows

    @pytest.hookimpl(hookwrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter, exitstatus, config):
        # The outermost wrapper: the table comes after pytest's own summary of
        # failures, just above the final "N passed" line.
        yield
        rows = self.table()
        terminalreporter.write_sep("=", "assignment rubric (passed tests / tests run)")
        for line in format_table(rows, verbose=config.getoption("verbose") > 0):
            terminalreporter.write_line(line)
        path = config.getoption("rubric_json")
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(json.dumps({"items": rows}, indent=2) + "\n")
            terminalreporter.write_line(f"rubric written to {path}")


def format_table(rows, verbose=False) -> list[str]:
    """Lines of the terminal table (test node ids listed when ``verbose``)."""
    lines = [f"{'item':<12} {'status':<11} {'tests':>7}  statement"]
    for r in rows:
        ran = r["passed"] + r["failed"] + r["skipped"]
        tests = f"{r['passed']}/{ran}" if ran else f"-/{len(r['tests'])}"
        # Wrapped, not cut: the statement is what a grader reads the row by.
        first, *rest = textwrap.wrap(r["statement"], 84)
        lines.append(f"{r['id']:<12} {r['status']:<11} {tests:>7}  {first}")
        lines += [f"{'':<33}{more}" for more in rest]
        if verbose:
            lines += [f"{'':<33}- {n}: {r['outcomes'].get(n, 'not run')}"
                      for n in r["tests"]]
    counts = {}
    for r in rows:
        counts[r["status"]] = counts.get(r["status"], 0) + 1
    lines.append(f"{len(rows)} items: " + ", ".join(
        f"{counts[s]} {s}" for s in ("passed", "failed", "skipped", "not run",
                                     "not covered") if s in counts))
    return lines
