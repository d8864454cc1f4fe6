"""Learning: the SGVB objective, the distributed training call and ``fit``.

Objective (per image, z summed out, see :mod:`gmvae.model`)::

    q_bn = model.variational(x, n_particles=1)
    lower_bound = zs.elbo(model.generative(n, 1), {"x": x}, variational=q_bn, axis=0)
    cost = tf.reduce_mean(lower_bound.sgvb())        (+ regularisers, labelled bound)

Speed.  Timing variants of the step at batch 100 on 2 CPU cores pointed at
three costs next to the GEMMs: per-step Python/``tf.function`` dispatch,
Keras' unfused Adam and host-side batching.  So (1) the training images live in one tensor and each
``tf.function`` call runs ``steps_per_call`` steps in a ``tf.while_loop``,
gathering its batch from a permutation and binarising it inside the graph
(dynamic binarisation: a stateless Bernoulli draw seeded by (epoch, step));
(2) Adam is the fused ``ResourceApplyAdam`` (:mod:`gmvae.optim`);
(3) ``jit_compile`` is a flag, off by default: with Keras' Adam it was about
3x slower than oneDNN's kernels here, with the fused Adam about even (noisy);
``gmvae.benchmark`` measures both side by side (``throughput.by_setting``).

Scale.  Every step runs as ``strategy.run(replica_step)``: the global batch is
split over the replicas, gradients are all-reduced (mean) and each replica
applies the same Adam update to its copy.  ``one_device`` (default) uses the
GPU when there is one, else the CPU; ``mirrored`` uses all local GPUs (or the
CPU); ``multi_worker`` is ``tf.distribute.MultiWorkerMirroredStrategy``: set
``TF_CONFIG`` on every worker, e.g.::

    TF_CONFIG='{"cluster": {"worker": ["host1:2222", "host2:2222"]},
                "task": {"type": "worker", "index": 0}}' gmvae --strategy multi_worker ...

and run the same command on each worker (index 0 writes the outputs that
matter; give the others their own ``--out``).  The code path is the same.
"""
from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import numpy as np
import tensorflow as tf

from common import zs
from common.data import binarize_dynamic, binarize_fixed, validate_images
from common.training import (CheckpointHelper, ScalarLogger, ensure_outdir, progress,
                             read_json, set_seed, write_json)

from .config import GMVAEConfig
from .evaluation import cluster_assignments, clustering_metrics, encode_means, \
    lower_bound_per_image
from .model import GMVAE
from .optim import Adam
from .pretrain import autoencoder_loss, fit_gmm_prior
from .augment import random_affine
from .prior_em import prior_m_step
from .regularizers import (augmentation_consistency, generative_consistency,
                           nearest_neighbours,
                           neighbour_consistency, regularizer_terms, uses_regularizers,
                           weighted_penalty)
from .semisupervised import labelled_lower_bound, select_labelled

__all__ = ["make_strategy", "Trainer", "FitResult", "fit", "validate_inputs"]


def make_strategy(name: str = "one_device") -> tf.distribute.Strategy:
    """The ``tf.distribute`` strategy called ``name`` (see the module docstring)."""
    if name == "one_device":
        gpus = tf.config.list_logical_devices("GPU")
        return tf.distribute.OneDeviceStrategy("/gpu:0" if gpus else "/cpu:0")
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    raise ValueError(f"strategy must be 'one_device', 'mirrored' or 'multi_worker', "
                     f"got {name!r}")


def validate_inputs(config: GMVAEConfig, x_train, y_train=None, x_test=None, y_test=None):
    """Check images, labels and their agreement with ``config`` before any work."""
    x_train = validate_images(x_train, "x_train", n_pixels=config.n_pixels)
    if x_train.shape[0] < config.batch_size:
        raise ValueError(f"x_train has {x_train.shape[0]} images, fewer than "
                         f"batch_size={config.batch_size}")
    for name, y, x in (("y_train", y_train, x_train), ("y_test", y_test, x_test)):
        if y is None:
            continue
        y = np.asarray(y)
        if y.ndim != 1 or x is None or y.shape[0] != np.asarray(x).shape[0]:
            raise ValueError(f"{name} must be 1-D with one label per image "
                             f"({0 if x is None else np.asarray(x).shape[0]}), got shape "
                             f"{y.shape}")
    if x_test is not None:
        validate_images(x_test, "x_test", n_pixels=config.n_pixels)
    if config.semi_supervised:
        if y_train is None:
            raise ValueError("labels_per_class > 0 needs y_train")
        if config.n_clusters < int(np.max(y_train)) + 1:
            raise ValueError(f"semi-supervised: cluster k is class k, so n_clusters="
                             f"{config.n_clusters} must be >= the number of classes "
                             f"{int(np.max(y_train)) + 1}")
    return x_train


def _static_batch(x):
    return x.shape[0] if x.shape[0] is not None else tf.shape(x)[0]


class Trainer:
    """Model, optimiser, strategy and the compiled training calls.

    :param x_train: ``[N, 784]`` images in [0, 1] (grey levels; binarised per
        step inside the graph).
    :param labelled: optional (x_l ``[L, 784]``, y_l ``[L]``) with observed z.
    """

    def __init__(self, config: GMVAEConfig, x_train, labelled=None, strategy=None):
        self.config = config
        self.strategy = strategy or make_strategy(config.strategy)
        n_rep = self.strategy.num_replicas_in_sync
        if config.batch_size % n_rep:
            raise ValueError(f"batch_size={config.batch_size} must be divisible by the "
                             f"{n_rep} replicas")
        # Seeds Python's, numpy's, TensorFlow's and Keras' generators: the
        # initialisers of the layers draw from Keras' (unseeded otherwise).
        set_seed(config.seed)
        with self.strategy.scope():
            self.model = GMVAE(config)
            self.variables = list(self.model.trainable_variables)
            self.optimizer = Adam(self.variables, config.learning_rate)
            # 0 while pi is held uniform (pi_fixed_epochs), else 1.
            self.pi_trainable = tf.Variable(1., trainable=False, name="pi_trainable")
            # 1 while the unsupervised regularisers are on, 0 in the prior-EM
            # phase (config.prior_em_epochs).
            self.regularizer_scale = tf.Variable(1., trainable=False,
                                                 name="regularizer_scale")
            # The noise of h ~ q(h|x) comes from this generator, whose state
            # the checkpoints keep: a resumed run draws what the uninterrupted
            # run would have drawn.
            self.generator = tf.random.Generator.from_seed(config.seed)
        self._pi_index = None
        if self.model.has_clusters:
            pi_var = self.model.prior_params()[0]
            self._pi_index = [i for i, v in enumerate(self.variables) if v is pi_var][0]
        self.x_train = tf.constant(np.asarray(x_train, np.float32))
        self.n_train = int(self.x_train.shape[0])
        # An epoch is config.epoch_images images drawn afresh from the training
        # set (a preset's length in steps, whatever the data size), or a pass.
        self.epoch_images = min(self.n_train, config.epoch_images or self.n_train)
        self.steps_per_epoch = self.epoch_images // config.batch_size
        self.labelled = None
        if labelled is not None:
            x_l, y_l = labelled
            self.labelled = (tf.constant(np.asarray(x_l, np.float32)),
                             tf.one_hot(np.asarray(y_l), config.n_clusters))
        self.neighbours = None
        if config.neighbour_weight and self.model.has_clusters:
            self.neighbours = tf.constant(nearest_neighbours(x_train, config.n_neighbours))
        self._calls = {}

    # -- losses (per replica) ---------------------------------------------
    def gmvae_loss(self, x, seed, idx):
        """(cost, mean lower bound) of one binarised batch ``[b, 784]`` (training
        images ``idx``)."""
        model, cfg = self.model, self.config
        q_bn = model.variational(x, 1)
        lower_bound = zs.elbo(model.generative(_static_batch(x), 1), {"x": x},
                              variational=q_bn, axis=0)
        bound_cost = tf.reduce_mean(lower_bound.sgvb())
        cost = tf.constant(0.)
        if model.has_clusters and uses_regularizers(cfg):
            cost += weighted_penalty(regularizer_terms(model, q_bn), cfg)
        if self.neighbours is not None:
            # One random neighbour per image, binarised afresh.
            pick = tf.random.stateless_uniform(tf.shape(idx), seed + tf.constant(
                [2, 0], seed.dtype), maxval=cfg.n_neighbours, dtype=tf.int64)
            nn = tf.gather(tf.gather(self.neighbours, idx), pick, batch_dims=1)
            x_nn = binarize_dynamic(tf.gather(self.x_train, nn),
                                    seed + tf.constant([3, 0], seed.dtype))
            cost += cfg.neighbour_weight * neighbour_consistency(
                model, q_bn["h_mean"], model.encode_mean(x_nn))
        if cfg.augment_weight and model.has_clusters:
            x_aug = self._distort(tf.gather(self.x_train, idx), seed, 4)
            x_aug = binarize_dynamic(x_aug, seed + tf.constant([5, 0], seed.dtype))
            cost += cfg.augment_weight * augmentation_consistency(
                model, q_bn["h_mean"], model.encode_mean(x_aug))
        if self.labelled is not None:
            x_l, z_l = self.labelled
            n_l = int(x_l.shape[0])
            if n_l > cfg.labelled_batch_size:
                idx = tf.random.stateless_uniform([cfg.labelled_batch_size], seed,
                                                  maxval=n_l, dtype=tf.int64)
                x_l, z_l = tf.gather(x_l, idx), tf.gather(z_l, idx)
            if cfg.labelled_augment:
                x_l = self._distort(x_l, seed, 6)
            x_l = binarize_dynamic(x_l, seed + tf.constant([1, 0], seed.dtype))
            cost += cfg.labelled_weight * tf.reduce_mean(
                -labelled_lower_bound(model, x_l, z_l))
        always = tf.constant(0.)   # terms on in every phase, the prior-EM one too
        if cfg.generative_weight and model.has_clusters:
            # It shapes what p(h|z) generates, which the EM phase refits.
            always += cfg.generative_weight * generative_consistency(
                model, cfg.generative_per_cluster, seed + tf.constant([7, 0], seed.dtype))
        # In the prior-EM phase (scale 0) the bound alone trains the nets: the
        # regularisers and the labelled term are switched off (kept on, the
        # labelled term wore held-out accuracy down through the phase, with or
        # without labelled_augment: see gmvae.variants).
        return (bound_cost + always + self.regularizer_scale * cost,
                tf.reduce_mean(lower_bound))

    def _distort(self, x, seed, stream):
        """The augmentation's random affine distortion of images ``[b, 784]``,
        seeded by ``seed`` shifted by ``stream`` (one stream per use)."""
        return random_affine(x, seed + tf.constant([stream, 0], seed.dtype),
                             max_rotation=self.config.augment_rotation,
                             max_shear=self.config.augment_shear)

    def autoencoder_loss(self, x, seed, idx):
        del seed, idx
        cost = autoencoder_loss(self.model, x)
        return cost, -cost

    # -- the compiled multi-step call -------------------------------------
    def _make_call(self, loss_fn, optimizer, mask_pi):
        strategy, cfg = self.strategy, self.config
        n_rep = strategy.num_replicas_in_sync
        b, local_b = cfg.batch_size, cfg.batch_size // n_rep
        variables, x_train = self.variables, self.x_train
        pi_index = self._pi_index if mask_pi else None

        def replica_step(idx, seed):
            ctx = tf.distribute.get_replica_context()
            rid = tf.cast(ctx.replica_id_in_sync_group, tf.int64)
            local = tf.slice(idx, [rid * local_b], [local_b])
            rseed = tf.stack([seed[0], seed[1] * n_rep + rid])
            x = binarize_dynamic(tf.gather(x_train, local), rseed)
            with tf.GradientTape() as tape, zs.random_source(self.generator):
                cost, lb = loss_fn(x, rseed, local)
            grads = tape.gradient(cost, variables)
            grads = [tf.zeros_like(v) if g is None else g for g, v in zip(grads, variables)]
            if pi_index is not None:
                grads[pi_index] = grads[pi_index] * self.pi_trainable
            if n_rep > 1:
                grads = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, grads)
            optimizer.apply_gradients(grads)
            return lb

        @tf.function(jit_compile=cfg.jit_compile)
        def train_call(perm, start, n_steps, epoch_seed):
            """Run ``n_steps`` steps on batches ``start ..`` of ``perm``; mean bound."""
            def body(i, total):
                step = start + i
                idx = tf.slice(perm, [step * b], [b])
                lb = strategy.run(replica_step, args=(idx, tf.stack([epoch_seed, step])))
                return i + 1, total + strategy.reduce(tf.distribute.ReduceOp.MEAN, lb,
                                                      axis=None)
            _, total = tf.while_loop(lambda i, t: i < n_steps, body,
                                     (tf.constant(0, tf.int64), tf.constant(0.)))
            return total / tf.cast(n_steps, tf.float32)

        return train_call

    def call(self, kind="gmvae"):
        """The compiled training call for ``"gmvae"`` or ``"autoencoder"``."""
        if kind not in self._calls:
            if kind == "gmvae":
                self._calls[kind] = self._make_call(self.gmvae_loss, self.optimizer, True)
            elif kind == "autoencoder":
                with self.strategy.scope():
                    self.ae_optimizer = Adam(self.variables, self.config.learning_rate,
                                             name="adam_ae")
                self._calls[kind] = self._make_call(self.autoencoder_loss,
                                                    self.ae_optimizer, False)
            else:
                raise ValueError(f"kind must be 'gmvae' or 'autoencoder', got {kind!r}")
        return self._calls[kind]

    def run_epoch(self, epoch, kind="gmvae", bar=None, seed_offset=0):
        """One epoch: ``steps_per_epoch`` batches from a fresh permutation of the
        training images (all of them when an epoch is a pass); returns (mean
        bound, train seconds)."""
        cfg = self.config
        call = self.call(kind)
        perm = np.random.default_rng([cfg.seed, seed_offset, epoch]).permutation(
            self.n_train)
        perm = tf.constant(perm, tf.int64)
        epoch_seed = tf.constant(cfg.seed * 1_000_003 + seed_offset * 100_003 + epoch,
                                 tf.int64)
        total, done, seconds = 0., 0, 0.
        while done < self.steps_per_epoch:
            k = min(cfg.steps_per_call, self.steps_per_epoch - done)
            t0 = time.perf_counter()
            lb = float(call(perm, tf.constant(done, tf.int64), tf.constant(k, tf.int64),
                            epoch_seed))
            seconds += time.perf_counter() - t0
            total += lb * k
            done += k
            if bar is not None:
                bar.update(k)
                bar.set_postfix(bound=f"{total / done:.2f}")
        return total / done, seconds

    def training_objective(self, seed=0):
        """The minimised training cost (-bound + weighted penalties, + labelled
        term), averaged over one in-order pass of the training images with a
        fixed seed and no update: what :func:`fit` ranks restarts by.  Scalar."""
        cfg = self.config
        b = cfg.batch_size
        if "objective" not in self._calls:
            self._objective_rng = tf.random.Generator.from_seed(0)

            @tf.function
            def batch_cost(idx, batch_seed):
                x = binarize_dynamic(tf.gather(self.x_train, idx), batch_seed)
                with zs.random_source(self._objective_rng):
                    return self.gmvae_loss(x, batch_seed, idx)[0]
            self._calls["objective"] = batch_cost
        self._objective_rng.reset_from_seed(seed)   # the same draws on every call
        # Ranked with the regularisers on, whatever phase training ended in.
        scale = float(self.regularizer_scale.numpy())
        self.regularizer_scale.assign(1.)
        try:
            costs = [float(self._calls["objective"](
                tf.range(a, a + b, dtype=tf.int64), tf.constant([seed, a], tf.int64)))
                for a in range(0, (self.n_train // b) * b, b)]
        finally:
            self.regularizer_scale.assign(scale)
        return float(np.mean(costs))

    # -- pre-training -------------------------------------------------------
    def pretrain(self, epochs, verbose=True):
        """Autoencoder pre-training, then GMM initialisation of the mixture.

        Semi-supervised: the GMM's EM starts from the mean code of each class's
        labelled images, so component k starts on class k (the labelled bound
        observes z = k for class k; a GMM with arbitrary component order would
        make the labels tear the clusters apart first).
        """
        history = []
        for epoch in range(epochs):
            bar = progress(total=self.steps_per_epoch, desc=f"pretrain {epoch + 1}/{epochs}",
                           verbose=verbose)
            lb, _ = self.run_epoch(epoch, "autoencoder", bar, seed_offset=1)
            bar.close()
            history.append(lb)
        if self.model.has_clusters:
            codes = encode_means(self.model, binarize_fixed(self.x_train.numpy(),
                                                            seed=self.config.seed))
            means_init = None
            if self.labelled is not None:
                x_l, z_l = self.labelled
                codes_l = encode_means(self.model, binarize_fixed(x_l.numpy(),
                                                                  seed=self.config.seed))
                y_l = z_l.numpy().argmax(1)
                k = self.config.n_clusters
                # Classes without labels (K > classes) start at random codes.
                rng = np.random.default_rng(self.config.seed)
                means_init = np.stack([codes_l[y_l == c].mean(0) if np.any(y_l == c)
                                       else codes[rng.integers(len(codes))]
                                       for c in range(k)])
            fit_gmm_prior(self.model, codes, seed=self.config.seed, means_init=means_init)
        return history


@dataclass
class FitResult:
    """What :func:`fit` returns."""
    trainer: Trainer
    history: dict
    out_dir: Optional[Path] = None
    start_epoch: int = 0
    train_seconds: float = 0.0
    images_per_second: float = float("nan")
    extra: dict = field(default_factory=dict)

    @property
    def model(self):
        return self.trainer.model


def fit(config: GMVAEConfig, x_train, y_train=None, x_test=None, y_test=None,
        out_dir=None, resume=False, strategy=None) -> FitResult:
    """Train a GMVAE (or the VAE baseline) with checkpoints and logging.

    :param x_train: ``[N, 784]`` in [0, 1]; ``y_train``: ``[N]`` (needed for the
        semi-supervised variant only; never used otherwise).
    :param x_test, y_test: held-out images (fixed-binarised here) and labels,
        evaluated every ``config.eval_every`` epochs.
    :param out_dir: where ``checkpoints/``, ``tensorboard/`` and ``history.json``
        go (None: no checkpoints, no files).
    :param resume: continue from the newest checkpoint in ``out_dir`` (its
        configuration must match: ``ConfigMismatchError`` otherwise).

    With ``config.n_init > 1`` the whole training (pre-training included) is
    run ``n_init`` times from different seeds (restart 0 uses ``config.seed``
    itself) and the run with the lowest :meth:`Trainer.training_objective` is
    kept, as scikit-learn's ``n_init`` keeps the best objective; labels never
    enter the choice.  Each restart keeps its own checkpoints under
    ``out_dir/restarts/init<r>/`` (so ``resume`` continues the unfinished one);
    the kept model is also saved in ``out_dir/checkpoints/``.  ``extra``
    records every restart (objective, bound and, for the reader only, the
    held-out accuracy) and the index chosen.
    """
    x_train = validate_inputs(config, x_train, y_train, x_test, y_test)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if resume and out_dir is None:
        raise ValueError("resume=True needs out_dir (where the checkpoints are)")
    labelled = None
    extra = {}
    if config.semi_supervised:
        # Chosen with config.seed, so every restart sees the same labelled images.
        idx = select_labelled(y_train, config.labels_per_class,
                              int(np.max(y_train)) + 1, seed=config.seed)
        labelled = (x_train[idx], np.asarray(y_train)[idx])
        extra["labelled_indices"] = idx.tolist()
    x_test_bin = None if x_test is None else binarize_fixed(x_test, seed=config.seed + 1)
    if x_test_bin is not None and len(x_test_bin) > config.monitor_images:
        # The per-epoch curves follow a fixed, seeded subset of the held-out
        # images (10,000 official test images every epoch would cost more than
        # the training steps); the final evaluation (gmvae.run) uses them all.
        keep = np.sort(np.random.default_rng(config.seed + 2).choice(
            len(x_test_bin), config.monitor_images, replace=False))
        x_test_bin = x_test_bin[keep]
        y_test = None if y_test is None else np.asarray(y_test)[keep]
        extra["monitor_images"] = int(config.monitor_images)
    if config.n_init == 1:
        return _fit_once(config, x_train, labelled, x_test_bin, y_test, out_dir, resume,
                         strategy, extra)
    return _fit_restarts(config, x_train, labelled, x_test_bin, y_test, out_dir, resume,
                         strategy, extra)


#: Seed distance between restarts (restart r trains with seed + r * stride).
RESTART_SEED_STRIDE = 10_007


def _fit_restarts(config, x_train, labelled, x_test_bin, y_test, out_dir, resume,
                  strategy, extra) -> FitResult:
    """``config.n_init`` independent trainings; keep the lowest training objective."""
    results, records = [], []
    for r in range(config.n_init):
        cfg_r = dataclasses.replace(config, n_init=1,
                                    seed=config.seed + r * RESTART_SEED_STRIDE)
        sub = None if out_dir is None else Path(out_dir) / "restarts" / f"init{r}"
        if config.verbose:
            print(f"restart {r + 1}/{config.n_init} (seed {cfg_r.seed})")
        res = _fit_once(cfg_r, x_train, labelled, x_test_bin, y_test, sub, resume,
                        strategy, dict(extra))
        record = {"restart": r, "seed": cfg_r.seed,
                  "training_objective": res.trainer.training_objective(seed=config.seed),
                  "train_lower_bound": res.history["train_lower_bound"][-1][1]}
        if "test_accuracy" in res.history:     # reported, never used to choose
            record["test_accuracy"] = res.history["test_accuracy"][-1][1]
        results.append(res)
        records.append(record)
    best = int(np.argmin([rec["training_objective"] for rec in records]))
    chosen = results[best]
    chosen.extra.update(restarts=records, chosen_restart=best)
    seconds = sum(res.train_seconds for res in results)
    images = sum(res.train_seconds * res.images_per_second for res in results
                 if res.train_seconds)
    chosen.train_seconds = seconds
    chosen.images_per_second = images / seconds if seconds else float("nan")
    if out_dir is not None:
        tr = chosen.trainer
        ckpt = CheckpointHelper(Path(out_dir) / "checkpoints", config.checkpoint_config(),
                                added_defaults=GMVAEConfig.added_defaults(),
                                model=tr.model, optimizer=tr.optimizer,
                                pi_trainable=tr.pi_trainable, rng=tr.generator)
        ckpt.save(step=config.epochs * tr.steps_per_epoch)
        write_json(Path(out_dir) / "history.json", chosen.history)
        chosen.out_dir = Path(out_dir)
    return chosen


def _fit_once(config, x_train, labelled, x_test_bin, y_test, out_dir, resume, strategy,
              extra) -> FitResult:
    """One training run (see :func:`fit`)."""
    trainer = Trainer(config, x_train, labelled, strategy)

    ckpt, logger, history = None, ScalarLogger(None), {}
    start_epoch = 0
    if out_dir is not None:
        out_dir = ensure_outdir(out_dir)
        ckpt = CheckpointHelper(out_dir / "checkpoints", config.checkpoint_config(),
                                added_defaults=GMVAEConfig.added_defaults(),
                                model=trainer.model, optimizer=trainer.optimizer,
                                pi_trainable=trainer.pi_trainable, rng=trainer.generator)
        if resume and ckpt.latest is None:
            print(f"no checkpoint in {out_dir / 'checkpoints'}; starting fresh")
            resume = False
        step = ckpt.restore_or_initialize(resume)
        start_epoch = step // trainer.steps_per_epoch
        hist_path = out_dir / "history.json"
        if resume and hist_path.is_file():
            # Keep the epochs the restored checkpoint has seen (an older
            # checkpoint may have been restored when the newest was corrupt).
            history = {name: [p for p in points if p[0] <= start_epoch]
                       for name, points in read_json(hist_path).items()}
        if ckpt.skipped:
            extra["skipped_checkpoints"] = ckpt.skipped
        logger = ScalarLogger(out_dir / "tensorboard")

    if start_epoch == 0 and config.pretrain_epochs:
        extra["pretrain_bound"] = trainer.pretrain(config.pretrain_epochs, config.verbose)
        if x_test_bin is not None and y_test is not None and trainer.model.has_clusters:
            pred, _ = cluster_assignments(trainer.model, x_test_bin)
            extra["after_pretrain"] = {k: v for k, v in clustering_metrics(
                y_test, pred).items() if k in ("accuracy", "nmi", "clusters_used")}

    def record(name, epoch, value):
        history.setdefault(name, []).append([epoch, float(value)])
        logger.log(epoch, **{name: value})

    train_seconds, train_images = 0.0, 0
    for epoch in range(start_epoch, config.epochs):
        trainer.pi_trainable.assign(1. if epoch >= config.pi_fixed_epochs else 0.)
        em_phase = trainer.model.has_clusters and config.prior_em_at(epoch)
        trainer.regularizer_scale.assign(0. if em_phase else 1.)
        trainer.optimizer.learning_rate.assign(config.learning_rate_at(epoch))
        bar = progress(total=trainer.steps_per_epoch,
                       desc=f"epoch {epoch + 1}/{config.epochs}", verbose=config.verbose)
        lb, seconds = trainer.run_epoch(epoch, "gmvae", bar)
        bar.close()
        train_seconds += seconds
        train_images += trainer.steps_per_epoch * config.batch_size
        record("train_lower_bound", epoch + 1, lb)
        record("images_per_second", epoch + 1,
               trainer.steps_per_epoch * config.batch_size / max(seconds, 1e-9))
        last = epoch + 1 == config.epochs
        if em_phase:
            em_seed = config.seed * 1_000_003 + epoch + 7
            x_em = trainer.x_train.numpy()
            if trainer.epoch_images < trainer.n_train:
                # An epoch's worth of images (seeded), so that the step costs
                # the same on 60,000 images as on 4,000.
                x_em = x_em[np.random.default_rng(em_seed).choice(
                    trainer.n_train, trainer.epoch_images, replace=False)]
            em = prior_m_step(trainer.model, x_em, n_draws=config.prior_em_draws,
                              seed=em_seed)
            record("prior_m_step_gain", epoch + 1,
                   em["log_prior_after"] - em["log_prior_before"])
        if x_test_bin is not None and ((epoch + 1) % config.eval_every == 0 or last):
            record("test_lower_bound", epoch + 1,
                   lower_bound_per_image(trainer.model, x_test_bin, n_particles=1).mean())
            if y_test is not None and trainer.model.has_clusters:
                pred, _ = cluster_assignments(trainer.model, x_test_bin)
                m = clustering_metrics(y_test, pred)
                for key in ("accuracy", "nmi", "clusters_used"):
                    record(f"test_{key}", epoch + 1, m[key])
        if ckpt is not None:
            ckpt.save(step=(epoch + 1) * trainer.steps_per_epoch)
            write_json(out_dir / "history.json", history)
    logger.close()
    return FitResult(trainer=trainer, history=history, out_dir=out_dir,
                     start_epoch=start_epoch, train_seconds=train_seconds,
                     images_per_second=(train_images / train_seconds if train_seconds
                                        else float("nan")),
                     extra=extra)
