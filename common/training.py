"""Training utilities: seeding, progress bars, output folders, JSON, TensorBoard
scalars, resumable checkpoints and timing."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

import numpy as np
import tensorflow as tf
from tqdm.auto import tqdm

from common.cli import UserError
from common.validation import differing_keys

__all__ = ["set_seed", "progress", "format_scalars", "ensure_outdir", "to_jsonable",
           "write_json", "read_json", "ScalarLogger", "CheckpointHelper",
           "ConfigMismatchError", "Timer"]

PathLike = Union[str, os.PathLike]


# ----------------------------------------------------------------------------- seeding
def set_seed(seed: int) -> None:
    """Seed Python's ``random``, numpy's global RNG and TensorFlow's global seed."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)) \
            or not 0 <= seed < 2 ** 32:
        raise ValueError(f"seed must be an integer in [0, 2**32), got {seed!r}")
    # Keras' helper seeds random, numpy and tf together (and the Keras backend).
    tf.keras.utils.set_random_seed(int(seed))
    random.seed(int(seed))
    np.random.seed(int(seed))
    tf.random.set_seed(int(seed))


# ----------------------------------------------------------------------------- progress
def progress(iterable: Optional[Iterable] = None, total: Optional[int] = None,
             desc: Optional[str] = None, verbose: bool = True) -> tqdm:
    """A tqdm progress bar; a silent pass-through when ``verbose`` is False."""
    return tqdm(iterable, total=total, desc=desc, disable=not verbose, dynamic_ncols=True)


def _to_float(value: Any) -> float:
    """Python float from a number, numpy scalar/0-d array or scalar tensor."""
    if hasattr(value, "numpy"):
        value = value.numpy()
    arr = np.asarray(value)
    if arr.size != 1:
        raise ValueError(f"expected a scalar, got shape {arr.shape}")
    return float(arr.reshape(()))


def format_scalars(scalars: Mapping[str, Any]) -> str:
    """``{"elbo": -101.234, "acc": 0.9}`` -> ``"elbo=-101.2, acc=0.9"`` (4 significant digits)."""
    return ", ".join(f"{name}={_to_float(value):.4g}" for name, value in scalars.items())


# ----------------------------------------------------------------------------- files / JSON
def ensure_outdir(path: PathLike) -> Path:
    """Create ``path`` (and parents) if needed and return it as a Path."""
    path = Path(path).expanduser()
    if path.exists() and not path.is_dir():
        raise FileExistsError(f"output path exists and is not a directory: {path}")
    path.mkdir(parents=True, exist_ok=True)
    return path


def to_jsonable(obj: Any, _where: str = "obj") -> Any:
    """Recursively convert numpy/TF values, dataclasses and paths to JSON types.

    numpy scalars -> Python scalars, arrays/tensors -> nested lists,
    dataclasses -> dicts of their fields, tuples/sets -> lists, Path -> str,
    mapping keys -> str, NaN and infinities -> None (strict JSON has no
    spelling for them). Anything else raises ValueError naming where it is.
    """
    if isinstance(obj, float) or isinstance(obj, np.floating):
        value = float(obj)
        return value if math.isfinite(value) else None
    if obj is None or isinstance(obj, (bool, int, str)):
        return obj
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist(), _where)
    if isinstance(obj, (tf.Tensor, tf.Variable)):
        return to_jsonable(np.asarray(obj.numpy()), _where)
    if isinstance(obj, os.PathLike):
        return os.fspath(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_jsonable(getattr(obj, f.name), f"{_where}.{f.name}")
                for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {str(k): to_jsonable(v, f"{_where}[{k!r}]") for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v, f"{_where}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, (set, frozenset)):
        return [to_jsonable(v, f"{_where}{{}}") for v in sorted(obj)]
    raise ValueError(f"{_where}: cannot convert {type(obj).__name__} to JSON")


def _non_finite_paths(obj: Any, where: str = "") -> list:
    """Dotted paths of the NaN / infinite floats inside ``obj`` (first 50)."""
    found = []

    def walk(o, w):
        if len(found) >= 50:
            return
        if isinstance(o, (float, np.floating)) and not math.isfinite(float(o)):
            found.append(w or "(value)")
        elif isinstance(o, np.ndarray) and o.dtype.kind == "f":
            if not np.all(np.isfinite(o)):
                found.append(f"{w} (array)")
        elif isinstance(o, Mapping):
            for k, v in o.items():
                walk(v, f"{w}.{k}" if w else str(k))
        elif isinstance(o, (list, tuple)):
            for i, v in enumerate(o):
                walk(v, f"{w}[{i}]")

    walk(obj, where)
    return found


def write_json(path: PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented, strict JSON, atomically (temp file +
    ``os.replace``).

    A crash mid-write never leaves a truncated file behind. Parent folders are
    created. Non-finite numbers are written as null; a dict then gets a key
    ``"non_finite_as_null"`` listing where they were. Returns the path.
    """
    path = Path(path)
    nulls = _non_finite_paths(obj)
    value = to_jsonable(obj)
    if nulls and isinstance(value, dict):
        value["non_finite_as_null"] = nulls
    data = json.dumps(value, indent=2, sort_keys=False, allow_nan=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(data + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def read_json(path: PathLike) -> Any:
    """Read a JSON file; FileNotFoundError names the path."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"JSON file not found: {path}")
    with open(path, "r") as fh:
        return json.load(fh)


# ----------------------------------------------------------------------------- scalars
# ``tf.summary.scalar`` lives in the separate ``tensorboard`` package, which
# TensorFlow >= 2.16 no longer installs. Writing the tensor with the "scalars"
# plugin metadata ourselves produces the same event records with core TF only.
_SCALAR_METADATA = tf.compat.v1.SummaryMetadata(
    plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars"))


class ScalarLogger:
    """Keeps scalar histories in memory and mirrors them to TensorBoard.

    Attributes:
        history: {name: [(step, value), ...]} in logging order.
    """

    def __init__(self, logdir: Optional[PathLike] = None):
        self.logdir = None if logdir is None else ensure_outdir(logdir)
        self._writer = (None if self.logdir is None
                        else tf.summary.create_file_writer(str(self.logdir)))
        self.history: dict[str, list[tuple[int, float]]] = {}

    def log(self, step: int, **scalars: Any) -> None:
        """Record ``name=value`` pairs at ``step`` (values: numbers or scalar tensors)."""
        step = int(step)
        values = {name: _to_float(value) for name, value in scalars.items()}
        for name, value in values.items():
            self.history.setdefault(name, []).append((step, value))
        if self._writer is not None:
            with self._writer.as_default():
                for name, value in values.items():
                    tf.summary.write(name, tf.constant(value, tf.float32), step=step,
                                     metadata=_SCALAR_METADATA)

    def curves(self) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """History as {name: (steps [T], values [T])}, the format of ``plot_curves``."""
        return {name: (np.array([s for s, _ in pts], dtype=np.int64),
                       np.array([v for _, v in pts], dtype=np.float64))
                for name, pts in self.history.items()}

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush and close the TensorBoard writer (history stays available)."""
        if self._writer is not None:
            self._writer.flush()
            self._writer.close()
            self._writer = None

    def __enter__(self) -> "ScalarLogger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ----------------------------------------------------------------------------- checkpoints
class ConfigMismatchError(UserError, ValueError):
    """Resuming with a configuration that differs from the stored one."""


def _normalise_config(config: Mapping[str, Any]) -> dict:
    """JSON round trip so tuples/lists, numpy/python numbers compare equal."""
    return json.loads(json.dumps(to_jsonable(dict(config), "config")))


class CheckpointHelper:
    """``tf.train.Checkpoint`` + ``CheckpointManager`` with a step counter and a
    config guard, so that an interrupted run can be resumed safely.

    Usage::

        ckpt = CheckpointHelper(outdir / "ckpt", config, model=model, optimizer=opt)
        start = ckpt.restore_or_initialize(resume=args.resume)
        for step in range(start, n_steps):
            ...
            if (step + 1) % every == 0:
                ckpt.save(step + 1)

    Attributes:
        step: int64 ``tf.Variable`` stored in the checkpoint.
        checkpoint: the ``tf.train.Checkpoint``.
        manager: the ``tf.train.CheckpointManager``.
    """

    CONFIG_NAME = "config.json"

    def __init__(self, directory: PathLike, config: Mapping[str, Any], max_to_keep: int = 3,
                 added_defaults: Optional[Mapping[str, Any]] = None, **trackables: Any):
        if not isinstance(config, Mapping):
            raise ValueError(f"config must be a dict, got {type(config).__name__}")
        if "step" in trackables:
            raise ValueError("'step' is reserved for the checkpoint's step counter; "
                             "rename that trackable")
        if isinstance(max_to_keep, bool) or not isinstance(max_to_keep, int) or max_to_keep < 1:
            raise ValueError(f"max_to_keep must be an integer >= 1, got {max_to_keep!r}")
        self.directory = Path(directory)
        self.config = _normalise_config(config)
        # Fields newer than a stored config.json, with their behaviour-preserving
        # values (see common.validation.differing_keys).
        self.added_defaults = dict(added_defaults or {})
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.checkpoint = tf.train.Checkpoint(step=self.step, **trackables)
        self.manager = tf.train.CheckpointManager(self.checkpoint, str(self.directory),
                                                  max_to_keep=max_to_keep)
        self._config_written = False
        # Checkpoints that restore_or_initialize could not read: [{checkpoint, reason}].
        self.skipped: list = []

    @property
    def config_path(self) -> Path:
        return self.directory / self.CONFIG_NAME

    @property
    def latest(self) -> Optional[str]:
        """Path prefix of the newest checkpoint, or None."""
        return self.manager.latest_checkpoint

    def restore_or_initialize(self, resume: bool) -> int:
        """Restore the newest checkpoint when ``resume``; otherwise start at step 0.

        Raises:
            FileNotFoundError: resume requested but no checkpoint (or no
                config.json) exists in the directory.
            ConfigMismatchError: the stored config differs from this one; the
                message names the differing keys.

        Returns:
            The step counter after restoring (0 when starting fresh).
        """
        if not resume:
            self.step.assign(0)
            return 0
        latest = self.manager.latest_checkpoint
        if latest is None:
            raise FileNotFoundError(
                f"resume requested but no checkpoint exists in {self.directory}; "
                "run without resume to start fresh")
        if not self.config_path.is_file():
            raise FileNotFoundError(
                f"resume requested but {self.config_path} is missing, so the checkpoint's "
                "configuration cannot be checked")
        stored = read_json(self.config_path)
        # Normalised configs hold NaN as null, so plain equality suffices.
        diff = differing_keys(stored, self.config, self.added_defaults)
        if diff:
            details = "; ".join(f"{k}: stored={stored.get(k, '<missing>')!r}, "
                                f"current={self.config.get(k, '<missing>')!r}" for k in diff)
            raise ConfigMismatchError(
                f"cannot resume from {self.directory}: config differs in {diff} ({details})")
        self._config_written = True  # same config is already on disk
        # Newest first; a checkpoint that cannot be read whole (truncated,
        # garbled) is skipped with a message, and the next older one is tried,
        # before any variable is touched.
        self.skipped = []
        for path in reversed(self.manager.checkpoints):
            problem = _unreadable(path)
            if problem is None:
                # Objects created so far must all be found in the checkpoint;
                # objects created later (e.g. optimizer slots) are restored on
                # creation.
                self.checkpoint.restore(path).assert_existing_objects_matched()
                if self.skipped:
                    print(f"resuming from the older checkpoint {path}", file=sys.stderr)
                return int(self.step.numpy())
            self.skipped.append({"checkpoint": path, "reason": problem})
            print(f"skipping checkpoint {path}: {problem}", file=sys.stderr)
        print(f"no intact checkpoint in {self.directory}; starting fresh",
              file=sys.stderr)
        self.step.assign(0)
        return 0

    def save(self, step: Optional[int] = None) -> str:
        """Save a checkpoint numbered by the step counter (set first if given).

        Writes ``config.json`` beside the checkpoints on the first save.
        Returns the checkpoint path prefix.
        """
        if step is not None:
            self.step.assign(int(step))
        self.directory.mkdir(parents=True, exist_ok=True)
        if not self._config_written:
            write_json(self.config_path, self.config)
            self._config_written = True
        return self.manager.save(checkpoint_number=int(self.step.numpy()))


def _unreadable(prefix: str) -> Optional[str]:
    """None if every tensor of checkpoint ``prefix`` can be read, else why not
    (one line, naming the file)."""
    files = sorted(Path(prefix).parent.glob(Path(prefix).name + ".*"))
    if not any(f.name.endswith(".index") for f in files):
        return f"{prefix}.index is missing"
    try:
        reader = tf.train.load_checkpoint(prefix)
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as err:  # TF raises DataLossError, IndexError, ValueError, ...
        data = [str(f) for f in files if ".data-" in f.name]
        where = ", ".join(data) or prefix
        return f"{where} cannot be read ({type(err).__name__}: {' '.join(str(err).split())[:200]})"
    return None


# ----------------------------------------------------------------------------- timing
class Timer:
    """Wall-clock timer: ``with Timer() as t: ...; t.seconds``.

    ``seconds`` is the elapsed time so far while running, fixed after exit.
    """

    def __init__(self) -> None:
        self._start: Optional[float] = None
        self._end: Optional[float] = None

    def __enter__(self) -> "Timer":
        self._start = time.perf_counter()
        self._end = None
        return self

    def __exit__(self, *exc) -> None:
        self._end = time.perf_counter()

    @property
    def seconds(self) -> float:
        if self._start is None:
            return 0.0
        end = self._end if self._end is not None else time.perf_counter()
        return end - self._start
