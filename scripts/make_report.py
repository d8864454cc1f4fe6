"""make-report: run (or reuse) the experiments and write the assignment reports."""
import argparse
import os
import sys

from common.cli import UserError, check_out_dir, cli_main, user_input

#: The experiments of reports.build.EXPERIMENTS (checked there too).
EXPERIMENT_NAMES = ("gmm_run", "gmm_bench", "gmm_sweep", "gmvae_bench", "gmvae_fullsize",
                    "serket_bench")


@cli_main("make-report")
def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="make-report",
        description="Run or reuse every experiment the reports quote, then "
                    "write part2_gmm_vi.md and part3_gmvae.md with their "
                    "figures/ and results/ (JSON).")
    parser.add_argument("--budget", choices=("quick", "full"), default="quick",
                        help="quick: minutes, small models and few seeds; "
                             "full: the sizes the targets are stated for "
                             "(default: quick)")
    parser.add_argument("--out", default=None,
                        help="output folder (default: reports/ for the full "
                             "budget, runs/report for quick)")
    parser.add_argument("--work-dir", default=None,
                        help="scratch folder for the runs' own outputs "
                             "(default: runs/report_work/<budget>)")
    parser.add_argument("--only", nargs="+", metavar="EXPERIMENT",
                        help="run or reuse only these experiments (gmm_run, "
                             "gmm_bench, gmm_sweep, gmvae_bench, gmvae_fullsize, "
                             "serket_bench)")
    parser.add_argument("--render-only", action="store_true",
                        help="only re-render the reports from existing results")
    parser.add_argument("--resume", action="store_true",
                        help="keep the GMVAE benchmark's finished runs whose "
                             "configuration is unchanged (training is "
                             "deterministic) and run only the rest, e.g. after "
                             "a kill or a change of one preset")
    parser.add_argument("--data", dest="data_path", default=None,
                        help="MNIST for the part-3 experiments (IDX folder, mnist.npz, "
                             "ZhuSuan's mnist.pkl.gz, Serket data.txt; default: the "
                             "bundled 5,000-image subset)")
    parser.add_argument("--split", choices=("official", "random"), default=None,
                        help="official: the data's own train/test parts; random: a "
                             "seeded hold-out (default: official where the data has one)")
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--debug", action="store_true",
                        help="show the traceback of an input error")
    args = parser.parse_args(argv)
    out = args.out or ("reports" if args.budget == "full" else "runs/report")
    unknown = sorted(set(args.only or ()) - set(EXPERIMENT_NAMES))
    if unknown:
        raise UserError(f"--only: unknown experiment(s) {unknown}; choose from "
                        f"{list(EXPERIMENT_NAMES)}")
    with user_input():
        # make-report reuses its own folders by design: only their paths are checked.
        check_out_dir(out, marker=None)
        if args.work_dir:
            check_out_dir(args.work_dir, option="--work-dir", marker=None)
        data = None
        if args.data_path is not None or args.split is not None:
            from common.data import load_mnist_split
            # A bad file or an impossible split is refused before any work.
            load_mnist_split(args.data_path, split=args.split)
            data = {"path": args.data_path, "split": args.split}
    if args.render_only:
        missing = [n for n in ("meta",) + EXPERIMENT_NAMES
                   if not os.path.isfile(os.path.join(out, "results", n + ".json"))]
        if missing:
            raise UserError(f"--render-only: {out}/results lacks {missing}; run "
                            f"make-report without --render-only first")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    from reports.build import build_reports, render_reports

    if args.render_only:
        paths = render_reports(out)
    else:
        command = "make-report " + " ".join(argv if argv is not None
                                            else sys.argv[1:])
        paths = build_reports(out, args.budget, work_dir=args.work_dir,
                              command=command.strip(), verbose=not args.quiet,
                              only=args.only, resume=args.resume, data=data)
    if not paths:
        print(f"results under {os.path.abspath(out)}/results; reports not "
              "rendered yet (some experiments have no results)")
        return 0
    print(f"reports written under {os.path.abspath(out)}:")
    for p in paths:
        print(f"  {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
