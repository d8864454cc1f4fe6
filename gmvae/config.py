"""Configuration of one GMVAE run: a frozen dataclass with documented defaults.

The CLI (``scripts/gmvae.py``) fills it in from its flags; library users build
it directly (``GMVAEConfig(epochs=20, pretrain_epochs=10)``).  Every field is
checked in ``__post_init__`` so that a bad value fails before any work starts.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Optional

from common.data.mnist import SPLITS
from common.validation import check_int, check_number, differing_keys

__all__ = ["GMVAEConfig", "RESUME_IGNORED_FIELDS", "PRIORS", "STRATEGIES"]

PRIORS = ("mixture", "normal")
STRATEGIES = ("one_device", "mirrored", "multi_worker")

# Fields that may change between an interrupted run and its resumption:
# training longer, printing less, evaluating differently or executing on other
# hardware (strategy, XLA, steps per call) does not change the state that the
# checkpoint holds.
RESUME_IGNORED_FIELDS = ("epochs", "verbose", "is_samples", "eval_every", "monitor_images",
                         "n_sample_images", "n_purity_samples", "deterministic", "steps_per_call", "jit_compile", "strategy")

# Fields added after runs had been stored; their defaults reproduce what those
# runs did, so a stored configuration without them still matches (resume, the
# benchmark's reuse of finished runs).
ADDED_FIELDS = ("labelled_augment", "generative_weight", "generative_per_cluster")


@dataclass(frozen=True)
class GMVAEConfig:
    """Everything that defines a GMVAE (or plain-VAE baseline) training run.

    Model
        n_clusters: K, the number of mixture components (values of z). Default 10.
        latent_dim: D, the dimension of h. Default 40.
        enc_hidden: encoder hidden layer sizes (784 -> ... -> 2D). Default (500, 500).
        dec_hidden: decoder hidden layer sizes (D -> ... -> 784). Default (500, 500).
        prior: ``"mixture"`` (the GMVAE, z summed out) or ``"normal"`` (the plain
            VAE baseline with h ~ N(0, I)). Default ``"mixture"``.

    Learning
        epochs: passes over the training images. Default 100.
        batch_size: images per step (the global batch across replicas). Default 100.
        learning_rate: Adam step size. Default 1e-3.
        final_learning_rate: if set, the step size decays geometrically from
            ``learning_rate`` to this value over the last ``lr_decay_epochs``
            GMVAE epochs (the last epoch uses it), which settles the noisy end
            of regularised training. None = constant. Default None.
        lr_decay_epochs: how many final epochs the decay spans (None = all).
            Default None.
        steps_per_call: training steps fused into one ``tf.function`` call (a
            ``tf.while_loop``, capped at an epoch), which removes per-step Python
            overhead. Default 50 (one call per epoch on 4,000 images at batch 100:
            about 10 % more images/s than 10 steps per call, measured here).
        jit_compile: XLA-compile the training call. Default False: on the 2-core
            CPU it was measured slower (see ``gmvae.benchmark``).
        strategy: ``"one_device"``, ``"mirrored"`` (all local GPUs, or the CPU) or
            ``"multi_worker"`` (``TF_CONFIG`` cluster). Default ``"one_device"``.
        seed: seeds the split, weights, binarisation, batches and the noise of
            h ~ q(h|x) (a checkpointed ``tf.random.Generator``). Default 0.
        deterministic: also switch on TensorFlow's op determinism (process-wide)
            so that a run is repeatable bit for bit on the same machine and a
            resumed run equals an uninterrupted one; its cost is measured in
            ``gmvae-bench`` (``throughput.deterministic_ops``). Default True.
        n_init: independent trainings (restarts, seeds ``seed + r * 10007``;
            restart 0 is ``seed``); the one with the lowest training objective
            (:meth:`gmvae.learning.Trainer.training_objective`, no labels) is
            kept, like scikit-learn's ``n_init``. Default 1.

    Collapse avoidance / pure clusters (bonus 4)
        pretrain_epochs: autoencoder pre-training epochs before the GMVAE; the
            mixture (pi, mu, sigma) is then initialised by a diagonal GMM fitted to
            the encoder means. 0 = off. Default 0.
        pi_fixed_epochs: keep pi uniform (not trained) for this many epochs, so
            that no component is starved before it has found data. Default 0.
        pull_weight: weight of the pull of each q(h|x) mean towards its cluster
            mean, E_p(z|h)[0.5 ||m(x) - mu_z||^2 / sigma_z^2]. Default 0.
        balance_weight: weight of KL(mean_x p(z|h) || uniform), which keeps the
            marginal cluster usage balanced. Default 0.
        entropy_weight: weight of the mean entropy of p(z|h), which sharpens
            assignments. Default 0.
        neighbour_weight: weight of the neighbour-consistency term
            -log sum_z p(z|m(x)) p(z|m(x')) with x' one of the ``n_neighbours``
            nearest training images of x in pixel space. Default 0.
        n_neighbours: neighbours per image for that term. Default 5.
        augment_weight: weight of the augmentation-consistency term
            KL(p(z|m(x)) || p(z|m(x'))) with x' a random affine distortion of x
            (rotation, scale, shear, shift; :mod:`gmvae.augment`) and the first
            argument held fixed. Default 0.
        augment_rotation: largest rotation of that distortion, degrees. Default 15.
        augment_shear: largest horizontal shear (change of slant, x += k y).
            Default 0.3: MNIST's 4s and 9s otherwise tend to cluster by slant.
        prior_em_epochs: length of a final phase (the last ``prior_em_epochs``
            of ``epochs``) in which training follows the bound alone (the
            regularisers above and the labelled bound are switched off) and the
            prior (pi, mu, sigma) is refit by its exact
            maximisation step given q after every epoch (EM on draws of
            q(h|x) for the training images, or for a seeded ``epoch_images``
            of them when there are more, :mod:`gmvae.prior_em`; each step
            raises the bound), so that
            each component ends on the codes it claims and generates what it
            holds. 0 = off. Default 0.
        prior_em_draws: draws of h ~ q(h|x) per training image for that step.
            Default 4.

    Semi-supervised (bonus 3)
        labels_per_class: labelled training images per class (their z is observed);
            0 = unsupervised. Default 0.
        labelled_weight: weight of the labelled bound mean against the unlabelled
            bound mean in the loss. Default 1.0.
        labelled_batch_size: labelled images drawn per step (all of them when there
            are fewer). Default 50.
        labelled_augment: distort each drawn labelled image as the augmentation
            term does (``augment_rotation``, ``augment_shear``, scale, shift)
            before binarising it: a distorted digit keeps its label, so 100
            labels act as many more and the encoder cannot memorise them.
            Default False.

    Components that generate what they hold (assignment part 3, issue 11)
        generative_weight: weight of the generative-consistency term
            E_k E_{h ~ p(h|z=k)}[ -log p(z = k | m(f(h))) ]: each component's
            draws, decoded (f, the Bernoulli means) and encoded again (m, the
            mean of q(h|x)), should be claimed by the component that drew them
            (InfoGAN's variational bound on the mutual information between the
            cluster and the image it generates, with the model's own q(h|x)
            and p(z|h) as the recognition net). It trains the decoder and the
            encoder, not the prior; it stays on in the prior-EM phase.
            0 = off. Default 0.
        generative_per_cluster: draws per component per step for that term.
            Default 10.

    Data and evaluation
        data_path: MNIST location (None = the bundled 5,000-image subset; see
            :func:`common.data.read_mnist` for the formats).
        split: ``"official"`` (the data's own train/test parts: IDX train/t10k,
            Keras x_train/x_test, ZhuSuan's pkl.gz with valid stacked into
            train), ``"random"`` (a seeded hold-out of ``n_test`` images) or
            None: official where the data has one, else random. Default None.
        n_test: held-out images of a random split (None = 1000); refused with
            the official split. Default None.
        epoch_images: images per epoch, drawn afresh (without replacement)
            from the training set each epoch, so that a preset's epochs mean
            the same number of optimisation steps on 4,000 or 60,000 images
            (every preset sets 4,000, the bundled training split). None = one
            whole pass over the training images. Default None.
        max_train: use at most this many training images (None = all); for tests.
        is_samples: importance samples for the test log-likelihood. Default 1000.
        eval_every: evaluate test bound / accuracy every this many epochs. Default 1.
        monitor_images: held-out images those per-epoch curves are computed on
            (a fixed seeded subset when the test set is larger, e.g. the
            official 10,000; the final evaluation uses every test image).
            Default 1000.
        n_sample_images: samples per cluster in the figure. Default 10.
        n_purity_samples: samples per cluster scored for the generative purity
            (the figure shows the first ``n_sample_images`` of them). Default 100.
        verbose: show tqdm progress bars. Default True.
    """
    n_clusters: int = 10
    latent_dim: int = 40
    enc_hidden: tuple = (500, 500)
    dec_hidden: tuple = (500, 500)
    prior: str = "mixture"
    epochs: int = 100
    batch_size: int = 100
    learning_rate: float = 1e-3
    final_learning_rate: Optional[float] = None
    lr_decay_epochs: Optional[int] = None
    steps_per_call: int = 50
    jit_compile: bool = False
    strategy: str = "one_device"
    seed: int = 0
    deterministic: bool = True
    n_init: int = 1
    pretrain_epochs: int = 0
    pi_fixed_epochs: int = 0
    pull_weight: float = 0.0
    balance_weight: float = 0.0
    entropy_weight: float = 0.0
    neighbour_weight: float = 0.0
    n_neighbours: int = 5
    augment_weight: float = 0.0
    augment_rotation: float = 15.0
    augment_shear: float = 0.3
    prior_em_epochs: int = 0
    prior_em_draws: int = 4
    labels_per_class: int = 0
    labelled_weight: float = 1.0
    labelled_batch_size: int = 50
    labelled_augment: bool = False
    generative_weight: float = 0.0
    generative_per_cluster: int = 10
    data_path: Optional[str] = None
    split: Optional[str] = None
    n_test: Optional[int] = None
    epoch_images: Optional[int] = None
    max_train: Optional[int] = None
    is_samples: int = 1000
    eval_every: int = 1
    monitor_images: int = 1000
    n_sample_images: int = 10
    n_purity_samples: int = 100
    verbose: bool = True
    n_pixels: int = field(default=784, repr=False)

    def __post_init__(self):
        # Lists from JSON / argparse become tuples so the config stays hashable.
        for name in ("enc_hidden", "dec_hidden"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        check_int("n_clusters (K)", self.n_clusters)
        check_int("latent_dim (D)", self.latent_dim)
        for name in ("enc_hidden", "dec_hidden"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not value:
                raise ValueError(f"{name} must be a non-empty tuple of layer sizes, "
                                 f"got {value!r}")
            for size in value:
                check_int(f"{name} entries", size)
        if self.prior not in PRIORS:
            raise ValueError(f"prior must be one of {PRIORS}, got {self.prior!r}")
        check_int("epochs", self.epochs, minimum=0)
        check_int("batch_size", self.batch_size)
        check_int("steps_per_call", self.steps_per_call)
        check_int("seed", self.seed, minimum=0)
        check_int("n_init", self.n_init)
        check_int("pretrain_epochs", self.pretrain_epochs, minimum=0)
        check_int("pi_fixed_epochs", self.pi_fixed_epochs, minimum=0)
        check_int("labels_per_class", self.labels_per_class, minimum=0)
        check_int("prior_em_epochs", self.prior_em_epochs, minimum=0)
        for name in ("deterministic", "labelled_augment"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got "
                                 f"{getattr(self, name)!r}")
        check_int("prior_em_draws", self.prior_em_draws)
        check_int("labelled_batch_size", self.labelled_batch_size)
        if self.split is not None and self.split not in SPLITS:
            raise ValueError(f"split must be one of {list(SPLITS)} or None, got "
                             f"{self.split!r}")
        if self.n_test is not None:
            check_int("n_test", self.n_test)
            if self.split == "official":
                raise ValueError("n_test applies to split='random' only (the official "
                                 "split has its own test images)")
        if self.epoch_images is not None:
            check_int("epoch_images", self.epoch_images)
            if self.epoch_images < self.batch_size:
                raise ValueError(f"--batch-size {self.batch_size} is larger than the "
                                 f"{self.epoch_images} training images of an epoch "
                                 f"(--epoch-images {self.epoch_images})")
        check_int("is_samples", self.is_samples)
        check_int("eval_every", self.eval_every)
        check_int("monitor_images", self.monitor_images)
        check_int("n_sample_images", self.n_sample_images)
        check_int("n_purity_samples", self.n_purity_samples)
        if self.max_train is not None:
            check_int("max_train", self.max_train)
        if self.lr_decay_epochs is not None:
            check_int("lr_decay_epochs", self.lr_decay_epochs)
        if not (isinstance(self.learning_rate, (int, float)) and self.learning_rate > 0):
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.final_learning_rate is not None and not (
                isinstance(self.final_learning_rate, (int, float))
                and not isinstance(self.final_learning_rate, bool)
                and self.final_learning_rate > 0):
            raise ValueError(f"final_learning_rate must be None or > 0, got "
                             f"{self.final_learning_rate!r}")
        check_int("n_neighbours", self.n_neighbours)
        check_int("generative_per_cluster", self.generative_per_cluster)
        for name in ("pull_weight", "balance_weight", "entropy_weight", "neighbour_weight",
                     "augment_weight", "augment_rotation", "augment_shear",
                     "labelled_weight", "generative_weight"):
            check_number(name, getattr(self, name))
        if self.strategy not in STRATEGIES:
            raise ValueError(f"strategy must be one of {STRATEGIES}, got {self.strategy!r}")
        if self.prior == "normal" and (self.labels_per_class or self.pretrain_epochs
                                       or self.pull_weight or self.balance_weight
                                       or self.entropy_weight or self.neighbour_weight
                                       or self.augment_weight or self.pi_fixed_epochs):
            raise ValueError("prior='normal' (plain VAE) has no clusters: labels_per_class, "
                             "pretrain_epochs, pi_fixed_epochs and the cluster "
                             "regularisers must be 0")

    # -- helpers ----------------------------------------------------------
    @property
    def semi_supervised(self) -> bool:
        return self.labels_per_class > 0

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GMVAEConfig":
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown GMVAEConfig fields {unknown}")
        return cls(**d)

    def learning_rate_at(self, epoch: int) -> float:
        """The GMVAE step size in ``epoch`` (0-based) under the schedule."""
        span = min(self.lr_decay_epochs or self.epochs, self.epochs)
        first = self.epochs - span          # the first epoch of the decay
        if self.final_learning_rate is None or span <= 1 or epoch <= first:
            return float(self.learning_rate)
        frac = (min(epoch, self.epochs - 1) - first) / (span - 1)
        return float(self.learning_rate * (self.final_learning_rate / self.learning_rate)
                     ** frac)

    def prior_em_at(self, epoch: int) -> bool:
        """Whether GMVAE epoch ``epoch`` (0-based) is in the prior-EM phase."""
        return self.prior == "mixture" and epoch >= self.epochs - self.prior_em_epochs

    def replace(self, **changes) -> "GMVAEConfig":
        return dataclasses.replace(self, **changes)

    def check_resumable(self, out_dir) -> None:
        """Refuse (ValueError naming the fields) to resume ``out_dir`` whose
        ``checkpoints/config.json`` was written by a different configuration;
        checked before TensorFlow starts (the checkpoint guard checks again)."""
        import json
        from pathlib import Path

        stored_path = Path(out_dir) / "checkpoints" / "config.json"
        if not stored_path.is_file():
            return
        try:
            stored = json.loads(stored_path.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise ValueError(f"cannot resume: {stored_path} is unreadable ({err})") from err
        current = json.loads(json.dumps(self.checkpoint_config()))
        diff = differing_keys(stored, current, self.added_defaults())
        if diff:
            details = "; ".join(f"{k}: stored {stored.get(k, '<missing>')!r}, now "
                                f"{current.get(k, '<missing>')!r}" for k in diff)
            raise ValueError(f"cannot resume {out_dir}: its checkpoints were made with "
                             f"another configuration ({details})")

    @classmethod
    def added_defaults(cls) -> dict:
        """``{field: default}`` of :data:`ADDED_FIELDS`."""
        fields = {f.name: f for f in dataclasses.fields(cls)}
        return {name: fields[name].default for name in ADDED_FIELDS}

    def checkpoint_config(self) -> dict:
        """The fields a resumed run must share with the checkpoint it resumes."""
        d = self.to_dict()
        for name in RESUME_IGNORED_FIELDS:
            d.pop(name, None)
        return d
