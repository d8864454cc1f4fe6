"""Serket's module framework: modules numbered in creation order, joined by
``connect`` and exchanging messages.

Every module has a name ``module%03d_<name>`` (``Observation`` included, so in
the tutorial the observation is ``module000_obs``, the VAE ``module001_vae`` and
the GMM ``module002_gmm``) and writes its results to a folder of that name
under the output root (the current directory unless :func:`set_root` or
:func:`reset` gave another).

Messages, as in Serket:

* forward  (``set_forward_msg`` / ``get_forward_msg``): what a module passes
  up to the modules connected to it — an observation's data, the VAE's
  latents ``[N, latent_dim]``, the GMM's class probabilities ``[N, K]``;
* backward (``send_backward_msgs`` / ``get_backward_msg``): what a module
  sends down to the modules it is connected to — the GMM's per-point class
  means ``[N, latent_dim]`` to the VAE, the VAE's reconstructions to the
  observation; a module above a GMM may send it a per-point prior over
  classes ``[N, K]``.

``m.connect(a, b, ...)`` makes ``a, b, ...`` the inputs of ``m``;
``m.get_observations()`` returns their forward messages.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional, Union

import numpy as np

__all__ = ["Module", "Observation", "NotConnectedError", "reset", "set_root", "get_root",
           "resolve_path", "as_data_matrix", "savetxt_fixed"]

PathLike = Union[str, os.PathLike]

# Serket numbers modules with one process-wide counter; so do we.  ``reset``
# restarts it (tests and benchmarks build several models in one process).
_state = {"counter": 0, "root": None}


class NotConnectedError(RuntimeError):
    """A module was updated before ``connect`` gave it its inputs."""


def reset(root: Optional[PathLike] = None) -> None:
    """Restart module numbering at 000 and set the output root (None: the
    current directory at the time each module writes)."""
    _state["counter"] = 0
    set_root(root)


def set_root(root: Optional[PathLike]) -> None:
    """Folder under which module folders are created (None: current directory)."""
    _state["root"] = None if root is None else Path(root)


def get_root() -> Path:
    return Path.cwd() if _state["root"] is None else _state["root"]


def resolve_path(path: PathLike) -> Path:
    """A load directory: as given when absolute or existing, else under the root."""
    p = Path(path)
    return p if p.is_absolute() or p.exists() else get_root() / p


def as_data_matrix(data, name: str = "data") -> np.ndarray:
    """``data`` as a finite float64 [N, M] matrix (a 1-D array is one column).

    Raises ValueError naming ``name`` for rows of unequal length, non-numeric
    or non-finite values, or no rows.
    """
    if isinstance(data, (list, tuple)) and data and all(
            isinstance(row, (list, tuple, np.ndarray)) for row in data):
        lengths = sorted({len(row) for row in data})
        if len(lengths) > 1:
            bad = next(i for i, row in enumerate(data) if len(row) != len(data[0]))
            raise ValueError(f"{name}: all rows must have the same length; row 0 has "
                             f"{len(data[0])} values, row {bad} has {len(data[bad])}")
    try:
        arr = np.asarray(data, dtype=np.float64)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{name} must be a numeric [N, M] array with rows of equal "
                         f"length ({exc})") from None
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D [N, M], got shape {arr.shape}")
    if arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"{name} must hold at least one row and one column, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (found NaN or inf)")
    return arr


class Module:
    """Base class of Serket modules (see the module docstring)."""

    def __init__(self, name: str = "", learnable: bool = True):
        if not isinstance(name, str) or not name or os.sep in name:
            raise ValueError(f"name must be a non-empty string without '{os.sep}', got {name!r}")
        self._index = _state["counter"]
        _state["counter"] += 1
        self._name = "module%03d_%s" % (self._index, name)
        self._learnable = bool(learnable)
        self._inputs: Optional[tuple] = None
        self._forward = None
        self._backward = None

    # -- identity and output folder -----------------------------------------
    def get_name(self) -> str:
        """``module%03d_<name>``: the module's number and name, its folder name."""
        return self._name

    @property
    def save_dir(self) -> Path:
        """The module's output folder (not created until the module writes)."""
        return get_root() / self._name

    def _make_save_dir(self) -> Path:
        path = self.save_dir
        path.mkdir(parents=True, exist_ok=True)
        return path

    # -- graph ----------------------------------------------------------------
    def connect(self, *modules: "Module") -> None:
        """Make ``modules`` the inputs of this module (their forward messages
        are its observations)."""
        if not modules:
            raise ValueError(f"{self._name}.connect() needs at least one module to "
                             "connect to, got none")
        for m in modules:
            if not isinstance(m, Module):
                raise TypeError(f"{self._name}.connect() takes Serket modules "
                                f"(e.g. srk.Observation), got {type(m).__name__}")
            if m is self:
                raise ValueError(f"{self._name} cannot be connected to itself")
        self._inputs = tuple(modules)

    @property
    def inputs(self) -> tuple:
        return self._inputs or ()

    @property
    def n_items(self) -> Optional[int]:
        """Number of data points flowing through this module, when known."""
        for m in self.inputs:
            n = m.n_items
            if n is not None:
                return n
        return None

    def _require_connected(self) -> None:
        if not self._inputs:
            cls = type(self).__name__
            raise NotConnectedError(
                f"{cls} {self._name} is not connected to anything: call "
                f".connect(<module or srk.Observation>) before .update()")

    def get_observations(self) -> list:
        """Forward messages of the input modules, as numpy arrays."""
        self._require_connected()
        out = []
        for m in self._inputs:
            msg = m.get_forward_msg()
            if msg is None:
                raise NotConnectedError(
                    f"{self._name} is connected to {m.get_name()}, which has sent "
                    f"nothing yet: update {m.get_name()} before {self._name}")
            out.append(np.asarray(msg))
        return out

    # -- messages -----------------------------------------------------------
    def set_forward_msg(self, msg) -> None:
        self._forward = msg

    def get_forward_msg(self):
        return self._forward

    def set_backward_msg(self, msg) -> None:
        self._backward = msg

    def get_backward_msg(self):
        return self._backward

    def send_backward_msgs(self, msgs) -> None:
        """Send ``msgs[i]`` down to the i-th input module."""
        self._require_connected()
        if len(msgs) != len(self._inputs):
            raise ValueError(f"{self._name}: {len(msgs)} backward messages for "
                             f"{len(self._inputs)} input modules")
        for m, msg in zip(self._inputs, msgs):
            m.set_backward_msg(msg)

    def update(self) -> None:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r})"


class Observation(Module):
    """Data entering the model: sends ``data`` [N, M] forward, learns nothing."""

    def __init__(self, data, name: str = "obs"):
        arr = as_data_matrix(data, name="Observation data")
        super().__init__(name=name, learnable=False)
        self.set_forward_msg(arr)

    @property
    def n_items(self) -> int:
        return int(self.get_forward_msg().shape[0])

    def update(self) -> None:
        """Nothing to learn."""


def savetxt_fixed(path: PathLike, arr, decimals: int, block_rows: int = 256) -> None:
    """``np.savetxt(path, arr, fmt="%.<decimals>f")``, vectorised.

    The same text (space-separated, one row per line), built as byte arrays
    instead of one formatted string per value, ``block_rows`` rows at a time
    into buffers that are reused (a [3000, 784] matrix in one piece needed
    about 90 MB of fresh temporaries, and touching them first cost more than
    the formatting).  A value that rounds exactly half-way in decimal may
    differ from printf in the last digit.  Arrays with non-finite or huge
    values go through ``np.savetxt``.
    """
    a = np.asarray(arr)
    if a.ndim == 1:
        a = a[:, None]
    fmt = f"%.{int(decimals)}f"
    if a.ndim != 2 or a.size == 0 or not np.all(np.isfinite(a)) or np.abs(a).max() >= 1e15:
        np.savetxt(path, np.asarray(a, dtype=np.float64), fmt=fmt)
        return
    d = int(decimals)
    scale = 10.0 ** d
    # The field layout is fixed by the extremes of the whole array.
    qmax = int(np.rint(float(np.abs(a).max()) * scale))
    qmin = int(np.rint(float(np.abs(a).min()) * scale))
    n_int = len(str(qmax // 10 ** d))
    digits = n_int + (1 + d if d > 0 else 0)       # integer digits, point, decimals
    signed = bool(np.signbit(a).any())
    padded = signed or len(str(qmin // 10 ** d)) < n_int
    table = None
    if qmax < 1 << 17:        # every field from a table of the values 0..qmax
        text = "".join((fmt % (v / 10 ** d)).rjust(digits, "\0") for v in range(qmax + 1))
        table = np.frombuffer(text.encode(), dtype=np.uint8).reshape(qmax + 1, digits)
    width = digits + 1 + signed
    rows = max(1, min(int(block_rows), a.shape[0]))
    absval = np.empty((rows, a.shape[1]), dtype=np.float64)
    buf = np.empty((rows, a.shape[1], width), dtype=np.uint8)
    with open(path, "wb") as f:
        for lo in range(0, a.shape[0], rows):
            block = np.asarray(a[lo:lo + rows], dtype=np.float64)
            m = block.shape[0]
            v, b = absval[:m], buf[:m]
            np.abs(block, out=v)
            np.multiply(v, scale, out=v)
            np.rint(v, out=v)
            q = v.astype(np.int64)                   # |value| in units of 10^-d
            # [sign], digits (right-aligned), separator; padding is byte 0,
            # dropped at the end (when there is any).
            if signed:
                b[..., 0] = np.where(np.signbit(block), ord("-"), 0)
            if table is not None:
                np.take(table, q, axis=0, out=b[..., signed:-1])
            else:
                ip, fp = np.divmod(q, 10 ** d)
                for j in range(n_int):         # integer digits; no leading zeros but one "0"
                    keep = (ip >= 10 ** j) | (j == 0)
                    b[..., signed + n_int - 1 - j] = np.where(
                        keep, (ip // 10 ** j) % 10 + ord("0"), 0)
                if d > 0:
                    b[..., signed + n_int] = ord(".")
                    for j in range(d):
                        b[..., signed + n_int + d - j] = (fp // 10 ** j) % 10 + ord("0")
            b[..., -1] = ord(" ")
            b[:, -1, -1] = ord("\n")
            flat = b.reshape(-1)
            f.write(flat[flat != 0].tobytes() if padded else flat.tobytes())
