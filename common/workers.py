"""Worker processes that end when their parent dies.

``ProcessPoolExecutor`` workers outlive a parent killed with SIGKILL: the
parent never gets to shut the pool down, so each worker (with TensorFlow
loaded, hundreds of MB) keeps waiting for work.  :func:`process_pool` starts
workers that (1) ask Linux to SIGKILL them when their parent exits
(``prctl(PR_SET_PDEATHSIG)``) and (2) also watch their parent's pid from a
daemon thread, which covers other platforms and a parent that was replaced.
numpy-free and TensorFlow-free.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

__all__ = ["die_with_parent", "process_pool"]

_PR_SET_PDEATHSIG = 1


def die_with_parent(poll_seconds: float = 1.0) -> None:
    """Make the calling process exit when its current parent does."""
    parent = os.getppid()
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the watchdog below still applies
    if os.getppid() != parent:          # the parent died before prctl took effect
        os._exit(1)

    def watch():
        while True:
            time.sleep(poll_seconds)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, name="die-with-parent", daemon=True).start()


def _start_worker(initializer, initargs):
    die_with_parent()
    if initializer is not None:
        initializer(*initargs)


def process_pool(max_workers: int, initializer=None, initargs=()) -> ProcessPoolExecutor:
    """A ``ProcessPoolExecutor`` of spawned workers that die with this process.

    Spawned rather than forked: TensorFlow does not survive a fork.
    """
    return ProcessPoolExecutor(max_workers=max_workers,
                               mp_context=multiprocessing.get_context("spawn"),
                               initializer=_start_worker,
                               initargs=(initializer, tuple(initargs)))
