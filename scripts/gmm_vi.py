"""``gmm-vi``: fit a 2-D Gaussian mixture by variational inference with NVIL.

Example::

    gmm-vi --n 100 --k 3 --seed 0 --out runs/gmm
    gmm-vi --k 2 --true-pi "[0.6, 0.4]" --true-mu "[[0, 0], [4, 0]]" --out runs/gmm2
    gmm-vi --data points.csv --k 3 --out runs/mine

Writes metrics.json and figures under --out and prints a summary table.
``--grad-var-points 6`` adds the gradient-variance measurement of REINFORCE vs
NVIL vs the exact gradient (``grad_variance.png``), which gmm-vi-bench and the
report always make.
"""
from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys
import warnings
from pathlib import Path

from common.cli import UserError, check_out_dir, cli_main, parse_json_arg, user_input
from gmm_vi.config import (ESTIMATORS, POSTERIORS, GMMVIConfig, make_true_params,
                           validate_data, validate_true_params)


def _load_data(path):
    import numpy as np
    path = Path(path)
    if not path.is_file():
        raise UserError(f"--data file not found: {path}")
    if path.stat().st_size == 0:
        raise UserError(f"--data {path} is empty; expected one point (x y) per line")
    try:
        if path.suffix == ".npy":
            return np.load(path, allow_pickle=False)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # a blank file: its shape says it
            return np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None,
                              ndmin=2)
    except ValueError as exc:
        raise UserError(f"--data {path} is not a numeric table: {exc}")


def build_parser() -> argparse.ArgumentParser:
    d = GMMVIConfig()
    p = argparse.ArgumentParser(prog="gmm-vi", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=100, help="data points to sample (default 100)")
    p.add_argument("--k", type=int, default=d.k, help="components K (default 3)")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", default="runs/gmm_vi", help="output folder")
    p.add_argument("--estimator", choices=ESTIMATORS, default=d.estimator)
    p.add_argument("--posterior", choices=POSTERIORS, default=d.posterior)
    p.add_argument("--restarts", type=int, default=d.n_restarts)
    p.add_argument("--particles", type=int, default=d.n_particles)
    p.add_argument("--lr", type=float, default=d.learning_rate)
    p.add_argument("--max-iters", type=int, default=d.max_iters)
    p.add_argument("--min-iters", type=int, default=d.min_iters)
    p.add_argument("--tol", type=float, default=d.tol)
    p.add_argument("--polish-iters", type=int, default=d.polish_iters)
    p.add_argument("--grad-var-points", type=int, default=0,
                   help="measure the variance of q's gradient under REINFORCE, NVIL "
                        "and the exact estimator at this many points during training "
                        "and draw grad_variance.png (default 0: off, the plain fit; "
                        f"gmm-vi-bench and the report measure {d.grad_var_points} points "
                        f"of {d.grad_var_draws} draws, about 1 s more here)")
    p.add_argument("--grad-var-draws", type=int, default=d.grad_var_draws,
                   help="gradient draws per estimator and measurement")
    p.add_argument("--true-pi", help="JSON list, e.g. '[0.5, 0.3, 0.2]'")
    p.add_argument("--true-mu", help="JSON [K][2] list of means")
    p.add_argument("--true-sigma2", help="JSON [K][2] list of variances (default 1)")
    p.add_argument("--separation", type=float, default=4.0,
                   help="min distance of random true means in sigma units (K != 3)")
    p.add_argument("--data", help="use this [N, 2] data (.npy, .csv or whitespace text)")
    p.add_argument("--threads", type=int, default=1, help="TensorFlow threads (default 1)")
    p.add_argument("--jit", action="store_true", help="compile the training chunk with XLA")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished run in --out (default: refuse)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an input error")
    return p


@cli_main("gmm-vi")
def main(argv=None):
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    # Validate everything before TensorFlow starts or any work is done.
    with user_input():
        config = GMMVIConfig(
            k=args.k, seed=args.seed, estimator=args.estimator, posterior=args.posterior,
            n_restarts=args.restarts, n_particles=args.particles,
            learning_rate=args.lr, max_iters=args.max_iters, min_iters=args.min_iters,
            tol=args.tol, polish_iters=args.polish_iters,
            grad_var_points=args.grad_var_points, grad_var_draws=args.grad_var_draws,
            jit_compile=args.jit)
        true_params = None
        if args.true_pi is not None or args.true_mu is not None \
                or args.true_sigma2 is not None:
            true_params = make_true_params(parse_json_arg(args.true_pi, "--true-pi"),
                                           parse_json_arg(args.true_mu, "--true-mu"),
                                           parse_json_arg(args.true_sigma2,
                                                          "--true-sigma2"))
            true_params = validate_true_params(true_params, k=config.k, d=config.d)
        x = None
        if args.data is not None:
            x = validate_data(_load_data(args.data), config.k, config.d)
        elif args.n < config.k:
            raise UserError(f"--n must be >= --k (N >= K), got n={args.n}, k={config.k}")
        if args.threads < 1:
            raise UserError(f"--threads must be >= 1, got {args.threads}")
        out = check_out_dir(args.out, overwrite=args.overwrite)

    import tensorflow as tf
    # Python's last garbage collection at exit walks every traced TensorFlow
    # graph (0.8 s measured, more than the fit); the OS frees them anyway.
    atexit.register(gc.freeze)
    try:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    except RuntimeError:
        pass  # TensorFlow already started in this process (e.g. under pytest)
    from gmm_vi.experiment import run, summary_rows

    print(f"gmm-vi: writing to {out.resolve()}")
    metrics = run(n=args.n, config=config, out_dir=out, true_params=true_params, x=x,
                  separation=args.separation, verbose=not args.quiet)
    rows = [("", "VI (" + config.estimator + ")", "EM (sklearn)", "true")] + summary_rows(metrics)
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)))
    print(f"metrics: {out / 'metrics.json'}")
    for name, path in metrics.get("figures", {}).items():
        print(f"figure {name}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
