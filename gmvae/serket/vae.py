"""Serket's VAE module: compresses observations, sends latents up, takes the
GMM's class means back as the prior mean of each point.

    vae1 = vae.VAE(18, itr=200, batch_size=500)
    vae1.connect(obs)
    vae1.update()

Each ``update`` in "learn" mode trains the networks (``itr`` passes over the
data in minibatches of ``batch_size``, all passes in one compiled call; the
first update starts from fresh weights, later ones continue from the current
weights, with the same Adam state; ``fresh_start=True`` restarts every update
from fresh weights, as Serket's own VAE does — over 5 seeds it moved the
final accuracy by +-0.02 per seed with no gain in the median) maximising

    E_q[log p(o|z)] - KL_param * KL(q(z|o) || N(mu, I)),

where mu [N, latent_dim] is the backward message (zero until one arrives).
It then sends the posterior means z [N, latent_dim] forward and the
reconstructions [N, M] back to the observation.

"recog" mode loads a trained model from ``load_dir`` and only encodes.

Files in ``module%03d_vae/`` ({mode} = learn or recog):
    z_{mode}.txt       [N, latent_dim] latents sent to the next module
    x_hat_{mode}.txt   [N, M] reconstructions (decoder mean at the latent)
    loss.txt           rows "update epoch loss" (loss = -bound per point)
    loss.png           the loss curve
    model.ckpt.*       network weights (TensorFlow checkpoint)
    config.json        the module's settings (needed by recog mode)
    history.json       per update: seconds, final loss
"""
from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np
import tensorflow as tf

from common import zs
from common.plotting import plot_curves
from common.training import progress, write_json
from common.validation import check_int

from . import serket as srk
from .vae_model import VAENetConfig, VAENets, make_encode, make_train_update

__all__ = ["VAE", "VAEConfig"]

MODES = ("learn", "recog")
PASSES_PER_CALL = 50   # passes over the data per call of the compiled update


@dataclass(frozen=True)
class VAEConfig:
    """Settings of the VAE module (Serket's names and defaults, plus ours).

    Attributes:
        latent_dim: dimension of z (the tutorial: 18).
        weight_stddev: std of the initial weights (Serket: 0.1).
        itr: passes over the data per update (Serket: 5000; tutorial: 200).
        hidden_encoder_dim / hidden_decoder_dim: hidden widths (Serket: 100).
        batch_size: minibatch size; None = the whole data set (Serket).
        KL_param: alpha, the weight of the KL term (Serket: 1).
        mode: "learn" or "recog".
        load_dir: folder of a trained VAE (required in "recog" mode; in
            "learn" mode training continues from it).
        learning_rate: Adam step size (ours: 3e-3; Serket used 1e-2).
        final_learning_rate: None (default): the step size stays constant;
            else it decays geometrically over each update's passes, from
            ``learning_rate`` in the first call of ``PASSES_PER_CALL`` passes
            to this value in the last.
        send: "mean" sends the posterior mean of z (ours, less noisy for the
            GMM); "sample" sends one posterior sample (Serket).
        obs_dist: "bernoulli", "gaussian", or "auto" (Bernoulli when every
            observation lies in [0, 1], else Gaussian with unit variance).
        fresh_start: every "learn" update trains from fresh weights and a
            fresh Adam state, as Serket's VAE does (True), or continues from
            the last update's weights (False).
        jit_compile: compile the training step with XLA (about 10% faster on CPU).
        seed: seeds weights, minibatch order and sampling (None: unseeded).
        verbose: show a progress bar per update.
    """
    latent_dim: int = 18
    weight_stddev: float = 0.1
    itr: int = 5000
    hidden_encoder_dim: int = 100
    hidden_decoder_dim: int = 100
    batch_size: Optional[int] = None
    KL_param: float = 1.0
    mode: str = "learn"
    load_dir: Optional[str] = None
    learning_rate: float = 3e-3
    final_learning_rate: Optional[float] = None
    send: str = "mean"
    obs_dist: str = "auto"
    fresh_start: bool = False
    jit_compile: bool = True
    seed: Optional[int] = None
    verbose: bool = False

    def __post_init__(self):
        for name in ("latent_dim", "itr", "hidden_encoder_dim", "hidden_decoder_dim"):
            check_int(name, getattr(self, name), 1)
        if self.batch_size is not None:
            check_int("batch_size", self.batch_size, 1)
        if not self.KL_param > 0:
            raise ValueError(f"KL_param must be > 0, got {self.KL_param!r}")
        if not self.weight_stddev > 0:
            raise ValueError(f"weight_stddev must be > 0, got {self.weight_stddev!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        if self.final_learning_rate is not None and not self.final_learning_rate > 0:
            raise ValueError(f"final_learning_rate must be None or > 0, got "
                             f"{self.final_learning_rate!r}")
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")
        if self.mode == "recog" and self.load_dir is None:
            raise ValueError('mode="recog" needs load_dir, the folder of a trained VAE')
        if self.send not in ("mean", "sample"):
            raise ValueError(f"send must be 'mean' or 'sample', got {self.send!r}")
        if self.obs_dist not in ("auto", "bernoulli", "gaussian"):
            raise ValueError(f"obs_dist must be 'auto', 'bernoulli' or 'gaussian', "
                             f"got {self.obs_dist!r}")


class VAE(srk.Module):
    """Serket VAE module (see the module docstring)."""

    def __init__(self, latent_dim, weight_stddev=0.1, itr=5000, name="vae",
                 hidden_encoder_dim=100, hidden_decoder_dim=100, batch_size=None,
                 KL_param=1, mode="learn", load_dir=None, **options):
        self.config = VAEConfig(latent_dim=latent_dim, weight_stddev=weight_stddev, itr=itr,
                                hidden_encoder_dim=hidden_encoder_dim,
                                hidden_decoder_dim=hidden_decoder_dim, batch_size=batch_size,
                                KL_param=float(KL_param), mode=mode,
                                load_dir=None if load_dir is None else str(load_dir),
                                **options)
        super().__init__(name, learnable=(mode == "learn"))
        self._nets: Optional[VAENets] = None
        self._optimizer = None
        self._update_fn = None
        self._update_shape = None
        self._encode_fn = None
        self._rng: Optional[tf.random.Generator] = None
        self._n_updates = 0
        self._loss_rows: list = []
        self.history: list = []

    # -- setup ------------------------------------------------------------------
    def _net_config(self, data: np.ndarray) -> VAENetConfig:
        c = self.config
        obs = c.obs_dist
        if obs == "auto":
            obs = "bernoulli" if data.min() >= 0.0 and data.max() <= 1.0 else "gaussian"
        elif obs == "bernoulli" and (data.min() < 0.0 or data.max() > 1.0):
            raise ValueError("obs_dist='bernoulli' needs observations in [0, 1], got range "
                             f"[{data.min():.4g}, {data.max():.4g}]")
        return VAENetConfig(x_dim=int(data.shape[1]), z_dim=int(c.latent_dim),
                            hidden_encoder_dim=int(c.hidden_encoder_dim),
                            hidden_decoder_dim=int(c.hidden_decoder_dim),
                            weight_stddev=float(c.weight_stddev), obs_dist=obs)

    def _build(self, net_config: VAENetConfig) -> None:
        if self.config.seed is not None:
            tf.keras.utils.set_random_seed(int(self.config.seed))
        self._nets = VAENets(net_config)
        self._optimizer = tf.keras.optimizers.Adam(self.config.learning_rate)
        self._encode_fn = make_encode(self._nets)
        # The module's own noise source (reseeded every update): its draws do
        # not depend on what else the process ran before (TensorFlow's
        # stateful random ops do), so the same seed gives the same numbers.
        # Unseeded: a fresh seed from the OS (TensorFlow refuses its own
        # non-deterministic state once a GMVAE fit has switched on op
        # determinism in the same process).
        seed = (np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1)
                if self.config.seed is None else self.config.seed)
        self._rng = tf.random.Generator.from_seed(int(seed))

    def _load(self, data: np.ndarray) -> None:
        load_dir = srk.resolve_path(self.config.load_dir)
        cfg_path = load_dir / "config.json"
        if not cfg_path.is_file():
            raise FileNotFoundError(f"load_dir {load_dir} holds no trained VAE (no config.json)")
        saved = json.loads(cfg_path.read_text())
        net_config = VAENetConfig(**saved["net"])
        if net_config.x_dim != data.shape[1]:
            raise ValueError(f"the VAE in {load_dir} takes observations of dimension "
                             f"{net_config.x_dim}, got {data.shape[1]}")
        if net_config.z_dim != self.config.latent_dim:
            raise ValueError(f"the VAE in {load_dir} has latent_dim {net_config.z_dim}, "
                             f"this module {self.config.latent_dim}")
        self._build(net_config)
        self._nets.checkpoint().read(str(load_dir / "model.ckpt")).expect_partial()

    # -- messages -------------------------------------------------------------------
    def _prior_mean(self, n: int) -> np.ndarray:
        mu = self.get_backward_msg()
        if mu is None:
            return np.zeros((n, self.config.latent_dim), dtype=np.float32)
        mu = np.asarray(mu, dtype=np.float32)
        if mu.shape != (n, self.config.latent_dim):
            raise ValueError(f"{self.get_name()}: the backward message (prior means) must "
                             f"have shape [N, latent_dim] = [{n}, {self.config.latent_dim}], "
                             f"got {mu.shape}")
        if not np.all(np.isfinite(mu)):
            raise ValueError(f"{self.get_name()}: the backward message must be finite")
        return mu

    # -- update -----------------------------------------------------------------------
    def update(self) -> None:
        """Train (learn) or encode (recog), write the files, send the messages."""
        data = self.get_observations()[0]
        data = srk.as_data_matrix(data, name=f"{self.get_name()} observations")
        n = data.shape[0]
        c = self.config
        mu = self._prior_mean(n)  # validated before any work
        start = time.perf_counter()
        x = tf.constant(data, dtype=tf.float32)
        losses = []
        if c.mode == "learn":
            if self._nets is None and c.load_dir is not None:
                self._load(data)            # continue training a saved model
            elif self._nets is None:
                self._build(self._net_config(data))
            elif self._nets.config.x_dim != data.shape[1]:
                raise ValueError(f"{self.get_name()} was trained on dimension "
                                 f"{self._nets.config.x_dim}, got {data.shape[1]}")
            batch = n if c.batch_size is None else min(int(c.batch_size), n)
            if self._update_fn is None or self._update_shape != (n, batch):
                self._update_shape = (n, batch)
                self._update_fn = make_train_update(self._nets, self._optimizer, n, batch,
                                                    float(c.KL_param), bool(c.jit_compile))
            seed = None if c.seed is None else int(c.seed) * 1000 + self._n_updates
            if seed is not None:
                self._rng.reset_from_seed(seed)
            if c.fresh_start and self._n_updates > 0:
                self._nets.reinitialize(self._rng)
                for v in self._optimizer.variables:     # Adam's moments and step count
                    if v.name != "learning_rate":
                        v.assign(tf.zeros_like(v))
            rng = np.random.default_rng(seed)
            mu_t = tf.constant(mu)
            # Each pass's shuffle drawn up front (the same draws, in the same
            # order, as one permutation per pass); the passes run in chunks of
            # PASSES_PER_CALL, one call each (the bar advances per chunk).
            perms = np.stack([rng.permutation(n).astype(np.int32) for _ in range(int(c.itr))])
            bar = progress(total=int(c.itr), desc=f"{self.get_name()} update "
                           f"{self._n_updates}", verbose=c.verbose)
            starts = range(0, int(c.itr), PASSES_PER_CALL)
            with bar, zs.random_source(self._rng):   # the draws traced in the update
                for j, lo in enumerate(starts):
                    if c.final_learning_rate is not None:
                        frac = j / max(len(starts) - 1, 1)
                        self._optimizer.learning_rate.assign(
                            c.learning_rate * (c.final_learning_rate / c.learning_rate) ** frac)
                    chunk = perms[lo:lo + PASSES_PER_CALL]
                    losses += [float(v) for v in self._update_fn(x, mu_t, tf.constant(chunk))]
                    bar.update(chunk.shape[0])
        else:
            if self._nets is None:
                self._load(data)
        with zs.random_source(self._rng):
            z_mean, z_sample, x_hat = (t.numpy() for t in self._encode_fn(x))
        z = z_mean if c.send == "mean" else z_sample
        seconds = time.perf_counter() - start
        self._write(z, x_hat, losses, seconds)
        self._n_updates += 1
        self.set_forward_msg(z.astype(np.float64))
        self.send_backward_msgs([x_hat])

    # -- outputs ------------------------------------------------------------------------
    def _write(self, z, x_hat, losses, seconds) -> None:
        out = self._make_save_dir()
        mode = self.config.mode
        srk.savetxt_fixed(out / f"z_{mode}.txt", z, 6)             # = np.savetxt(fmt="%.6f")
        srk.savetxt_fixed(out / f"x_hat_{mode}.txt", x_hat, 4)     # = np.savetxt(fmt="%.4f")
        record = {"update": self._n_updates, "mode": mode, "seconds": seconds}
        if mode == "learn":
            self._loss_rows += [(self._n_updates, i + 1, l) for i, l in enumerate(losses)]
            rows = np.asarray(self._loss_rows, dtype=np.float64).reshape(-1, 3)
            np.savetxt(out / "loss.txt", rows, fmt=["%d", "%d", "%.4f"],
                       header="update epoch loss")
            steps = np.arange(1, rows.shape[0] + 1)
            plot_curves({"loss (-bound per point)": (steps, rows[:, 2])}, out / "loss.png",
                        xlabel="epoch (all updates)", ylabel="loss",
                        title=f"{self.get_name()} training loss")
            self._nets.checkpoint().write(str(out / "model.ckpt"))
            write_json(out / "config.json", {"net": dataclasses.asdict(self._nets.config),
                                             "module": dataclasses.asdict(self.config)})
            record["loss"] = losses[-1] if losses else None
        self.history.append(record)
        write_json(out / "history.json", self.history)

    # -- accessors for scripts ------------------------------------------------------
    @property
    def n_updates(self) -> int:
        return self._n_updates
