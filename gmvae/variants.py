"""Named presets of the training schemes compared in the benchmark (bonus 4).

=================  ==========================================================
``plain``          the GMVAE as specified: random start, learned pi
``pi_fixed``       pi held uniform for the first epochs (then learned)
``pretrain``       autoencoder pre-training + GMM initialisation of pi, mu, sigma
``pretrain_pull``  ``pretrain`` + the pull of q(h|x) towards its cluster mean
``pretrain_mi``    ``pretrain`` + balance (uniform usage) + entropy (sharp p(z|h))
``pretrain_nn``    ``pretrain`` + neighbour consistency + balance
``pretrain_aug``   ``pretrain`` (30 epochs) + augmentation consistency
                   (rotation, shear, scale, shift) + balance + entropy
                   (IMSAT-style) at a larger step size, then a final phase
                   of the bound alone with the prior refit by its own M-step
                   after every epoch (``prior_em_epochs``); 2 restarts, the
                   lower training objective kept (``n_init=2``)
``pretrain_aug_no_em``  ``pretrain_aug`` without that final phase (the scheme
                   before the generative-purity fix; kept for the comparison)
``semi``           ``pretrain_aug`` + 10 labelled images per class with z
                   observed (labelled bound weighted 5, each labelled image
                   distorted afresh whenever it is drawn, ``labelled_augment``;
                   off in the final prior-EM phase like the regularisers),
                   and the generative-consistency term (weight 50, kept on in
                   that phase); one run (the labels already pin each class
                   to its cluster)
``semi_no_gen``    ``semi`` without the generative-consistency term (the
                   scheme before it; kept for the comparison)
=================  ==========================================================

Why ``pretrain_aug`` trains longer and faster.  With the regularisers weighted
at 300 (comparable to the bound's ~100 nats per image, so that they can move
the encoder at all), held-out accuracy keeps rising for 100-150 epochs; at
the default step size 1e-3 it was still climbing at epoch 200.  At 2e-3 it
levels off near 0.92 by epoch 120-150 but fluctuates by a few points from
epoch to epoch, and a decay over the whole run froze it early (about 0.85),
hence a constant step with a short decay at the end.  A better start helps
most: 30 autoencoder epochs instead of 10 took one seed from 0.89 to 0.96.
These settings were chosen on single runs of seeds 0-2 (held-out accuracy
read along the way), so the benchmark's seeds are not an untouched test; a
user with the full MNIST should expect the numbers to move.

Why shear and restarts.  Without shear in the augmentation, 7 of the 8 runs
we made (the CPU's reductions are not deterministic, so a seed is not one
draw) ended between 0.78 and 0.89, typically with the 4s and 9s shared by two
clusters that split them by slant.  With shear up to 0.3, five single runs (seeds 0-4) gave 0.973,
0.953, 0.935, 0.974 and 0.879; the last had merged 4 and 9 and left one
cluster nearly empty.  Across those runs the mutual information between x and
z on the training images ranked the runs exactly as held-out accuracy did,
and the training objective is dominated by that term (balance and entropy
weighted 300 and 30), so two restarts with the lower training objective kept
turn a one-in-five failure into roughly one in twenty-five without looking at
a label.  The benchmark records every restart's objective and, for the reader
only, its held-out accuracy, so the choice can be checked.

Why the final prior-EM phase.  The posterior of ``pretrain_aug`` was pure
(held-out accuracy 0.965 on seed 0) but what its components generated was not
(generative purity 0.70, worst row 0.40: :mod:`gmvae.purity`).  Measured on
that model: the components' variances matched the spread of the codes they
claim (var of the mean codes plus the encoder's own variance), but their
means sat 2-5 units off those codes' centre -- the regularisers, weighted 300
against a ~100-nat bound, had pulled (pi, mu, sigma) where p(z | h) is sharp,
not where the codes are.  One EM step of the prior on draws of q(h | x)
raised the bound by 1.0 nats per image and the purity to 0.90 (worst 0.75)
at unchanged accuracy.  Refitting every epoch while the regularisers still
act is unstable (they then push the encoder instead, and the bound fell by
100 nats within 30 epochs), so the fix is a final phase: regularisers off,
the bound alone trains encoder and decoder, and the prior is its own M-step
given q after every epoch.  That phase tightens the match between the
aggregate posterior and the mixture (train bound -97 -> -93 in 30 epochs in
one run) without moving the clusters (held-out accuracy unchanged).  With 30
such epochs one run reached purity 0.90 (worst 0.75); with 50 (the preset:
the 170 regularised epochs kept, 220 in all, the step size decaying over the
phase) another reached 0.93 (worst 0.87) at accuracy 0.958.  For ``semi``
the labelled term has to be off in that phase too: kept on (weighted 5, so
the 100 labelled images then dominate the encoder's updates), held-out
accuracy fell steadily through the phase (0.956 -> 0.787 over 50 epochs);
switched off, one run ended at accuracy 0.952 with purity 0.956 (worst
0.86).  These were single runs read along the way; the benchmark's numbers
are in ``reports/``.

Why ``semi`` distorts its labelled images.  Weighted 5 and drawn 50 per step,
the 100 labelled images are most of what the nets see, and undistorted they
were memorised: on seed 1 the test bound ended at -113.7 against a training
bound of -102.4.  Distorting them as the augmentation term does (a distorted
digit keeps its label) gave, in single runs with 100 importance samples,
test bounds of -105.2 / -103.3 (seeds 0 / 1), IS log-likelihoods of -97.5 /
-96.0, generative purity 0.944 / 0.936 instead of 0.931 / 0.923, and held-out
accuracy 0.959 / 0.946 instead of 0.963 / 0.926.  Two things tried beside it
did worse on seed 1: keeping the (distorted) labelled term on during the
prior-EM phase wore accuracy down through the phase (0.961 -> 0.887), as it
had without distortion; and distorting half of the unlabelled bound's images
too cut accuracy to 0.844 at the same test bound.

Why ``semi`` adds the generative-consistency term.  With the distorted labels
the purity of what the components generate still sat near 0.93, and the
component fits were not the cause: on seed 1 (1,000 draws per component)
the model's own posterior, applied to the decoded draws, gave them back to
their component 96 % of the time, the classifier 93 %; the misses were
draws decoded as a blend (a 9 drawn as a 4, a 5 as a 3 or an 8, a 2 as a 3
or an 8).  Nothing in the bound asks that every point a component puts mass
on decode to that component's digit.  The term does: each step decodes 10
draws per component, encodes them again and adds 50 x the cross-entropy of
p(z | h) against the component they came from (``generative_weight``,
:func:`gmvae.regularizers.generative_consistency`; InfoGAN's mutual-
information bound, recognised by the model's own q(h|x) and p(z|h)).  It
trains the encoder and decoder only -- the prior stays the bound's and its
EM step's -- and stays on in the prior-EM phase, where p(h | z) takes its
final shape.  In a single run on seed 1 it took generative purity from 0.936
to 0.970 (worst row 0.85 -> 0.89) at held-out accuracy 0.945 (0.946 before),
for a test bound 1.8 nats lower (-105.1 against -103.3): the decoder trades
a little likelihood for prototypical digits.

Lengths.  Every preset counts its epochs in rounds of 4,000 images
(``epoch_images``, the bundled training split), drawn afresh from the training
set each round: on the full MNIST's 60,000 training images a preset takes the
same number of optimisation steps, step-size schedule, prior-EM steps and time
as on the bundled subset, where a round is exactly one pass.

The flags of the CLI override any preset value.
"""
from .config import GMVAEConfig

__all__ = ["VARIANTS", "PRESET_EPOCH_IMAGES", "variant_config"]

_PRETRAIN = {"pretrain_epochs": 10}
_AUGMENT_NO_EM = dict(pretrain_epochs=30, augment_weight=300.0, balance_weight=300.0,
                      entropy_weight=30.0, epochs=200, learning_rate=2e-3,
                      final_learning_rate=2e-4, lr_decay_epochs=30)
# 170 regularised epochs as before, then 50 of the bound alone with the prior
# refit by EM after each, over which the step size decays.
_AUGMENT = dict(_AUGMENT_NO_EM, epochs=220, lr_decay_epochs=50, prior_em_epochs=50)

#: Images per epoch of every preset (the bundled subset's training split).
PRESET_EPOCH_IMAGES = 4000

_VARIANTS = {
    "plain": {},
    "pi_fixed": {"pi_fixed_epochs": 10},
    "pretrain": dict(_PRETRAIN),
    "pretrain_pull": dict(_PRETRAIN, pull_weight=1.0),
    "pretrain_mi": dict(_PRETRAIN, balance_weight=5.0, entropy_weight=1.0),
    "pretrain_nn": dict(_PRETRAIN, neighbour_weight=100.0, balance_weight=100.0),
    "pretrain_aug_no_em": dict(_AUGMENT_NO_EM, n_init=2),
    "pretrain_aug": dict(_AUGMENT, n_init=2),
    "semi_no_gen": dict(_AUGMENT, labels_per_class=10, labelled_weight=5.0,
                        labelled_augment=True),
    "semi": dict(_AUGMENT, labels_per_class=10, labelled_weight=5.0,
                 labelled_augment=True, generative_weight=50.0),
}
VARIANTS = {name: dict(values, epoch_images=PRESET_EPOCH_IMAGES)
            for name, values in _VARIANTS.items()}


def variant_config(name: str, **fields) -> GMVAEConfig:
    """The config of preset ``name`` with ``fields`` overriding it."""
    if name not in VARIANTS:
        raise ValueError(f"variant must be one of {sorted(VARIANTS)}, got {name!r}")
    values = dict(VARIANTS[name])
    values.update(fields)
    return GMVAEConfig(**values)
