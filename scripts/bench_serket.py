"""Benchmark the Serket VAE+GMM tutorial: wall time, accuracy and NMI per round.

    serket-bench --out runs/bench_serket

Writes metrics.json, accuracy_per_round.png and pca_z_seed*.png to --out.
"""
from __future__ import annotations

import argparse

from common.cli import check_out_dir, cli_main, user_input

from gmvae.serket.config import TutorialConfig


def build_parser() -> argparse.ArgumentParser:
    d = TutorialConfig()
    p = argparse.ArgumentParser(prog="serket-bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/bench_serket", help="output folder")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    p.add_argument("--n-images", type=int, default=3000)
    p.add_argument("--data", dest="data_path", default=None,
                   help="MNIST to draw the class-balanced images from (IDX folder, "
                        "mnist.npz, ZhuSuan's mnist.pkl.gz, Serket data.txt; the "
                        "training part of an official split); default: the bundled "
                        "5,000-image subset")
    p.add_argument("--itr", type=int, default=d.itr)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--rounds", type=int, default=d.n_rounds)
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished benchmark in --out (default: refuse)")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an input error")
    return p


@cli_main("serket-bench")
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    with user_input():
        TutorialConfig(itr=args.itr, batch_size=args.batch_size, n_rounds=args.rounds)
        if args.data_path is not None:
            from gmvae.serket.config import mnist_subset
            mnist_subset(args.n_images, path=args.data_path)   # refused before any work
        check_out_dir(args.out, overwrite=args.overwrite)
    from common.training import ensure_outdir   # TensorFlow from here on
    from gmvae.serket.benchmark import run_benchmark
    out = ensure_outdir(args.out)
    print(f"output folder: {out}")
    config = TutorialConfig(itr=args.itr, batch_size=args.batch_size, n_rounds=args.rounds)
    res = run_benchmark(out, seeds=args.seeds, n_images=args.n_images, config=config,
                        data_path=args.data_path)
    m = res["median"]
    print(f"median over seeds {res['seeds']}: final accuracy {m['final_accuracy']:.4f}, "
          f"NMI {m['final_nmi']:.4f}, {m['total_seconds']:.1f} s "
          f"(plain GMM on round-1 latents: {m['sklearn_gmm_round1_accuracy']:.4f})")
    sp, t = res["spread"], res["targets"]
    print(f"worst seed {sp['worst_seed']}: {sp['worst_accuracy']:.4f}, best seed "
          f"{sp['best_seed']}: {sp['best_accuracy']:.4f} (range {sp['range']:.4f}); "
          f"slowest seed {sp['max_seconds']:.1f} s")
    print(f"targets met: time {t['time_met']}, median accuracy {t['accuracy_met']}, "
          f"worst seed {t['worst_met']}; wrote {out / 'metrics.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
