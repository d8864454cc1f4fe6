"""Data: synthetic Gaussian mixtures, MNIST loaders, binarisation and batching."""
from .binarize import batch_iterator, binarize_dynamic, binarize_fixed
from .errors import DataFormatError
from .gmm import GMMParams, default_gmm_params, random_gmm_params, sample_gmm
from .mnist import (DEFAULT_N_TEST, SPLITS, MNISTData, MNISTSplit, check_split_request,
                    load_mnist, load_mnist_split, load_serket_txt, read_mnist, split_mnist,
                    train_test_split, validate_images)

__all__ = [
    "GMMParams", "random_gmm_params", "default_gmm_params", "sample_gmm",
    "load_mnist", "read_mnist", "load_mnist_split", "split_mnist", "check_split_request",
    "MNISTData", "MNISTSplit", "SPLITS", "DEFAULT_N_TEST",
    "load_serket_txt", "train_test_split", "validate_images",
    "binarize_fixed", "binarize_dynamic", "batch_iterator", "DataFormatError",
]
