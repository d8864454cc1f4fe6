"""``grade-submission``: grade students' solutions against the assignment rubric.

Example::

    grade-submission submissions/alice                     # one student
    grade-submission submissions/* --out grades            # a whole class
    grade-submission reports/grading/template_submission --part 2

Each PATH is a folder with ``part2.py`` and/or ``part3.py`` (the interface is
in README.md, "Grading").  Writes ``OUT/<folder name>/grade.md`` and
``grade.json`` per student (and ``OUT/summary.md`` / ``summary.json`` for
several), prints a table per student, and exits 0 when every required
automatic item of every student passed, 1 otherwise, 2 on bad arguments.
"""
from __future__ import annotations

import argparse
import sys
import textwrap
from pathlib import Path

from reports.grading.interface import PART_FILES
from reports.grading.options import GradingOptions

PROG = "grade-submission"


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        # One line, no usage block: the convention of every tool here.
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    d = GradingOptions()
    p = _Parser(prog=PROG, description=__doc__.split("\n")[0],
                formatter_class=argparse.RawDescriptionHelpFormatter,
                epilog=textwrap.dedent(__doc__.split("\n", 1)[1]))
    p.add_argument("paths", nargs="+", metavar="PATH", help="submission folder(s)")
    p.add_argument("--out", default="grades", help="reports go to OUT/<folder name>/ "
                   "(default: grades)")
    p.add_argument("--part", choices=["2", "3", "all"], default="all",
                   help="grade one part only (default: all)")
    p.add_argument("--time-limit", type=float, default=d.time_limit, metavar="S",
                   help=f"wall seconds per check (default {d.time_limit:g})")
    p.add_argument("--memory-mb", type=int, default=d.memory_mb, metavar="MB",
                   help=f"address-space cap per check (default {d.memory_mb})")
    p.add_argument("--jobs", type=int, default=d.jobs, metavar="N",
                   help="checks run at the same time, one process each (default 1)")
    p.add_argument("--fit-datasets", type=int, default=d.fit_datasets, metavar="N",
                   help=f"part 2 data sets fit() runs on, 1-4 (default {d.fit_datasets})")
    p.add_argument("--em-gap", type=float, default=d.em_gap, metavar="NATS",
                   help=f"allowed log-likelihood gap to EM (default {d.em_gap:g})")
    p.add_argument("--clusters", type=int, default=d.n_clusters, metavar="K",
                   help=f"rows the part 3 sample grid must have (default {d.n_clusters})")
    p.add_argument("--samples-per-cluster", type=int, default=d.samples_per_cluster,
                   metavar="N", help=f"default {d.samples_per_cluster}")
    p.add_argument("--min-accuracy", type=float, default=d.min_accuracy, metavar="A",
                   help=f"held-out clustering accuracy to pass (default {d.min_accuracy:g})")
    p.add_argument("--min-purity", type=float, default=d.min_purity, metavar="P",
                   help=f"mean generative purity to pass (default {d.min_purity:g})")
    p.add_argument("--purity-train", type=int, default=None, metavar="N",
                   help="training images for the purity classifier (default: all)")
    p.add_argument("--quiet", action="store_true", help="print only the verdicts")
    return p


#: GradingOptions field -> the flag that sets it.
_FLAGS = {"time_limit": "--time-limit", "memory_mb": "--memory-mb", "jobs": "--jobs",
          "fit_datasets": "--fit-datasets", "em_gap": "--em-gap", "n_clusters": "--clusters",
          "samples_per_cluster": "--samples-per-cluster", "min_accuracy": "--min-accuracy",
          "min_purity": "--min-purity", "purity_train": "--purity-train"}


def _options(args, parser) -> GradingOptions:
    parts = {"2": ("P2",), "3": ("P3",), "all": ("P2", "P3")}[args.part]
    try:
        return GradingOptions(parts=parts, time_limit=args.time_limit,
                              memory_mb=args.memory_mb, jobs=args.jobs,
                              fit_datasets=args.fit_datasets,
                              em_gap=args.em_gap, n_clusters=args.clusters,
                              samples_per_cluster=args.samples_per_cluster,
                              min_accuracy=args.min_accuracy, min_purity=args.min_purity,
                              purity_train=args.purity_train)
    except ValueError as exc:
        # Name the flag the user typed, not the option's field.
        field, _, rest = str(exc).partition(" ")
        parser.error(f"{_FLAGS.get(field, field)} {rest}")


def _check_paths(paths, parser) -> list[Path]:
    out, names = [], {}
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            parser.error(f"{raw}: not a folder" if path.exists() else f"{raw}: no such folder")
        if not any((path / f).is_file() for f in PART_FILES.values()):
            parser.error(f"{raw}: holds neither {' nor '.join(PART_FILES.values())}; "
                         "not a submission folder")
        name = path.resolve().name
        if name in names:
            parser.error(f"{raw} and {names[name]} share the folder name {name!r}; "
                         "their reports would overwrite each other")
        names[name] = raw
        out.append(path)
    return out


def _print_grade(g, paths) -> None:
    verdict = "PASS" if g.required_passed else "FAIL"
    print(f"\n{g.student}: {verdict}, automatic score {g.score:.2f} / {g.max_score}")
    for r in g.items:
        if r.status in ("passed", "failed"):
            reason = r.reason if len(r.reason) <= 100 else r.reason[:97] + "..."
            print(f"  {r.id:<11} {r.status:<7} {r.score:4.2f}  {reason}")
    print(f"  report: {paths[0]} (and {paths[1].name})")


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    options = _options(args, parser)
    submissions = _check_paths(args.paths, parser)

    # Heavy imports (numpy, scikit-learn) only after every argument is checked.
    from reports.grading.grader import grade
    from reports.grading.report import write_report, write_summary

    out = Path(args.out)
    grades = []
    for sub in submissions:
        log = None if args.quiet else (lambda line: print("  " + line, flush=True))
        g = grade(sub, options, log=log)
        paths = write_report(g, out / g.student)
        grades.append(g)
        if args.quiet:
            print(f"{g.student}: {'PASS' if g.required_passed else 'FAIL'} "
                  f"{g.score:.2f} / {g.max_score}")
        else:
            _print_grade(g, paths)
    if len(grades) > 1:
        md, _ = write_summary(grades, out)
        print(f"\nsummary: {md}")
    return 0 if all(g.required_passed for g in grades) else 1


if __name__ == "__main__":
    sys.exit(main())
