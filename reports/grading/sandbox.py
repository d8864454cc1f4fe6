"""Run a submission's functions in a child process with a time limit and a
memory cap, and bring back only numbers.

A submission is untrusted code: it may hang, crash the interpreter, eat all
memory, print garbage or return NaN.  :func:`run_calls` starts
:mod:`reports.grading.child` in a new Python in its own process group with

* ``RLIMIT_AS`` (address space) = ``memory_mb``, so an allocation beyond it
  fails inside the child (MemoryError, or a crash) instead of the machine
  swapping; ``RLIMIT_CORE`` = 0 and ``RLIMIT_FSIZE`` capping files it writes
  (set by the child on itself before it imports the submission: a
  ``preexec_fn`` is unsafe when the grader has threads, as TensorFlow does);
* a wall-clock limit, after which the whole process group is killed (so
  processes the submission started die too);

and reads back the child's log and ``.npz`` results with
``allow_pickle=False``, so nothing the child wrote can run code here.  Every
outcome is data (:class:`RunOutcome`); nothing raised in the child reaches the
caller.  This is containment, not a security sandbox: the child still runs
as the grading user, with its file system and network (run the grader in a
container to grade code you suspect of malice).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["CallOutcome", "RunOutcome", "run_calls"]

#: Largest result file read back (a [10, 100, 784] float64 grid is 6 MB).
MAX_RESULT_BYTES = 512 * 2 ** 20
#: Largest file the child may write (RLIMIT_FSIZE).
MAX_FILE_BYTES = 2 * 2 ** 30
_ROOT = Path(__file__).resolve().parents[2]     # holds the `reports` package
# The child's first act: drop its working directory (the submission) from
# sys.path, so that a student's `common.py` cannot shadow the grader's
# modules (what `python -P` does, but Python 3.10 lacks -P).
_BOOT = ("import sys; del sys.path[0]; from reports.grading.child import main; "
         "sys.exit(main())")


@dataclass
class CallOutcome:
    """One function call: ``value`` (``{name: array}``) when ``ok``, else ``error``."""
    ok: bool
    value: dict | None = None
    error: str | None = None
    seconds: float | None = None


@dataclass
class RunOutcome:
    """All calls of one child run.  ``error`` says why the run stopped early
    (import or setup failure, time limit, crash); calls it never reached carry
    that reason too."""
    calls: list
    error: str | None = None
    seconds: float = 0.0
    output_tail: str = ""
    stages: dict = field(default_factory=dict)

    def evidence(self) -> dict:
        """What a report shows of the run: its time, and when it stopped
        early, why and the last of what it printed."""
        out = {"seconds": self.seconds}
        if self.error:
            out.update(run_error=self.error, child_output=self.output_tail[-800:])
        return out


def _write_request(tmp: Path, submission: Path, file: str, calls, setup: bool,
                   memory_mb: int) -> None:
    specs = []
    for i, (func, args) in enumerate(calls):
        arrays, arg_specs = {}, []
        for j, a in enumerate(args):
            if isinstance(a, np.ndarray):
                arrays[f"a{j}"] = a
                arg_specs.append({"array": f"a{j}"})
            else:
                arg_specs.append({"value": a})
        if arrays:
            np.savez(tmp / f"in_{i}.npz", **arrays)
        specs.append({"func": func, "args": arg_specs})
    (tmp / "request.json").write_text(json.dumps(
        {"submission": str(submission), "file": file, "setup": setup, "calls": specs,
         "limits": {"address_space": int(memory_mb) * 2 ** 20,
                    "file_size": MAX_FILE_BYTES}}))


def _read_log(path: Path) -> dict:
    """``{stage: record}`` from the child's log; lines that are not our JSON
    (the child may have written anything) are ignored."""
    stages = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            try:
                rec = json.loads(line)
                stages[str(rec["stage"])] = {"ok": bool(rec["ok"]),
                                             "error": rec.get("error"),
                                             "seconds": float(rec.get("seconds", 0.0))}
            except (ValueError, KeyError, TypeError):
                continue
    return stages


def _read_result(path: Path) -> dict:
    if not path.is_file():
        raise ValueError("the call reported success but wrote no result")
    if path.stat().st_size > MAX_RESULT_BYTES:
        raise ValueError(f"result larger than {MAX_RESULT_BYTES // 2 ** 20} MB")
    with np.load(path, allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def _exit_reason(rc: int, timed_out: bool, time_limit: float, memory_mb: int) -> str | None:
    if timed_out:
        return f"timed out: no answer within the {time_limit:g} s time limit"
    if rc < 0:
        try:
            name = signal.Signals(-rc).name
        except ValueError:
            name = f"signal {-rc}"
        return (f"crashed: the process was killed by {name} (memory cap "
                f"{memory_mb} MB; a crash in native code also ends this way)")
    if rc != 0:
        return f"crashed: the process exited with status {rc}"
    return None


def run_calls(submission, file: str, calls, *, setup: bool = False,
              time_limit: float = 600.0, memory_mb: int = 8192) -> RunOutcome:
    """Import ``submission/file`` in a child, call ``setup()`` if asked (and
    defined), then ``func(*args)`` for each ``(func, args)`` in ``calls``.

    :param calls: ``[(name, [arg, ...]), ...]``; an arg is a numpy array or
        a JSON value (int, float, str).
    :param time_limit: wall seconds for the whole run (import and setup included).
    :param memory_mb: address-space cap of the child.
    :return: a :class:`RunOutcome` with one :class:`CallOutcome` per call.
    """
    submission = Path(submission).resolve()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg",
               PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(_ROOT),
                                                        os.environ.get("PYTHONPATH")])))
    with tempfile.TemporaryDirectory(prefix="grade-") as tmp:
        tmp = Path(tmp)
        _write_request(tmp, submission, file, calls, setup, memory_mb)
        t0 = time.perf_counter()
        timed_out = False
        with open(tmp / "output.txt", "wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-c", _BOOT, str(tmp)],
                cwd=submission, env=env, stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
            try:
                rc = proc.wait(timeout=time_limit)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                # The whole group: processes the submission started die too.
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                rc = proc.wait()
        seconds = time.perf_counter() - t0
        tail = (tmp / "output.txt").read_bytes()[-2000:].decode(errors="replace")
        stages = _read_log(tmp / "log.jsonl")
        error = _exit_reason(rc, timed_out, time_limit, memory_mb)
        for stage in ("import", "setup"):
            if stage in stages and not stages[stage]["ok"]:
                error = f"{stage} of {file} failed: {stages[stage]['error']}"
        if error is None and "import" not in stages:
            error = "the child process ended without reporting (output: " \
                    f"{tail.strip()[-300:] or 'none'})"
        outcomes = []
        for i in range(len(calls)):
            rec = stages.get(f"call {i}")
            if rec is None:
                # The run's own reason (import/setup failed, time limit, crash).
                outcomes.append(CallOutcome(False, error=error or
                                            "the child stopped before this call"))
            elif not rec["ok"]:
                outcomes.append(CallOutcome(False, error=rec["error"],
                                            seconds=rec["seconds"]))
            else:
                try:
                    value = _read_result(tmp / f"out_{i}.npz")
                except (ValueError, OSError) as exc:
                    outcomes.append(CallOutcome(False, error=f"unreadable result: {exc}"))
                    continue
                outcomes.append(CallOutcome(True, value=value, seconds=rec["seconds"]))
        return RunOutcome(outcomes, error, seconds, tail, stages)
