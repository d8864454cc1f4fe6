"""Part 2: variational inference for a 2-D Gaussian mixture with NVIL.

Modules, one job each:

* :mod:`gmm_vi.config` — ``GMMVIConfig`` (every setting, documented defaults)
  and input validation;
* :mod:`gmm_vi.model` — the generative net (``bn.onehot_categorical("z")``,
  ``bn.normal("x")``);
* :mod:`gmm_vi.inference` — q(z|x) (amortised net or free logits) and NVIL's
  baseline net;
* :mod:`gmm_vi.estimators` — NVIL (``zs.nvil``), plain REINFORCE and the exact
  (enumerated) ELBO gradient;
* :mod:`gmm_vi.learning` — initialisation, compiled training loop, restarts,
  convergence: ``fit(x, config) -> FitResult``;
* :mod:`gmm_vi.evaluation` — EM reference and comparisons;
* :mod:`gmm_vi.experiment` — one full run with outputs: ``run(...) -> dict``;
* :mod:`gmm_vi.benchmark` — ``run_benchmark(out_dir, seeds, quick) -> dict``;
* :mod:`gmm_vi.sweep` — ``run_sweep(SweepConfig, out_dir) -> dict``.
"""
