"""Learning: initialisation, the training loop, convergence, restarts.

Algorithm (``fit``):

1. Initialise R restarts (:func:`kmeanspp_init`): means by k-means++ seeding
   from the data points, a pooled per-dimension variance and mixing weights
   from the seeds' Voronoi cells; q starts at the exact posterior of these
   parameters (see :mod:`gmm_vi.inference`).
2. Train all restarts side by side (a leading restart axis on every
   parameter; Adam is elementwise, so restarts do not interact) with the
   chosen estimator, ``eval_every`` iterations per call of one compiled
   ``tf.function`` (a ``tf.while_loop`` inside), so Python runs once per
   chunk, not once per step.  It is traced once: the restarts share one
   graph (NVIL keeps a moving mean and variance per restart in one
   ``zs.NVILState`` of shape [R]) and the particle count is an argument, so
   the polish reuses the main phase's trace; the gradient-variance probe is
   one more trace for both score-function estimators.
3. After every chunk the exact ELBO (z summed out) of every restart is
   recorded; a restart has converged once its best ELBO has improved by
   less than ``tol`` nats per point over ``patience`` chunks (and at least
   ``min_iters`` iterations ran).  The main phase ends when every restart has
   converged or at ``max_iters``.
4. Polish: ``polish_iters`` more iterations of the same estimator with the
   learning rate scaled by ``polish_lr_factor`` and ``polish_particles``
   samples per point — a score-function gradient keeps the parameters
   jittering around the optimum at a scale set by the step size; shrinking
   the step averages that jitter out.
5. Keep the restart with the highest exact ELBO.  The ELBO (not the
   log-likelihood) is the objective the method optimises, so choosing by it
   keeps the selection inside the method; with q able to represent the exact
   posterior the two agree at the optimum.

Why this initialisation: the failure of the plain ZhuSuan run (means at
random data points: 3 of 5 seeds ended with two components on one cluster)
is a seeding failure — two initial means in one true cluster rarely separate,
because the component between them must cross a low-density region.
k-means++ draws each next seed with probability proportional to its squared
distance from the seeds so far, so seeds land in distinct clusters with high
probability; the R independent restarts (chosen by ELBO) make the remaining
failure probability negligible for the price of one vectorised run.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Optional

import numpy as np
import tensorflow as tf

from common import zs
from common.data import GMMParams
from common.training import progress, set_seed

from .config import GMMVIConfig, validate_data
from .estimators import exact_elbo, surrogate_cost
from .inference import BaselineNet, FeatureMap, features, make_variational_net
from .model import GMMInit, make_generative_net, model_params

__all__ = ["kmeanspp_init", "FitResult", "GMMVITrainer", "fit"]


def kmeanspp_init(x: np.ndarray, k: int, n_restarts: int, seed: int = 0,
                  method: str = "kmeans++") -> GMMInit:
    """Initial parameters of ``n_restarts`` restarts by k-means++ seeding.

    Per restart: the first mean is a uniformly drawn data point, each next
    one a data point drawn with probability proportional to its squared
    distance to the nearest mean chosen so far (Arthur & Vassilvitskii,
    2007).  Points are then assigned to their nearest mean: the pooled
    within-cell variance per dimension initialises every sigma^2 (the same for
    all components, so no component starts out "wider" and swallows another)
    and the smoothed cell sizes initialise pi.

    ``method="random"`` instead takes K distinct data points drawn uniformly
    (the plain initialisation, kept for ablations).

    :param x: [N, D] data.
    :return: GMMInit with pi_logits [R, K], mu [R, K, D], log_sigma [R, K, D].
    """
    n, d = x.shape
    var_floor = 1e-3 * max(float(x.var(axis=0).mean()), 1e-12)
    pi_logits = np.zeros((n_restarts, k))
    mu = np.zeros((n_restarts, k, d))
    log_sigma = np.zeros((n_restarts, k, d))
    for r in range(n_restarts):
        rng = np.random.default_rng([seed, 0, r])
        if method == "random":
            centers = x[rng.choice(n, size=k, replace=False)]
        else:
            centers = _kmeanspp_centers(x, k, rng)
        assign = np.argmin(((x[:, None, :] - centers[None]) ** 2).sum(-1), axis=1)
        pooled = np.maximum(((x - centers[assign]) ** 2).mean(axis=0), var_floor)
        counts = np.bincount(assign, minlength=k)
        pi_logits[r] = np.log((counts + 1.0) / (n + k))
        mu[r] = centers
        log_sigma[r] = 0.5 * np.log(pooled)[None, :]
    return GMMInit(pi_logits=pi_logits.astype(np.float32), mu=mu.astype(np.float32),
                   log_sigma=log_sigma.astype(np.float32))


def _kmeanspp_centers(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding: [K, D] centres drawn from the rows of x."""
    n = x.shape[0]
    centers = [x[rng.integers(n)]]
    for _ in range(1, k):
        d2 = np.min(((x[:, None, :] - np.asarray(centers)[None]) ** 2).sum(-1), axis=1)
        total = d2.sum()
        centers.append(x[rng.choice(n, p=d2 / total) if total > 0 else rng.integers(n)])
    return np.asarray(centers)


@dataclass
class FitResult:
    """What :func:`fit` returns.

    params: learned parameters of the selected restart.
    restart: index of the selected restart.
    elbo, loglik: its exact ELBO and exact mean log-likelihood (nats/point).
    restart_elbo, restart_loglik: final values of every restart [R].
    q_probs: [N, K] posterior q(z|x) of the selected restart.
    iterations: main-phase iterations run; polish_iterations after it.
    converged: whether the selected restart met the criterion before max_iters.
    converged_iter: iteration at which it did (None if it did not).
    train_seconds: wall time of the training chunks (main phase + polish),
        i.e. the time to converge; setup_seconds: building and compiling.
    history: {"iteration": [T], "elbo": [T][R], "loglik": [T][R]}.
    grad_var: gradient-variance measurements (see
        :meth:`GMMVITrainer.measure_gradient_variance`), one dict per point.
    init_mu: [R, K, D] initial means.
    """

    params: GMMParams
    restart: int
    elbo: float
    loglik: float
    restart_elbo: list
    restart_loglik: list
    q_probs: np.ndarray
    iterations: int
    polish_iterations: int
    converged: bool
    converged_iter: Optional[int]
    train_seconds: float
    setup_seconds: float
    history: dict = field(default_factory=dict)
    grad_var: list = field(default_factory=list)
    init_mu: Optional[np.ndarray] = None


class Adam(tf.Module):
    """Adam (Kingma & Ba, 2015) with a ``tf.Variable`` learning rate.

    Our own few lines rather than ``tf.keras.optimizers.Adam``: Keras 3
    rejects a variable learning rate (the polish phase changes it between
    compiled chunks) and its bookkeeping costs more than the whole GMM step
    inside a ``tf.while_loop``.  Elementwise, so restarts stay independent.
    Per variable, with step t and gradient g::

        m <- beta1 m + (1 - beta1) g
        v <- beta2 v + (1 - beta2) g^2
        var <- var - lr sqrt(1 - beta2^t) / (1 - beta1^t) * m / (sqrt(v) + epsilon)

    applied by TensorFlow's fused kernel of exactly this update
    (``ResourceApplyAdam``): one op per variable instead of a dozen, which
    is most of a step's cost at this size.
    """

    def __init__(self, variables, learning_rate, beta1=0.9, beta2=0.999, epsilon=1e-8):
        super().__init__(name="adam")
        self.lr = tf.Variable(float(learning_rate), trainable=False, dtype=tf.float32)
        self.beta1, self.beta2, self.epsilon = beta1, beta2, epsilon
        self.t = tf.Variable(0., trainable=False)
        self.m = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]
        self.v = [tf.Variable(tf.zeros_like(v), trainable=False) for v in variables]

    def apply_gradients(self, grads_and_vars):
        t = self.t.assign_add(1.)
        beta1_power, beta2_power = self.beta1 ** t, self.beta2 ** t
        for (g, var), m, v in zip(grads_and_vars, self.m, self.v):
            tf.raw_ops.ResourceApplyAdam(
                var=var.handle, m=m.handle, v=v.handle, beta1_power=beta1_power,
                beta2_power=beta2_power, lr=self.lr, beta1=self.beta1, beta2=self.beta2,
                epsilon=self.epsilon, grad=g)


class GMMVITrainer:
    """Owns the nets, the optimiser and the compiled training chunk of one fit.

    :param x: [N, D] training data (validated).
    :param config: a :class:`GMMVIConfig`.
    """

    def __init__(self, x, config: GMMVIConfig):
        self.config = config
        self.x_np = validate_data(x, config.k, config.d)
        n = self.x_np.shape[0]
        set_seed(config.seed)
        self.init = kmeanspp_init(self.x_np, config.k, config.n_restarts, config.seed,
                                  config.init)
        self.fmap = FeatureMap.from_data(self.x_np)
        self.x = tf.constant(self.x_np, tf.float32)
        self.f = features(self.x, self.fmap)
        # Model, variational posterior and baseline: three separate pieces.
        self.build_gen = make_generative_net(self.init)
        self.build_q = make_variational_net(config.posterior, self.init, self.fmap, self.x_np,
                                            config.hidden_units, config.seed)
        self.baseline = BaselineNet(config.n_restarts, int(self.f.shape[-1]),
                                    config.hidden_units, config.seed)
        # NVIL's moving mean and variance, one per restart (shape [R]); the
        # probe's copy lets gradient draws start from the training state.
        self.state = zs.NVILState(name="nvil_state", shape=[config.n_restarts])
        self._probe_state = zs.NVILState(name="probe_state", shape=[config.n_restarts])
        # Build once eagerly so every variable exists before tracing.
        self.build_gen(n).observe(x=self.x)
        self.build_q.logits(self.f)
        self.baseline(self.f)
        self.gen_vars = list(self.build_gen.store.trainable_variables)
        self.q_vars = list(self.build_q.store.trainable_variables)
        self.train_vars = self.gen_vars + self.q_vars
        if config.estimator == "nvil":
            self.train_vars += list(self.baseline.trainable_variables)
        self.optimizer = Adam(self.train_vars, config.learning_rate)
        self.lr = self.optimizer.lr
        self._chunk = None
        self._probe = None
        self._baseline_vars = list(self.baseline.trainable_variables)
        self._baseline_optimizer = Adam(self._baseline_vars, config.learning_rate)
        self._warm = None

    # -- one step and one chunk ------------------------------------------------
    def _cost(self, estimator, state, n_particles):
        c = self.config
        return surrogate_cost(estimator, self.build_gen, self.build_q, self.baseline, self.f,
                              self.x, state, n_particles, c.decay, c.variance_normalization)

    def _evaluate(self):
        """Exact ELBO [R] and exact mean log-likelihood [R] (per point)."""
        q_logits = self.build_q.logits(self.f)
        elbo = tf.reduce_mean(exact_elbo(self.build_gen, q_logits, self.x), axis=-1)
        k, (r, n) = self.config.k, q_logits.shape[:2]
        z_all = tf.broadcast_to(tf.eye(k)[:, None, None, :], [k, r, n, k])
        log_pxz = self.build_gen(n).observe(x=self.x, z=z_all).log_joint()   # [K, R, N]
        loglik = tf.reduce_mean(tf.reduce_logsumexp(log_pxz, axis=0), axis=-1)
        return elbo, loglik

    def _make_chunk(self):
        estimator = self.config.estimator

        # The particle count is an argument (a tensor), so the main phase and
        # the polish share one trace.
        def step(n_particles):
            with tf.GradientTape() as tape:
                cost, _ = self._cost(estimator, self.state, n_particles)
            grads = tape.gradient(cost, self.train_vars)
            self.optimizer.apply_gradients(zip(grads, self.train_vars))

        def chunk(n_steps, n_particles):
            _repeat(n_steps, lambda: step(n_particles))
            return self._evaluate()

        return _compile(chunk, self.config.jit_compile)

    def _make_baseline_warmup(self):
        n_particles = self.config.n_particles
        n = int(self.x.shape[0])

        def step():
            q_bn = self.build_q(self.f, n_particles=n_particles).observe()
            z, log_qz = q_bn.outputs("z"), q_bn.cond_log_prob("z")
            log_pxz = self.build_gen(n).observe(x=self.x, z=z).log_joint()
            signal = tf.stop_gradient(log_pxz - log_qz)                      # [S, R, N]
            with tf.GradientTape() as tape:
                cost = tf.reduce_sum(tf.reduce_mean(
                    0.5 * tf.square(signal - self.baseline(self.f)), axis=[0, 2]))
            grads = tape.gradient(cost, self._baseline_vars)
            self._baseline_optimizer.apply_gradients(zip(grads, self._baseline_vars))

        def warm(n_steps):
            _repeat(n_steps, step)

        return _compile(warm)

    def warm_up_baseline(self, n_steps: int) -> None:
        """Fit b(x) alone to the learning signal l = log p(x, z) - log q(z|x)
        at the current state (the model and q do not change)."""
        if self._warm is None:
            self._warm = self._make_baseline_warmup()
        self._warm(tf.constant(n_steps, tf.int32))

    def train_chunk(self, n_steps: int, n_particles: int):
        """Run ``n_steps`` optimisation steps; return (elbo [R], loglik [R]) numpy."""
        if self._chunk is None:
            self._chunk = self._make_chunk()
        elbo, loglik = self._chunk(tf.constant(n_steps, tf.int32),
                                   tf.constant(n_particles, tf.int32))
        return elbo.numpy().astype(np.float64), loglik.numpy().astype(np.float64)

    def warm_up(self) -> None:
        """Trace and compile the chunk (0 steps: the state does not change)."""
        self.train_chunk(0, self.config.n_particles)

    # -- gradient variance ---------------------------------------------------
    def _make_probe(self):
        """One compiled probe: ``n_draws`` gradients of q's parameters under
        REINFORCE and under NVIL, and the exact gradient, at the current state."""
        n_particles = self.config.n_particles

        def grads_of(estimator, state):
            with tf.GradientTape() as tape:
                cost, _ = self._cost(estimator, state, n_particles)
            return tape.gradient(cost, self.q_vars)

        def draw(i, rf, nv, scales):
            rf = [a.write(i, g) for a, g in zip(rf, grads_of("reinforce", None))]
            # Each NVIL draw starts from the training state's moving averages,
            # so every draw is what one training step would have used.
            for dst, src in zip(self._probe_state.variables, self.state.variables):
                dst.assign(src)
            nv = [a.write(i, g) for a, g in zip(nv, grads_of("nvil", self._probe_state))]
            scales = scales.write(i, tf.maximum(1., tf.sqrt(self._probe_state.moving_variance)))
            return i + 1, rf, nv, scales

        def probe(n_draws):
            arrays = lambda: [tf.TensorArray(tf.float32, size=n_draws)  # noqa: E731
                              for _ in self.q_vars]
            _, rf, nv, scales = tf.while_loop(
                lambda i, *_: i < n_draws, draw,
                [tf.constant(0), arrays(), arrays(), tf.TensorArray(tf.float32, size=n_draws)])
            return ({"reinforce": [a.stack() for a in rf], "nvil": [a.stack() for a in nv]},
                    scales.stack(), grads_of("exact", None))

        return _compile(probe, self.config.jit_compile)

    def _run_probe(self, n_draws: int):
        if self._probe is None:
            self._probe = self._make_probe()
        draws, scales, exact = self._probe(tf.constant(n_draws, tf.int32))
        draws = {e: [g.numpy().astype(np.float64) for g in gs] for e, gs in draws.items()}
        scales = scales.numpy().astype(np.float64)
        if not self.config.variance_normalization:
            scales = np.ones_like(scales)
        return draws, scales, [g.numpy().astype(np.float64) for g in exact]

    def gradient_draws(self, estimator: str, n_draws: int):
        """``n_draws`` gradients of q's parameters under ``estimator``
        (``"reinforce"`` or ``"nvil"``) at the current state, without changing it.

        :return: (list of [n_draws, R, ...] arrays, one per q variable;
            scales [n_draws, R]: NVIL's variance-normalisation divisor
            max(1, sqrt(v)) of each draw, 1 when it does not apply).
        """
        if estimator not in ("reinforce", "nvil"):
            raise ValueError(f"gradient draws are of 'reinforce' or 'nvil', got {estimator!r}")
        draws, scales, _ = self._run_probe(n_draws)
        return draws[estimator], scales if estimator == "nvil" else np.ones_like(scales)

    def exact_gradient(self):
        """The exact gradient of -ELBO for q's parameters: list of [R, ...]."""
        with tf.GradientTape() as tape:
            cost, _ = self._cost("exact", None, self.config.n_particles)
        return [g.numpy().astype(np.float64) for g in tape.gradient(cost, self.q_vars)]

    def measure_gradient_variance(self, n_draws: int, iteration: int) -> dict:
        """Variance of q's gradient under REINFORCE, NVIL and the exact estimator.

        Per restart, the total variance (trace of the covariance over all of q's
        parameters) across ``n_draws`` draws at the current state.  NVIL is
        reported as used (``nvil``) and with its variance-normalisation divisor
        multiplied back (``nvil_unscaled``), i.e. at the scale of the exact
        gradient, so the ratio is not just the rescaling.  The exact estimator
        has zero variance; ``exact_sq_norm`` is its squared norm, the signal
        the variances compare against.

        :return: dict of lists [R]: iteration, reinforce, nvil, nvil_unscaled,
            exact (zeros), exact_sq_norm, nvil_scale (mean divisor).
        """
        def total_var(grads, scales=None):
            out = 0.0
            for g in grads:
                if scales is not None:
                    g = g * scales.reshape(scales.shape + (1,) * (g.ndim - 2))
                out = out + g.var(axis=0, ddof=1).reshape(g.shape[1], -1).sum(-1)
            return out

        draws, sc, g_ex = self._run_probe(n_draws)
        g_rf, g_nv = draws["reinforce"], draws["nvil"]
        sq_norm = sum((g.reshape(g.shape[0], -1) ** 2).sum(-1) for g in g_ex)
        r = self.config.n_restarts
        return {"iteration": int(iteration),
                "reinforce": total_var(g_rf).tolist(),
                "nvil": total_var(g_nv).tolist(),
                "nvil_unscaled": total_var(g_nv, sc).tolist(),
                "exact": [0.0] * r,
                "exact_sq_norm": np.asarray(sq_norm).tolist(),
                "nvil_scale": sc.mean(axis=0).tolist()}

    # -- results ---------------------------------------------------------------
    def q_probs(self, restart: int) -> np.ndarray:
        logits = self.build_q.logits(self.f).numpy()[restart].astype(np.float64)
        p = np.exp(logits - logits.max(-1, keepdims=True))
        return p / p.sum(-1, keepdims=True)

    def params(self, restart: int) -> GMMParams:
        return model_params(self.build_gen, restart)


def _compile(fn, jit_compile: bool = False):
    """``tf.function`` without AutoGraph: the loops are explicit
    ``tf.while_loop`` s, and converting every function the trace calls (the
    nets, the distributions, ``zs.nvil``) cost more than the whole training."""
    return tf.function(fn, autograph=False, jit_compile=jit_compile)


def _repeat(n_steps, step) -> None:
    """Call ``step()`` (stateful: it updates variables) ``n_steps`` times in a
    ``tf.while_loop``; inside a ``tf.function``, so every step runs in order."""
    def body(i):
        step()
        return i + 1
    tf.while_loop(lambda i: i < n_steps, body, [tf.constant(0)])


def _measure_marks(points: int, eval_every: int):
    """Iterations at which to measure gradient variance: 0 and then doubling
    multiples of ``eval_every`` (the final state is measured separately)."""
    if points <= 0:
        return []
    marks, it = [0], eval_every
    while len(marks) < points - 1:
        marks.append(it)
        it *= 2
    return marks


def _polish_particles(c: GMMVIConfig) -> int:
    # The exact estimator draws no samples: reuse its one compiled chunk.
    return c.n_particles if c.estimator == "exact" else c.polish_particles


def fit(x, config: GMMVIConfig = GMMVIConfig(), verbose: bool = False,
        callback: Optional[Callable[[int, np.ndarray, np.ndarray], None]] = None
        ) -> FitResult:
    """Fit the mixture to ``x`` [N, D] by maximising the ELBO (see module doc).

    :param callback: called as ``callback(iteration, elbo [R], loglik [R])``
        after every chunk.
    """
    t0 = time.perf_counter()
    trainer = GMMVITrainer(x, config)
    c = config
    trainer.warm_up()
    warm_baseline = c.estimator == "nvil" and c.baseline_warmup > 0
    if warm_baseline:
        trainer.warm_up_baseline(0)        # compile outside the timed part
    setup_seconds = time.perf_counter() - t0

    r = c.n_restarts
    marks = _measure_marks(c.grad_var_points, c.eval_every)
    grad_var = []
    history = {"iteration": [], "elbo": [], "loglik": []}
    best = np.full(r, -np.inf)
    since = np.zeros(r, dtype=int)
    converged_at = [None] * r
    train_seconds = 0.0
    it = 0
    if warm_baseline:
        t = time.perf_counter()
        trainer.warm_up_baseline(c.baseline_warmup)
        train_seconds += time.perf_counter() - t
    elbo, loglik = trainer.train_chunk(0, c.n_particles)   # the initial state
    history["iteration"].append(0)
    history["elbo"].append(elbo.tolist())
    history["loglik"].append(loglik.tolist())
    bar = progress(total=c.max_iters, desc="gmm-vi", verbose=verbose)
    while it < c.max_iters:
        if marks and it >= marks[0]:
            marks.pop(0)
            grad_var.append(trainer.measure_gradient_variance(c.grad_var_draws, it))
        steps = min(c.eval_every, c.max_iters - it)
        t = time.perf_counter()
        elbo, loglik = trainer.train_chunk(steps, c.n_particles)
        train_seconds += time.perf_counter() - t
        it += steps
        bar.update(steps)
        history["iteration"].append(it)
        history["elbo"].append(elbo.tolist())
        history["loglik"].append(loglik.tolist())
        improved = elbo > best + c.tol
        since = np.where(improved, 0, since + 1)
        best = np.maximum(best, elbo)
        for j in range(r):
            if converged_at[j] is None and since[j] >= c.patience and it >= c.min_iters:
                converged_at[j] = it
        bar.set_postfix(elbo=f"{elbo.max():.4f}",
                        converged=f"{sum(v is not None for v in converged_at)}/{r}")
        if callback is not None:
            callback(it, elbo, loglik)
        if all(v is not None for v in converged_at):
            break
    bar.close()
    main_iters = it

    polish = c.polish_iters
    if polish:
        trainer.lr.assign(c.learning_rate * c.polish_lr_factor)
        done = 0
        while done < polish:
            steps = min(c.eval_every, polish - done)
            t = time.perf_counter()
            elbo, loglik = trainer.train_chunk(steps, _polish_particles(c))
            train_seconds += time.perf_counter() - t
            done += steps
            history["iteration"].append(main_iters + done)
            history["elbo"].append(elbo.tolist())
            history["loglik"].append(loglik.tolist())
        trainer.lr.assign(c.learning_rate)
    if c.grad_var_points > 0:
        grad_var.append(trainer.measure_gradient_variance(c.grad_var_draws, it + polish))

    final_elbo, final_loglik = trainer.train_chunk(0, c.n_particles)
    best_r = int(np.argmax(final_elbo))
    return FitResult(
        params=trainer.params(best_r), restart=best_r,
        elbo=float(final_elbo[best_r]), loglik=float(final_loglik[best_r]),
        restart_elbo=final_elbo.tolist(), restart_loglik=final_loglik.tolist(),
        q_probs=trainer.q_probs(best_r), iterations=main_iters, polish_iterations=polish,
        converged=converged_at[best_r] is not None, converged_iter=converged_at[best_r],
        train_seconds=train_seconds, setup_seconds=setup_seconds, history=history,
        grad_var=grad_var, init_mu=trainer.init.mu.astype(np.float64))
