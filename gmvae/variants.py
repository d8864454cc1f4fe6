"""Named presets of the training schemes compared in the benchmark (bonus 4).

=================  ==========================================================
``plain``          the GMVAE as specified: random start, learned pi
``pi_fixed``       pi held uniform for the first epochs (then learned)
``pretrain``       autoencoder pre-training + GMM initialisation of pi, mu, sigma
``pretrain_pull``  ``pretrain`` + the pull of q(h|x) towards its cluster mean
``pretrain_mi``    ``pretrain`` + balance (uniform usage) + entropy (sharp p(z|h))
``pretrain_nn``    ``pretrain`` + neighbour consistency + balance
``semi``           ``pretrain`` + 10 labelled images per class with z observed
=================  ==========================================================

The flags of the CLI override any preset value.
"""
from .config import GMVAEConfig

__all__ = ["VARIANTS", "variant_config"]

_PRETRAIN = {"pretrain_epochs": 10}

VARIANTS = {
    "plain": {},
    "pi_fixed": {"pi_fixed_epochs": 10},
    "pretrain": dict(_PRETRAIN),
    "pretrain_pull": dict(_PRETRAIN, pull_weight=1.0),
    "pretrain_mi": dict(_PRETRAIN, balance_weight=5.0, entropy_weight=1.0),
    "pretrain_nn": dict(_PRETRAIN, neighbour_weight=100.0, balance_weight=100.0),
    "semi": dict(_PRETRAIN, labels_per_class=10),
}


def variant_config(name: str, **fields) -> GMVAEConfig:
    """The config of preset ``name`` with ``fields`` overriding it."""
    if name not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {name!r}")
    values = dict(VARIANTS[name])
    values.update(fields)
    return GMVAEConfig(**values)
