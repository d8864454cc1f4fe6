"""``gmm-vi-sweep``: effect of N, K and mean separation on NVIL (see gmm_vi.sweep).

Example::

    gmm-vi-sweep --out runs/gmm_vi_sweep                 # default grid, ~10 min on 2 cores
    gmm-vi-sweep --n-values 50 200 --k-values 2 4 --separations 2 4 --seeds 2

Writes sweep.json (a row per fit and per-cell means) and heat-map / line
figures under --out.
"""
from __future__ import annotations

import argparse
import os
import sys

from common.cli import check_out_dir, cli_main, user_input


def build_parser() -> argparse.ArgumentParser:
    from gmm_vi.sweep import SweepConfig
    d = SweepConfig()
    p = argparse.ArgumentParser(prog="gmm-vi-sweep", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="runs/gmm_vi_sweep", help="output folder")
    p.add_argument("--n-values", type=int, nargs="+", default=list(d.n_values))
    p.add_argument("--k-values", type=int, nargs="+", default=list(d.k_values))
    p.add_argument("--separations", type=float, nargs="+", default=list(d.separations),
                   help="nearest-neighbour distance of true means, in sigma units")
    p.add_argument("--k-fixed", type=int, default=d.k_fixed, help="K of the N grid")
    p.add_argument("--n-fixed", type=int, default=d.n_fixed, help="N of the K grid")
    p.add_argument("--seeds", type=int, default=d.seeds, help="seeds per cell")
    p.add_argument("--workers", type=int, default=d.workers, help="parallel processes")
    p.add_argument("--restarts", type=int, default=d.fit.n_restarts)
    p.add_argument("--estimator", default=d.fit.estimator, choices=("nvil", "reinforce", "exact"))
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished sweep in --out (default: refuse)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an input error")
    return p


@cli_main("gmm-vi-sweep")
def main(argv=None):
    from gmm_vi.sweep import SweepConfig, run_sweep
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with user_input():
        fit = SweepConfig().fit.replace(n_restarts=args.restarts, estimator=args.estimator)
        config = SweepConfig(n_values=tuple(args.n_values), k_values=tuple(args.k_values),
                             separations=tuple(args.separations), k_fixed=args.k_fixed,
                             n_fixed=args.n_fixed, seeds=args.seeds,
                             workers=args.workers, fit=fit)
        check_out_dir(args.out, overwrite=args.overwrite, marker="sweep.json")
    print(f"gmm-vi-sweep: {len(config.tasks())} fits on {config.workers} worker(s), "
          f"writing to {os.path.abspath(args.out)}")
    result = run_sweep(config, args.out, verbose=not args.quiet)
    print(f"done in {result['wall_seconds']:.0f} s; results: "
          f"{os.path.join(args.out, 'sweep.json')}")
    for grid, table in result["grids"].items():
        print(f"\n{grid}: mean max |mu - mu_true| (sigma); rows {table['rows']}, "
              f"columns separation {table['separations']}")
        for value, row in zip(table["row_values"], table["mu_err_sigma"]["mean"]):
            print(f"  {table['rows']}={value:<5}" + " ".join(f"{v:7.3f}" for v in row))
    return 0


if __name__ == "__main__":
    sys.exit(main())
