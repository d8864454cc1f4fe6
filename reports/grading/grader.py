"""Grade one submission: run every automatic check, list the rest as manual.

:func:`grade` never raises because of the submission: each check runs the
submission's code in its own child process (:mod:`.sandbox`), and whatever
goes wrong there — a crash, a hang, NaN, a wrong shape, a missing file —
scores that check's items 0 with the reason, and the other checks go on.
"""
from __future__ import annotations

import datetime
import time
import traceback
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from common import rubric

from . import checks_part2, checks_part3
from .interface import PART_FILES
from .options import GradingOptions
from .result import ItemResult

__all__ = ["CHECKS", "AUTO_ITEMS", "Grade", "grade"]

#: Per part: ((rubric ids, check), ...) in the order they run.
CHECKS = {"P2": checks_part2.CHECKS, "P3": checks_part3.CHECKS}
#: Items the autograder scores; every other item is graded by a person.
AUTO_ITEMS = tuple(i for part in CHECKS.values() for ids, _ in part for i in ids)


@dataclass
class Grade:
    """One student's grade: ``items`` in rubric order (:class:`ItemResult`)."""
    student: str
    submission: str
    options: GradingOptions
    items: list
    started: str = ""
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    @property
    def required_passed(self) -> bool:
        """Every required, automatically checked item of the graded parts passed."""
        return all(r.passed for r in self.items
                   if r.item.required and r.status in ("passed", "failed"))

    @property
    def score(self) -> float:
        return float(sum(r.score or 0.0 for r in self.items if r.score is not None))

    @property
    def max_score(self) -> int:
        return sum(r.score is not None for r in self.items)

    def to_dict(self) -> dict:
        return {"student": self.student, "submission": self.submission,
                "started": self.started, "seconds": self.seconds,
                "options": self.options.to_dict(), "score": self.score,
                "max_score": self.max_score, "required_passed": self.required_passed,
                "notes": self.notes, "items": [r.to_dict() for r in self.items]}


def _run_check(check, ids, submission, options) -> list:
    t0 = time.perf_counter()
    try:
        results = check(submission, options)
    except Exception as exc:     # a grader bug must not stop the other items
        detail = traceback.format_exc(limit=5)
        return [ItemResult.failed(i, f"grader error: {type(exc).__name__}: {exc}",
                                  {"traceback": detail}, time.perf_counter() - t0)
                for i in ids]
    return results


def grade(submission, options: GradingOptions = GradingOptions(), log=None) -> Grade:
    """Grade the submission folder ``submission``.

    Checks run ``options.jobs`` at a time (each in its own child process;
    threads here only wait for them).

    :param log: called with one line per finished item (progress), or None.
    """
    submission = Path(submission)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    by_id, notes, todo = {}, [], []
    for part, checks in CHECKS.items():
        if part not in options.parts:
            for item in rubric.items(part):
                by_id[item.id] = ItemResult(item.id, "not graded",
                                            reason="part not asked for (--part)")
            continue
        if (submission / PART_FILES[part]).is_file():
            todo += checks
        else:
            notes.append(f"{PART_FILES[part]} not found")
            for ids, _ in checks:
                by_id.update((i, ItemResult.failed(i, f"{PART_FILES[part]} not found in "
                                                   "the submission")) for i in ids)
        for item in rubric.items(part):
            if not any(item.id in ids for ids, _ in checks):
                by_id[item.id] = ItemResult(item.id, "manual", reason="not checked "
                                            "automatically: graded by a person (report "
                                            "text, code structure)")
    with ThreadPoolExecutor(max_workers=options.jobs) as pool:
        futures = [pool.submit(_run_check, check, ids, submission, options)
                   for ids, check in todo]
        for future in as_completed(futures):
            for r in future.result():
                by_id[r.id] = r
                if log is not None:
                    log(f"{submission.name}: {r.id} {r.status} ({r.score:.2f}): {r.reason}")
    items = [by_id[item.id] for item in rubric.ITEMS]
    return Grade(submission.name, str(submission.resolve()), options, items, started,
                 time.perf_counter() - t0, notes)
