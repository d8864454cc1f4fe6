"""``gmvae``: train and evaluate the Gaussian-mixture VAE on MNIST.

Example::

    gmvae --epochs 100 --out runs/gmvae
    gmvae --variant pretrain --pull-weight 1 --out runs/gmvae_pull
    gmvae --labels-per-class 10 --out runs/gmvae_semi
    gmvae --epochs 200 --out runs/gmvae --resume
"""
import argparse
import sys

from common.cli import check_out_dir, cli_main, user_input
from gmvae.config import GMVAEConfig
from gmvae.data import load_data
from gmvae.variants import VARIANTS, variant_config

DEFAULTS = GMVAEConfig()


def _sizes(text):
    try:
        sizes = tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")
    if not sizes:
        raise argparse.ArgumentTypeError("expected at least one layer size")
    return sizes


def build_parser():
    p = argparse.ArgumentParser(prog="gmvae", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", default="runs/gmvae", help="output folder (default runs/gmvae)")
    p.add_argument("--resume", action="store_true",
                   help="continue from the newest checkpoint in --out")
    p.add_argument("--variant", choices=sorted(VARIANTS), default="plain",
                   help="preset of collapse-avoidance / regularisers (see gmvae.variants); "
                        "the flags below override it")
    p.add_argument("--data", dest="data_path", default=None,
                   help="MNIST path (IDX dir/file, mnist.npz, ZhuSuan's mnist.pkl.gz, "
                        "Serket data.txt); default: the bundled 5,000-image subset")
    p.add_argument("--split", choices=["official", "random"], default=None,
                   help="official: the data's own train/test parts (IDX train/t10k, "
                        "npz x_train/x_test, pkl.gz train+valid/test); random: a seeded "
                        "hold-out of --n-test images (default: official where the data "
                        "has one, else random)")
    p.add_argument("--seed", type=int, default=DEFAULTS.seed)
    p.add_argument("--epochs", type=int, default=None,
                   help=f"GMVAE epochs (default: the variant's, else {DEFAULTS.epochs})")
    p.add_argument("-K", "--n-clusters", type=int, default=DEFAULTS.n_clusters)
    p.add_argument("-D", "--latent-dim", type=int, default=DEFAULTS.latent_dim)
    p.add_argument("--enc-hidden", type=_sizes, default=DEFAULTS.enc_hidden,
                   help="encoder hidden sizes, e.g. 500,500")
    p.add_argument("--dec-hidden", type=_sizes, default=DEFAULTS.dec_hidden,
                   help="decoder hidden sizes, e.g. 500,500")
    p.add_argument("--prior", choices=["mixture", "normal"], default=DEFAULTS.prior,
                   help="'normal' trains the plain-VAE baseline")
    p.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size)
    p.add_argument("--lr", dest="learning_rate", type=float, default=None,
                   help=f"Adam step size (default: the variant's, else "
                        f"{DEFAULTS.learning_rate})")
    p.add_argument("--final-lr", dest="final_learning_rate", type=float, default=None,
                   help="decay the step size to this value over the last "
                        "--lr-decay-epochs epochs (default: the variant's, else constant)")
    p.add_argument("--steps-per-call", type=int, default=DEFAULTS.steps_per_call)
    p.add_argument("--jit", dest="jit_compile", action="store_true",
                   help="XLA-compile the training call")
    p.add_argument("--strategy", choices=["one_device", "mirrored", "multi_worker"],
                   default=DEFAULTS.strategy)
    for name in ("pretrain_epochs", "pi_fixed_epochs", "labels_per_class", "n_neighbours",
                 "lr_decay_epochs", "n_init", "prior_em_epochs", "generative_per_cluster"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=None)
    for name in ("pull_weight", "balance_weight", "entropy_weight", "neighbour_weight",
                 "augment_weight", "augment_rotation", "augment_shear", "labelled_weight",
                 "generative_weight"):
        p.add_argument("--" + name.replace("_", "-"), type=float, default=None)
    p.add_argument("--labelled-augment", action=argparse.BooleanOptionalAction,
                   default=None,
                   help="distort the labelled images (rotation, shear, scale, shift) "
                        "each time they are drawn (default: the variant's)")
    p.add_argument("--n-test", type=int, default=None,
                   help="held-out images of --split random (default 1000)")
    p.add_argument("--epoch-images", type=int, default=None,
                   help="images per epoch, drawn afresh each epoch (default: the "
                        "variant's, 4000 for every preset, so that its epochs are the "
                        "same number of steps on any data size; 0 = a whole pass)")
    p.add_argument("--max-train", type=int, default=None)
    p.add_argument("--is-samples", type=int, default=DEFAULTS.is_samples,
                   help="importance samples for the test log-likelihood")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished run in --out (default: refuse)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an input error")
    return p


def config_from_args(args) -> GMVAEConfig:
    overrides = {k: getattr(args, k) for k in (
        "pretrain_epochs", "pi_fixed_epochs", "labels_per_class", "pull_weight",
        "balance_weight", "entropy_weight", "neighbour_weight", "augment_weight",
        "augment_rotation", "augment_shear", "labelled_weight", "n_neighbours", "epochs", "learning_rate",
        "final_learning_rate", "lr_decay_epochs", "n_init", "prior_em_epochs",
        "labelled_augment", "generative_weight", "generative_per_cluster")
        if getattr(args, k) is not None}
    if args.epoch_images is not None:
        overrides["epoch_images"] = args.epoch_images or None
    return variant_config(
        args.variant, n_clusters=args.n_clusters, latent_dim=args.latent_dim,
        enc_hidden=args.enc_hidden, dec_hidden=args.dec_hidden, prior=args.prior,
        batch_size=args.batch_size, steps_per_call=args.steps_per_call, jit_compile=args.jit_compile,
        strategy=args.strategy, seed=args.seed, data_path=args.data_path,
        split=args.split, n_test=args.n_test, max_train=args.max_train, is_samples=args.is_samples,
        verbose=not args.quiet, **overrides)


@cli_main("gmvae")
def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.resume and args.overwrite:
        parser.error("--resume and --overwrite exclude each other")
    # Every check (flags, data files, sizes, output folder) before TensorFlow.
    with user_input():
        config = config_from_args(args)
        data = load_data(config)
        out = check_out_dir(args.out, resume=args.resume, overwrite=args.overwrite)
        if args.resume:
            config.check_resumable(out)
    from gmvae.run import run, summary_line  # heavy import after every check
    print(f"gmvae: data: {data.info['description']}")
    print(f"gmvae: writing to {out}")
    metrics = run(config, out, resume=args.resume, data=data)
    print(summary_line(metrics))
    print(f"gmvae: metrics and figures in {metrics['out_dir']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
