"""pytest plugin: ``pytest tests --submission PATH`` grades a student's folder.

(``tests/conftest.py`` loads this plugin, so the ``tests`` folder must be on the
command line for pytest to know the option.)

With ``--submission`` the run keeps only the tests marked ``submission``
(``tests/test_grading_submission.py``: one test per automatically checked
rubric item, each asserting that the item passed, with the grader's reason as
the failure message), so the rubric table at the end is the student's grade.
Without it those tests are deselected and the suite tests the package itself.

Options: ``--submission-part 2|3|all``; ``--grading-option NAME=VALUE``
(repeatable) sets any :class:`~reports.grading.options.GradingOptions` field,
e.g. ``--grading-option min_accuracy=0.9``; ``--submission-report DIR`` also
writes the grade's Markdown and JSON there.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

MARK = "submission"


def pytest_addoption(parser):
    group = parser.getgroup("submission", "grade a student's submission (reports.grading)")
    group.addoption("--submission", metavar="PATH", default=None,
                    help="grade this submission folder instead of testing the package")
    group.addoption("--submission-part", choices=["2", "3", "all"], default="all",
                    help="grade one part only (default: all)")
    group.addoption("--grading-option", metavar="NAME=VALUE", action="append", default=[],
                    help="set a GradingOptions field (repeatable), e.g. time_limit=120")
    group.addoption("--submission-report", metavar="DIR", default=None,
                    help="also write grade.md and grade.json to DIR")


def grading_options(config):
    """The :class:`GradingOptions` the command line asks for (UsageError if bad)."""
    from reports.grading.options import GradingOptions

    parts = {"2": ("P2",), "3": ("P3",), "all": ("P2", "P3")}[
        config.getoption("submission_part")]
    fields = {f.name for f in dataclasses.fields(GradingOptions)}
    changes = {"parts": parts}
    for text in config.getoption("grading_option"):
        name, sep, value = text.partition("=")
        if not sep or name not in fields or name == "parts":
            raise pytest.UsageError(f"--grading-option {text!r}: expected NAME=VALUE with "
                                    f"NAME one of {sorted(fields - {'parts'})}")
        try:
            changes[name] = json.loads(value)
        except ValueError:
            changes[name] = value
    try:
        return GradingOptions(**changes)
    except (TypeError, ValueError) as exc:
        raise pytest.UsageError(f"--grading-option: {exc}") from None


def pytest_configure(config):
    config.addinivalue_line("markers", f"{MARK}: grades the --submission folder; runs "
                            "only when --submission is given")
    path = config.getoption("submission")
    if path is not None:
        if not Path(path).is_dir():
            raise pytest.UsageError(f"--submission {path}: no such folder")
        grading_options(config)          # refuse bad options before collecting


def pytest_collection_modifyitems(config, items):
    grading = config.getoption("submission") is not None
    keep, drop = [], []
    for item in items:
        is_check = item.get_closest_marker(MARK) is not None
        (keep if is_check == grading else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@pytest.fixture(scope="session")
def submission_grade(pytestconfig):
    """The :class:`~reports.grading.grader.Grade` of ``--submission`` (graded once)."""
    from reports.grading.grader import grade
    from reports.grading.report import write_report

    path = pytestconfig.getoption("submission")
    if path is None:
        pytest.skip("no --submission given")
    g = grade(path, grading_options(pytestconfig))
    out = pytestconfig.getoption("submission_report")
    if out:
        write_report(g, out)
    return g
