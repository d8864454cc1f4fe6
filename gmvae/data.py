"""The GMVAE's data: MNIST loaded and split, with every size checked before
TensorFlow starts (this module imports numpy only)."""
from __future__ import annotations

import numpy as np

from common.data import MNISTSplit, load_mnist_split

from .config import GMVAEConfig

__all__ = ["load_data", "check_sizes"]


def load_data(config: GMVAEConfig) -> MNISTSplit:
    """The training and test images of ``config`` through the one MNIST loader
    (:func:`common.data.load_mnist_split`): ``config.data_path`` (None: the
    bundled 5,000-image subset), its official split where it has one unless
    ``config.split`` says otherwise, a random split seeded with ``config.seed``;
    ``max_train`` applied.  ``.info`` says which split, with its sizes.
    Raises ValueError / DataFormatError naming the problem."""
    data = load_mnist_split(config.data_path, split=config.split, n_test=config.n_test,
                            seed=config.seed)
    if data.x_train.shape[1] != config.n_pixels:
        raise ValueError(f"images have {data.x_train.shape[1]} pixels, config expects "
                         f"{config.n_pixels}")
    data = data.limit_train(config.max_train)
    check_sizes(config, len(data.x_train), data.y_train)
    return data


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
