"""``gmvae-bench``: the GMVAE benchmark (clustering over seeds, semi-supervised,
throughput beside the plain VAE, test log-likelihood); writes benchmark.json.

Example::

    gmvae-bench --out runs/bench_gmvae            # full, under an hour on 2 cores
    gmvae-bench --budget quick --out runs/bench_gmvae_quick
"""
import argparse
import sys

from common.cli import check_out_dir, cli_main, user_input
from gmvae.variants import VARIANTS


def build_parser():
    p = argparse.ArgumentParser(prog="gmvae-bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/bench_gmvae", help="output folder")
    p.add_argument("--budget", choices=["full", "quick"], default="full")
    p.add_argument("--data", dest="data_path", default=None,
                   help="MNIST path (default: the bundled 5,000-image subset)")
    p.add_argument("--seeds", type=int, nargs="+", default=None,
                   help="override the budget's seeds")
    p.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=None,
                   help="override the budget's variants")
    p.add_argument("--resume", action="store_true",
                   help="reuse the finished runs already in --out (same configuration)")
    p.add_argument("--throughput-only", action="store_true",
                   help="re-measure the throughput and update an existing "
                        "benchmark.json in --out (no training runs)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished benchmark in --out (default: refuse)")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an input error")
    return p


@cli_main("gmvae-bench")
def main(argv=None):
    args = build_parser().parse_args(argv)
    with user_input():
        check_out_dir(args.out, resume=args.resume or args.throughput_only,
                      overwrite=args.overwrite, marker="benchmark.json")
        if args.data_path is not None:
            from common.data import load_mnist
            load_mnist(args.data_path)    # a bad file is refused before any work
    from gmvae.benchmark import remeasure_throughput, run_benchmark  # heavy imports
    print(f"gmvae-bench: writing to {args.out}")
    if args.throughput_only:
        remeasure_throughput(args.out, data_path=args.data_path, verbose=not args.quiet)
        return 0
    run_benchmark(args.out, budget=args.budget, data_path=args.data_path,
                  seeds=args.seeds, variants=args.variants, verbose=not args.quiet,
                  resume=args.resume)
    return 0


if __name__ == "__main__":
    sys.exit(main())
