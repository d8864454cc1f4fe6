"""The GMVAE's data: MNIST loaded and split, with every size checked before
TensorFlow starts (this module imports numpy only)."""
from __future__ import annotations

import numpy as np

from common.data import load_mnist, train_test_split

from .config import GMVAEConfig

__all__ = ["load_data", "check_sizes"]


def load_data(config: GMVAEConfig):
    """(x_train, y_train, x_test, y_test) from ``config.data_path`` (None: the
    bundled 5,000-image subset), split with ``config.seed``; ``max_train``
    applied.  Raises ValueError / DataFormatError naming the problem."""
    images, labels = load_mnist(config.data_path)
    if images.shape[1] != config.n_pixels:
        raise ValueError(f"images have {images.shape[1]} pixels, config expects "
                         f"{config.n_pixels}")
    if config.n_test >= len(images):
        raise ValueError(f"--n-test {config.n_test} must be smaller than the "
                         f"{len(images)} images")
    x_tr, y_tr, x_te, y_te = train_test_split(images, labels, n_test=config.n_test,
                                              seed=config.seed)
    if config.max_train is not None:
        x_tr, y_tr = x_tr[:config.max_train], y_tr[:config.max_train]
    check_sizes(config, len(x_tr), y_tr)
    return x_tr, y_tr, x_te, y_te


def check_sizes(config: GMVAEConfig, n_train: int, y_train=None) -> None:
    """The training set must fill one batch, and a semi-supervised run needs
    labels for every class it observes."""
    if n_train < config.batch_size:
        raise ValueError(f"--batch-size {config.batch_size} is larger than the "
                         f"{n_train} training images")
    if config.semi_supervised:
        if y_train is None:
            raise ValueError("--labels-per-class needs labelled training images")
        counts = np.bincount(np.asarray(y_train, np.int64))
        short = [c for c, n in enumerate(counts) if 0 < n < config.labels_per_class]
        if short:
            raise ValueError(f"--labels-per-class {config.labels_per_class}: class(es) "
                             f"{short} have fewer training images than that")
