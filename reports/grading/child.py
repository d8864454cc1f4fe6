"""The child process that runs a submission's functions (started by
:mod:`reports.grading.sandbox`; never imported by the grader itself).

``main([REQUEST_DIR])`` reads
``REQUEST_DIR/request.json``::

    {"submission": DIR, "file": "part2.py", "setup": true,
     "calls": [{"func": "fit", "args": [{"array": "a0"}, {"value": 3}, ...]}, ...],
     "limits": {"address_space": BYTES, "file_size": BYTES}}

with the array arguments of call i in ``in_<i>.npz``.  It sets its resource
limits, imports the file,
calls ``setup()`` when asked and defined, then each function in turn.  After
every step it appends one JSON line to ``log.jsonl`` (``stage``, ``ok``,
``error``, ``seconds``) and writes call i's result to ``out_<i>.npz``: a
returned dict as its keys, anything else as ``value``.  Each result is
written as soon as it exists, so a later hang or crash loses nothing before
it.  Only numbers leave the child (no pickles), and the grader re-checks all
of them: nothing here is trusted.
"""
from __future__ import annotations

import importlib.util
import json
import resource
import sys
import time
import traceback
from pathlib import Path

import numpy as np

MAX_ERROR_CHARS = 400


def _describe(exc: BaseException, submission: Path) -> str:
    """``Type: message`` plus the submission's own innermost frame, one line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if Path(f.filename).resolve().is_relative_to(submission)]
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    text = f"{type(exc).__name__}: {exc}".replace("\n", " ")
    if len(text) > MAX_ERROR_CHARS:
        text = text[:MAX_ERROR_CHARS - 3] + "..."
    return text + where


def _to_arrays(value) -> dict:
    """A returned value as ``{name: numeric array}``; TypeError otherwise."""
    pairs = value.items() if isinstance(value, dict) else [("value", value)]
    out = {}
    for key, v in pairs:
        if hasattr(v, "numpy"):           # a TensorFlow / PyTorch tensor
            v = v.numpy()
        a = np.asarray(v)
        if a.dtype.kind not in "biuf":
            raise TypeError(f"returned {key!r} as {type(v).__name__} (dtype {a.dtype}), "
                            "not numbers")
        out[str(key)] = a
    return out


def _args(request_dir: Path, i: int, specs: list) -> list:
    arrays = {}
    path = request_dir / f"in_{i}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files}
    return [arrays[s["array"]] if "array" in s else s["value"] for s in specs]


def _limit(limits: dict) -> None:
    """Cap this process before any submission code runs (hard = soft)."""
    for name, value in (("RLIMIT_AS", limits["address_space"]),
                        ("RLIMIT_FSIZE", limits["file_size"]), ("RLIMIT_CORE", 0)):
        resource.setrlimit(getattr(resource, name), (value, value))


def main(argv=None) -> int:
    request_dir = Path((argv or sys.argv[1:])[0])
    request = json.loads((request_dir / "request.json").read_text())
    _limit(request["limits"])
    log = open(request_dir / "log.jsonl", "a", buffering=1)

    def note(stage, t0, error=None):
        log.write(json.dumps({"stage": stage, "ok": error is None, "error": error,
                              "seconds": time.perf_counter() - t0}) + "\n")
        log.flush()

    submission = Path(request["submission"]).resolve()
    # The submission's own helpers import as top-level modules, like a script.
    sys.path.insert(0, str(submission))
    t0 = time.perf_counter()
    try:
        name = Path(request["file"]).stem
        spec = importlib.util.spec_from_file_location(name, submission / request["file"])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except BaseException as exc:           # SystemExit too: the grading goes on
        note("import", t0, _describe(exc, submission))
        return 0
    note("import", t0)
    if request.get("setup") and hasattr(module, "setup"):
        t0 = time.perf_counter()
        try:
            module.setup()
        except BaseException as exc:
            note("setup", t0, _describe(exc, submission))
            return 0
        note("setup", t0)
    for i, call in enumerate(request["calls"]):
        t0 = time.perf_counter()
        try:
            fn = getattr(module, call["func"], None)
            if not callable(fn):
                raise AttributeError(f"{request['file']} defines no function "
                                     f"{call['func']}()")
            arrays = _to_arrays(fn(*_args(request_dir, i, call["args"])))
            np.savez(request_dir / f"out_{i}.npz", **arrays)
        except BaseException as exc:
            note(f"call {i}", t0, _describe(exc, submission))
            continue
        note(f"call {i}", t0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
