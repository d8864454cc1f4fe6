"""A grade as the per-student Markdown and JSON report, and a class summary."""
from __future__ import annotations

import json
from pathlib import Path

__all__ = ["to_markdown", "write_report", "summary_markdown", "write_summary"]

_MARK = {"passed": "PASS", "failed": "FAIL", "manual": "manual", "not graded": "-"}


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _evidence_lines(evidence: dict) -> list[str]:
    """Evidence as a compact bullet list (nested rows one per line)."""
    lines = []
    for key, value in evidence.items():
        if key == "traceback":
            lines += ["", "```", str(value).rstrip(), "```"]
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            lines.append(f"- {key}:")
            lines += [f"  - {json.dumps(row, default=_jsonable)}" for row in value]
        else:
            lines.append(f"- {key}: {json.dumps(value, default=_jsonable)}")
    return lines


def _jsonable(value):
    return float(value) if hasattr(value, "__float__") else str(value)


def to_markdown(grade) -> str:
    """The student's report: verdict, one table row per item, then the evidence."""
    verdict = "every required automatic item passed" if grade.required_passed \
        else "some required automatic item FAILED"
    lines = [f"# Grade: {grade.student}", "",
             f"Submission `{grade.submission}`, graded {grade.started} in "
             f"{grade.seconds:.0f} s.", "",
             f"**Automatic score {grade.score:.2f} / {grade.max_score}** — {verdict}.", ""]
    if grade.notes:
        lines += [f"- {n}" for n in grade.notes] + [""]
    lines += ["| item | result | score | reason | statement |",
              "| --- | --- | --- | --- | --- |"]
    for r in grade.items:
        if r.status == "not graded":       # a part left out with --part
            continue
        score = "" if r.score is None else f"{r.score:.2f}"
        req = "" if r.item.required else " (bonus)"
        lines.append(f"| {r.id}{req} | {_MARK[r.status]} | {score} | {_cell(r.reason)} | "
                     f"{_cell(r.item.statement)} |")
    lines += ["", "## Evidence", ""]
    for r in grade.items:
        if r.status in ("passed", "failed"):
            took = "" if r.seconds is None else f" ({r.seconds:.1f} s)"
            lines += [f"### {r.id}: {_MARK[r.status]}{took}", "", r.reason, ""]
            lines += _evidence_lines(r.evidence) + [""]
    lines += ["## Settings", "", "```json",
              json.dumps(grade.options.to_dict(), indent=2), "```", ""]
    return "\n".join(lines)


def write_report(grade, out_dir) -> tuple[Path, Path]:
    """``out_dir/grade.md`` and ``out_dir/grade.json``; returns both paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "grade.md", out / "grade.json"
    md.write_text(to_markdown(grade))
    js.write_text(json.dumps(grade.to_dict(), indent=2, default=_jsonable) + "\n")
    return md, js


def summary_markdown(grades) -> str:
    """One row per student, one column per automatically checked item."""
    ids = [r.id for r in grades[0].items if r.status in ("passed", "failed")] \
        if grades else []
    lines = ["# Grades", "", "| student | score | required passed | "
             + " | ".join(ids) + " |", "| --- | --- | --- |" + " --- |" * len(ids)]
    for g in grades:
        by_id = {r.id: r for r in g.items}
        cells = [f"{_MARK[by_id[i].status]} {by_id[i].score:.2f}"
                 if by_id[i].score is not None else _MARK[by_id[i].status] for i in ids]
        lines.append(f"| {_cell(g.student)} | {g.score:.2f} / {g.max_score} | "
                     f"{'yes' if g.required_passed else 'NO'} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_summary(grades, out_dir) -> tuple[Path, Path]:
    """``out_dir/summary.md`` and ``summary.json`` over several students."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md, js = out / "summary.md", out / "summary.json"
    md.write_text(summary_markdown(grades))
    js.write_text(json.dumps([{"student": g.student, "score": g.score,
                               "max_score": g.max_score,
                               "required_passed": g.required_passed,
                               "items": {r.id: {"status": r.status, "score": r.score}
                                         for r in g.items}} for g in grades],
                             indent=2) + "\n")
    return md, js
