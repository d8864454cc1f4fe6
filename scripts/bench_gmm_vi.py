"""``gmm-vi-bench``: the N=100, K=3 benchmark of NVIL vs EM (see gmm_vi.benchmark).

Example::

    gmm-vi-bench --out runs/bench_gmm_vi            # 10 seeds
    gmm-vi-bench --quick --out runs/bench_quick     # 3 seeds, fewer draws

Writes benchmark.json and figures under --out.
"""
from __future__ import annotations

import argparse
import atexit
import gc
import os
import sys

from common.cli import UserError, check_out_dir, cli_main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="gmm-vi-bench", description=__doc__.split("\n")[0])
    p.add_argument("--out", default="runs/bench_gmm_vi", help="output folder")
    p.add_argument("--seeds", type=int, default=10, help="number of seeds 0..S-1 (default 10)")
    p.add_argument("--quick", action="store_true", help="3 seeds, fewer gradient draws")
    p.add_argument("--process-repeats", type=int, default=5,
                   help="times the whole `gmm-vi --n 100 --k 3` process and `python -c "
                        "\"import tensorflow\"` are each timed, interleaved (default 5; "
                        "0: skip)")
    p.add_argument("--threads", type=int, default=1, help="TensorFlow threads (default 1)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a finished benchmark in --out (default: refuse)")
    p.add_argument("--debug", action="store_true",
                   help="show the traceback of an input error")
    return p


@cli_main("gmm-vi-bench")
def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.seeds < 1:
        raise UserError(f"--seeds must be >= 1, got {args.seeds}")
    if args.process_repeats < 0:
        raise UserError(f"--process-repeats must be >= 0, got {args.process_repeats}")
    if args.threads < 1:
        raise UserError(f"--threads must be >= 1, got {args.threads}")
    check_out_dir(args.out, overwrite=args.overwrite, marker="benchmark.json")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf
    atexit.register(gc.freeze)   # skip collecting every traced graph at exit
    try:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    except RuntimeError:
        pass  # TensorFlow already started in this process (e.g. under pytest)
    from gmm_vi.benchmark import run_benchmark

    print(f"gmm-vi-bench: writing to {os.path.abspath(args.out)}")
    result = run_benchmark(args.out, seeds=range(args.seeds), quick=args.quick,
                           process_repeats=args.process_repeats)
    s = result["summary"]
    print(f"seeds passing (loglik within 0.01 of EM and means within 0.1 sigma): "
          f"{s['n_pass']}/{s['n_seeds']} (target met: {s['target_pass']})")
    print(f"median time to converge: VI {s['vi_train_seconds_median']:.2f} s "
          f"(+{s['vi_setup_seconds_median']:.1f} s compile), EM {s['em_seconds_median']:.3f} s")
    if "ablation_random_init_one_restart_n_pass" in s:
        print(f"ablation (random data-point init, one restart): "
              f"{s['ablation_random_init_one_restart_n_pass']}/{s['n_seeds']} seeds pass")
    if "final_ratio_min" in s:
        print(f"gradient variance REINFORCE/NVIL at the final state: median "
              f"{s['final_ratio_median']:.0f}, min {s['final_ratio_min']:.0f} "
              f"(target >= 10 met: {s['target_variance']})")
    pt = result.get("process_time")
    if pt:
        print(f"whole `{pt['command']}` process: median {pt['gmm_vi_median']:.2f} s vs "
              f"{pt['import_tf_median']:.2f} s for importing TensorFlow, i.e. "
              f"+{pt['overhead_seconds']:.2f} s (target <= +{pt['target_seconds']} s met: "
              f"{pt['target_met']}; {pt['repeats']} runs each, interleaved)")
    print(f"seeds' part of the benchmark: {result['wall_seconds']:.0f} s")
    print(f"results: {os.path.join(args.out, 'benchmark.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
