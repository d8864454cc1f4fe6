"""Settings of the autograder: limits, tolerances and thresholds, with defaults."""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

__all__ = ["GradingOptions"]


@dataclass(frozen=True)
class GradingOptions:
    """Everything a check's verdict depends on (written into every report).

    Limits (per check, i.e. per child process)
        time_limit: wall seconds, import and ``setup()`` included.
        memory_mb: address-space cap (TensorFlow alone reserves about 2 GB).
        jobs: checks run at the same time (each check is one process; more
            jobs than cores slows each one, and the time limit is wall time).
    Part 2
        lb_atol, lb_rtol: ``lower_bound`` must be within ``lb_atol +
            lb_rtol * |exact|`` nats/point of the exact enumeration
            (float32 arithmetic gives about 1e-5).
        fit_datasets: how many of the generated data sets ``fit`` runs on (1-4).
        em_gap: the fitted mixture's mean log-likelihood may lie at most this
            many nats/point below EM's (issue 3's target: 0.01).
    Part 3 (the bundled MNIST subset, held out with ``train_test_split``)
        n_clusters: K, the rows the sample grid must have.
        samples_per_cluster: images requested per row.
        min_accuracy: held-out clustering accuracy (Hungarian) to pass.
        min_purity: mean generative purity to pass (also: K distinct digits).
        purity_train: training images for the purity classifier (None: all).
        n_test, split_seed: the held-out split.
    """

    parts: tuple = ("P2", "P3")
    time_limit: float = 600.0
    memory_mb: int = 8192
    jobs: int = 1
    lb_atol: float = 1e-3
    lb_rtol: float = 1e-4
    fit_datasets: int = 3
    em_gap: float = 0.01
    n_clusters: int = 10
    samples_per_cluster: int = 20
    min_accuracy: float = 0.80
    min_purity: float = 0.80
    purity_train: int | None = None
    n_test: int = 1000
    split_seed: int = 0

    def __post_init__(self):
        if not self.parts or any(p not in ("P2", "P3") for p in self.parts):
            raise ValueError(f"parts must be a non-empty subset of ('P2', 'P3'), "
                             f"got {self.parts!r}")
        positive = ["time_limit", "lb_atol", "em_gap"]
        for name in positive:
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) \
                    or not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a positive number, got {v!r}")
        if not 0 <= self.lb_rtol < 1:
            raise ValueError(f"lb_rtol must be in [0, 1), got {self.lb_rtol!r}")
        for name in ["min_accuracy", "min_purity"]:
            v = getattr(self, name)
            if not 0 <= v <= 1:
                raise ValueError(f"{name} must be in [0, 1], got {v!r}")
        ints = {"memory_mb": 256, "jobs": 1, "fit_datasets": 1, "n_clusters": 1,
                "samples_per_cluster": 1, "n_test": 1, "split_seed": 0}
        for name, low in ints.items():
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {v!r}")
        if self.fit_datasets > 4:
            raise ValueError(f"fit_datasets must be at most 4, got {self.fit_datasets}")
        if self.purity_train is not None and (not isinstance(self.purity_train, int)
                                              or self.purity_train < 20):
            raise ValueError(f"purity_train must be an integer >= 20 or None, got "
                             f"{self.purity_train!r}")

    def replace(self, **changes) -> "GradingOptions":
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        d["parts"] = list(self.parts)
        return d
