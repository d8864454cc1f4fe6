"""The tutorial's loop as a function: data -> per-round timing and metrics.

Used by the ``serket-vae-gmm`` CLI and by the benchmark.
"""
from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Optional, Union

import numpy as np

from common.metrics import cluster_accuracy, nmi

from . import gmm, serket as srk, vae
from .config import TutorialConfig, mnist_subset

__all__ = ["TutorialConfig", "run_tutorial", "mnist_subset"]

PathLike = Union[str, os.PathLike]


def run_tutorial(data, category=None, root: Optional[PathLike] = None,
                 config: TutorialConfig = TutorialConfig(),
                 on_round: Optional[Callable[[dict], None]] = None) -> dict:
    """Run the tutorial (Observation -> VAE -> GMM, ``n_rounds`` updates each).

    Args:
        data: [N, M] observations; category: optional [N] true labels.
        root: folder receiving ``module000_obs``.. (numbering restarts at 000).
        config: the tutorial's settings.
        on_round: called with each round's record (for printing).

    Returns:
        {"rounds": [{"round", "vae_seconds", "gmm_seconds", "seconds",
        "accuracy", "nmi", "elbo_per_point", "vae_loss"}...], "total_seconds",
        "z_first": [N, D] latents of the first VAE update, "z_last": final
        latents, "classes": final classes [N], "module_dirs": {...}}.
    """
    srk.reset(root)
    if root is not None:
        Path(root).mkdir(parents=True, exist_ok=True)
    obs = srk.Observation(data)
    vae1 = vae.VAE(config.latent_dim, itr=config.itr, batch_size=config.batch_size,
                   **{"seed": config.seed, "verbose": config.verbose, **config.vae_options})
    gmm1 = gmm.GMM(config.k, category=category, **{"seed": config.seed, **config.gmm_options})
    vae1.connect(obs)
    gmm1.connect(vae1)
    labels = gmm1.category
    rounds, z_first = [], None
    start = time.perf_counter()
    for i in range(config.n_rounds):
        t0 = time.perf_counter()
        vae1.update()
        t1 = time.perf_counter()
        gmm1.update()
        t2 = time.perf_counter()
        if z_first is None:
            z_first = np.array(vae1.get_forward_msg())
        rec = {"round": i, "vae_seconds": t1 - t0, "gmm_seconds": t2 - t1,
               "seconds": t2 - t0, "elbo_per_point": gmm1.last_metrics["elbo_per_point"],
               "vae_loss": vae1.history[-1].get("loss")}
        if labels is not None:
            rec["accuracy"] = cluster_accuracy(labels, gmm1.classes)
            rec["nmi"] = nmi(labels, gmm1.classes)
        rounds.append(rec)
        if on_round is not None:
            on_round(rec)
    total = time.perf_counter() - start
    return {"rounds": rounds, "total_seconds": total, "config": asdict(config),
            "z_first": z_first, "z_last": np.array(vae1.get_forward_msg()),
            "classes": gmm1.classes,
            "module_dirs": {"obs": str(obs.save_dir), "vae": str(vae1.save_dir),
                            "gmm": str(gmm1.save_dir)}}
