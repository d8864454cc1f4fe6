"""The tutorial's settings and its default data (numpy only: no TensorFlow, so
the ``serket-vae-gmm`` CLI checks its input before anything heavy starts)."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from common.data import read_mnist
from common.validation import check_int

__all__ = ["TutorialConfig", "mnist_subset"]


@dataclass(frozen=True)
class TutorialConfig:
    """The tutorial's settings (defaults as in Serket's VAE+GMM tutorial).

    Attributes:
        latent_dim: VAE latent dimension (18).
        itr: VAE passes over the data per update (200).
        batch_size: VAE minibatch size (500).
        k: number of GMM classes (10).
        n_rounds: VAE/GMM update rounds (5).
        seed: seeds both modules.
        verbose: progress bars.
        vae_options / gmm_options: extra keyword settings of the modules
            (see VAEConfig / GMMConfig), e.g. {"learning_rate": 1e-3}.
    """
    latent_dim: int = 18
    itr: int = 200
    batch_size: int = 500
    k: int = 10
    n_rounds: int = 5
    seed: int = 0
    verbose: bool = False
    vae_options: dict = field(default_factory=dict)
    gmm_options: dict = field(default_factory=dict)

    def __post_init__(self):
        for name in ("latent_dim", "itr", "batch_size", "k", "n_rounds"):
            check_int("K (the number of classes)" if name == "k" else name,
                      getattr(self, name), 1)


def mnist_subset(n_images: int = 3000, seed: int = 0, path=None
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A class-balanced subset of MNIST (default: the bundled 5,000 images).

    Read through the one MNIST loader (:func:`common.data.read_mnist`, any
    format it takes); from data with an official split only the training
    part is used, so the test images stay unseen (the tutorial fits and
    scores the same images).

    Returns images [n, 784] float32 in [0, 1] and labels [n] int64, shuffled
    with ``seed``; ``n_images // n_classes`` per class (the rest drawn at
    random), like Serket's 3,000-image data.txt.
    """
    data = read_mnist(path)
    images, labels = data.train_images, data.train_labels
    check_int("n_images", n_images, 1)
    if n_images > images.shape[0]:
        raise ValueError(f"n_images = {n_images} exceeds the {images.shape[0]} images available")
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    per = n_images // classes.size
    chosen = [rng.permutation(np.flatnonzero(labels == c))[:per] for c in classes]
    idx = np.concatenate(chosen)
    if idx.size < n_images:
        rest = np.setdiff1d(np.arange(labels.size), idx)
        idx = np.concatenate([idx, rng.choice(rest, n_images - idx.size, replace=False)])
    idx = rng.permutation(idx)
    return images[idx], labels[idx]
