"""``gmvae-bench``: the GMVAE benchmark (clustering over seeds, semi-supervised,
throughput beside the plain VAE, test log-likelihood); writes benchmark.json.

Example::

    gmvae-bench --out runs/bench_gmvae            # full, under an hour on 2 cores
    gmvae-bench --budget quick --out runs/bench_gmvae_quick
    gmvae-bench --full-size --out runs/bench_fullsize   # one 60,000-image run, timed
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
    p.add_argument("--split", choices=["official", "random"], default=None,
                   help="official: the data's own train/test parts; random: a seeded "
                        "1,000-image hold-out per seed (default: official where the "
                        "data has one)")
    p.add_argument("--full-size", action="store_true",
                   help="time one --full-size-variant run on a 60,000 / 10,000-image "
                        "stand-in of the official MNIST made from the bundled subset "
                        "(whole process under /usr/bin/time -v); writes fullsize.json")
    p.add_argument("--full-size-variant", choices=sorted(VARIANTS), default="pretrain_aug")
    p.add_argument("--full-size-shift", type=int, default=0, choices=range(0, 4),
                   metavar="{0..3}",
                   help="shift every copy of the stand-in by up to this many pixels "
                        "(default 0: exact copies, the bundled split's distribution)")
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
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.full_size and (args.data_path or args.split or args.throughput_only):
        parser.error("--full-size makes its own data: --data, --split and "
                     "--throughput-only do not apply")
    with user_input():
        check_out_dir(args.out, resume=args.resume or args.throughput_only,
                      overwrite=args.overwrite,
                      marker="fullsize.json" if args.full_size else "benchmark.json")
        if args.data_path is not None or args.split is not None:
            from common.data import load_mnist_split
            # A bad file or an impossible split is refused before any work.
            load_mnist_split(args.data_path, split=args.split)
    if args.full_size:
        return _full_size(args)
    from gmvae.benchmark import remeasure_throughput, run_benchmark  # heavy imports
    print(f"gmvae-bench: writing to {args.out}")
    if args.throughput_only:
        remeasure_throughput(args.out, data_path=args.data_path, verbose=not args.quiet)
        return 0
    run_benchmark(args.out, budget=args.budget, data_path=args.data_path,
                  seeds=args.seeds, variants=args.variants, verbose=not args.quiet,
                  resume=args.resume, split=args.split)
    return 0


def _full_size(args):
    """The full-size benchmark, beside the committed bundled-split run of the
    same scheme (reports/results/gmvae_bench.json, when present)."""
    from pathlib import Path

    from common.training import read_json
    from gmvae.fullsize import reference_from_benchmark, run_fullsize_benchmark

    seed = args.seeds[0] if args.seeds else 0
    reference = None
    committed = Path(__file__).resolve().parents[1] / "reports" / "results" / \
        "gmvae_bench.json"
    if committed.is_file():
        reference = reference_from_benchmark(read_json(committed),
                                             args.full_size_variant, seed)
        if reference is not None:
            reference["from"] = str(committed)
    print(f"gmvae-bench: full-size run, writing to {args.out}")
    run_fullsize_benchmark(args.out, variant=args.full_size_variant, seed=seed,
                           max_shift=args.full_size_shift, reference=reference,
                           verbose=not args.quiet)
    return 0


if __name__ == "__main__":
    sys.exit(main())
