"""Argument checks shared by the configs and entry points.

Each raises ``ValueError`` naming the argument and what was expected, so that
bad input fails early with the same wording everywhere.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np

__all__ = ["is_int", "check_int", "check_number", "differing_keys"]


def is_int(value: Any) -> bool:
    """A Python or NumPy integer (booleans excluded)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as int if it is an integer >= ``minimum``, else raise naming ``name``."""
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_number(name: str, value: Any, minimum: float = 0.0, strict: bool = False) -> float:
    """``value`` as float if it is a finite real >= ``minimum`` (> when
    ``strict``), else raise naming ``name``."""
    ok = (isinstance(value, (int, float, np.integer, np.floating))
          and not isinstance(value, (bool, np.bool_)) and math.isfinite(value)
          and (value > minimum if strict else value >= minimum))
    if not ok:
        raise ValueError(f"{name} must be a finite number {'>' if strict else '>='} "
                         f"{minimum:g}, got {value!r}")
    return float(value)


_MISSING = object()


def differing_keys(stored: dict, current: dict, added_defaults=None) -> list:
    """Sorted keys whose values differ between two JSON-normalised configs (a
    key present in only one of them differs too): what a resume must refuse.

    :param added_defaults: ``{key: value}`` of fields added to the
        configuration after ``stored`` was written, with the value that
        reproduces the behaviour from before: a stored config without such a
        key counts as having that value.
    """
    stored = {**{k: v for k, v in (added_defaults or {}).items() if k in current},
              **stored}
    return sorted(k for k in set(stored) | set(current)
                  if stored.get(k, _MISSING) != current.get(k, _MISSING))
