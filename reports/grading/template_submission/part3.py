"""Template submission, part 3: the package's GMVAE (``gmvae``) behind the
grading interface (see ``reports/grading/interface.py``).

The trained model lives in this folder, as a student's would: ``model/`` is
the output folder of a ``gmvae`` run on the grader's split (the bundled
subset, ``--n-test 1000 --seed 0``, the defaults), e.g.::

    gmvae --variant pretrain_aug --out reports/grading/template_submission/model

``setup()`` rebuilds the model from ``model/metrics.json``'s configuration
and restores the newest checkpoint in ``model/checkpoints/``.
"""
import json
from pathlib import Path

import numpy as np

MODEL_DIR = Path(__file__).resolve().parent / "model"
_model = None


def setup():
    """Load the trained GMVAE from ``model/`` (called once per check)."""
    global _model
    import tensorflow as tf

    from gmvae.config import GMVAEConfig
    from gmvae.model import GMVAE

    metrics_path = MODEL_DIR / "metrics.json"
    if not metrics_path.is_file():
        raise FileNotFoundError(f"no trained model: {metrics_path} is missing; train "
                                f"one with `gmvae --variant pretrain_aug --out {MODEL_DIR}`")
    fields = json.loads(metrics_path.read_text())["config"]
    # JSON turned the layer-size tuples into lists.
    config = GMVAEConfig.from_dict({k: tuple(v) if isinstance(v, list) else v
                                    for k, v in fields.items()})
    model = GMVAE(config)
    latest = tf.train.latest_checkpoint(str(MODEL_DIR / "checkpoints"))
    if latest is None:
        raise FileNotFoundError(f"no checkpoint in {MODEL_DIR / 'checkpoints'}")
    # expect_partial: the optimizer's slots are in the checkpoint too;
    # assert_existing_objects_matched: every model variable must be restored.
    tf.train.Checkpoint(model=model).restore(latest).expect_partial() \
        .assert_existing_objects_matched()
    _model = model


def generate(n_per_cluster, seed):
    """[K, n_per_cluster, 784] Bernoulli means in [0, 1]: row k from z = k."""
    return _model.sample_per_cluster(int(n_per_cluster), seed=int(seed))


def assign(images):
    """images [n, 784] in [0, 1] -> [n] cluster ids argmax_z p(z | h = E q(h|x)),
    on a fixed binarisation as the package evaluates."""
    from common.data import binarize_fixed
    from gmvae.evaluation import cluster_assignments

    ids, _ = cluster_assignments(_model, binarize_fixed(np.asarray(images), seed=1))
    return ids
