"""How every command-line tool refuses bad input: one line, exit status 2.

A user error (a bad flag value, a malformed data file, an output folder that
would overwrite a finished run) is reported as ``PROG: error: message`` on
standard error, exit status 2, no traceback -- the convention argparse uses
for its own errors.  Programming errors still raise with their traceback.
``--debug`` (accepted by every tool) shows the traceback of a user error too.

Usage in a script::

    @cli_main("gmm-vi")
    def main(argv):
        args = build_parser().parse_args(argv)
        with user_input():          # ValueError & co. here are the user's
            config = Config(...)
            data = load(...)
            check_out_dir(args.out, resume=args.resume, overwrite=args.overwrite)
        import tensorflow as tf     # heavy work only after every check
        ...

This module imports nothing heavy (no TensorFlow), so the checks run in the
first fraction of a second.
"""
from __future__ import annotations

import functools
import json
import os
import sys
from contextlib import contextmanager
from pathlib import Path

__all__ = ["UserError", "user_input", "cli_main", "check_out_dir", "parse_json_arg",
           "FINISHED_MARKER"]

#: The file a finished run leaves in its output folder.
FINISHED_MARKER = "metrics.json"


class UserError(Exception):
    """Bad input from the user: reported in one line, exit status 2."""


@contextmanager
def user_input():
    """Treat ValueError, TypeError and file errors raised inside as user errors
    (json.JSONDecodeError is a ValueError)."""
    try:
        yield
    except UserError:
        raise
    except (ValueError, TypeError, OSError) as err:
        raise UserError(_one_line(err)) from err


def _one_line(err: BaseException) -> str:
    text = str(err) or type(err).__name__
    if isinstance(err, OSError) and err.filename is not None and str(err.filename) not in text:
        text = f"{text}: {err.filename}"
    return " ".join(text.split())


def parse_json_arg(text, option: str):
    """``json.loads(text)`` or a :class:`UserError` naming ``option``."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"{option} must be JSON (e.g. '[0.5, 0.5]'), got {text!r}: "
                        f"{err.msg}") from err


def check_out_dir(path, option: str = "--out", resume: bool = False,
                  overwrite: bool = False, marker: str | None = FINISHED_MARKER) -> Path:
    """Refuse an output folder that cannot be created, or that holds a finished
    run (``marker``; None: a folder that is reused by design) unless ``resume``
    or ``overwrite`` is given.  Creates nothing."""
    out = Path(path).expanduser()
    for parent in [out, *out.parents]:
        if parent.exists() and not parent.is_dir():
            where = "is" if parent == out else f"lies under {parent}, which is"
            raise UserError(f"{option} {out} {where} a regular file, not a folder")
        if parent.exists():
            break
    if marker is not None and (out / marker).is_file() and not (resume or overwrite):
        raise UserError(f"{option} {out} holds a finished run ({marker}); pass --resume "
                        f"to continue it, --overwrite to replace it, or choose another "
                        f"folder")
    probe = next((p for p in [out, *out.parents] if p.exists()), None)
    if probe is not None and not os.access(probe, os.W_OK):
        raise UserError(f"{option} {out}: {probe} is not writable")
    return out


def _user_error_types():
    """The exception types that mean bad input wherever they are raised."""
    from common.data.errors import DataFormatError  # numpy only
    return UserError, DataFormatError


def cli_main(prog: str):
    """Decorate ``main(argv) -> int``: user errors become ``PROG: error: ...``
    and exit status 2; ``--debug`` anywhere in argv re-raises them instead."""
    def wrap(main):
        @functools.wraps(main)
        def wrapped(argv=None):
            argv = list(sys.argv[1:] if argv is None else argv)
            debug = "--debug" in argv
            argv = [a for a in argv if a != "--debug"]
            try:
                return main(argv)
            except _user_error_types() as err:
                if debug:
                    raise
                print(f"{prog}: error: {_one_line(err)}", file=sys.stderr, flush=True)
                raise SystemExit(2) from None
        return wrapped
    return wrap
