"""Run Serket's VAE+GMM tutorial loop and print the accuracy per round.

    serket-vae-gmm --data data.txt --category category.txt --out runs/serket_vae_gmm

Without --data, a class-balanced subset (--n-images, default 3,000) of the
bundled MNIST is used; --data with a full MNIST (IDX folder, mnist.npz,
ZhuSuan's mnist.pkl.gz) draws that subset from its training part.  Module folders (module001_vae/, module002_gmm/) and
metrics.json go to --out.
"""
from __future__ import annotations

import argparse

from common.cli import UserError, check_out_dir, cli_main, user_input
from common.data import load_serket_txt
from gmvae.serket.config import TutorialConfig, mnist_subset


def build_parser() -> argparse.ArgumentParser:
    d = TutorialConfig()
    p = argparse.ArgumentParser(prog="serket-vae-gmm", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", help="Serket data.txt (one observation per line, all used), "
                   "or a full MNIST (IDX folder, mnist.npz, mnist.pkl.gz) to draw "
                   "--n-images from (default: the bundled MNIST subset)")
    p.add_argument("--category", help="category.txt: one integer label per line")
    p.add_argument("--n-images", type=int, default=3000,
                   help="size of the class-balanced MNIST subset (not for a data.txt)")
    p.add_argument("--out", default="runs/serket_vae_gmm", help="output folder")
    p.add_argument("--latent-dim", type=int, default=d.latent_dim)
    p.add_argument("--itr", type=int, default=d.itr, help="VAE passes over the data per update")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--k", type=int, default=d.k, help="number of GMM classes")
    p.add_argument("--rounds", type=int, default=d.n_rounds)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished run in --out (default: refuse)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an input error")
    return p


@cli_main("serket-vae-gmm")
def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.category and not args.data:
        raise UserError("--category needs --data (the bundled MNIST brings its own "
                        "labels)")
    with user_input():
        config = TutorialConfig(latent_dim=args.latent_dim, itr=args.itr,
                                batch_size=args.batch_size, k=args.k,
                                n_rounds=args.rounds, seed=args.seed,
                                verbose=not args.quiet)
        if args.data and (args.category or args.data.endswith(".txt")):
            # The tutorial's own files: any observation length, labels optional.
            data, labels = load_serket_txt(args.data, args.category)
        else:
            # The bundled subset or a user's MNIST in any format the loader reads.
            data, labels = mnist_subset(args.n_images, seed=0, path=args.data)
        if config.k > len(data):
            raise UserError(f"--k {config.k} is larger than the {len(data)} observations")
        check_out_dir(args.out, overwrite=args.overwrite)
    from common.training import ensure_outdir, write_json   # TensorFlow from here on
    from gmvae.serket.tutorial import run_tutorial
    out = ensure_outdir(args.out)
    print(f"output folder: {out}")

    def show(rec):
        acc = f"accuracy {rec['accuracy']:.4f}  NMI {rec['nmi']:.4f}  " if "accuracy" in rec else ""
        print(f"round {rec['round'] + 1}: {acc}{rec['seconds']:.1f} s", flush=True)

    res = run_tutorial(data, labels, root=out, config=config, on_round=show)
    print(f"total {res['total_seconds']:.1f} s")
    write_json(out / "metrics.json", {"config": res["config"], "rounds": res["rounds"],
                                      "total_seconds": res["total_seconds"],
                                      "module_dirs": res["module_dirs"]})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
