"""Reading ZhuSuan's ``mnist.pkl.gz`` without letting the file run code.

A pickle is a small program: loading one may call any importable function
(``os.system`` included).  MNIST pickles need only what rebuilds numpy arrays,
so :class:`ArrayOnlyUnpickler` resolves nothing else and refuses the file at
the first other name it asks for, before anything is called.

The file (Python 2's ``cPickle``, read with ``encoding="latin1"`` as ZhuSuan's
``load_mnist_realval`` does) holds ``(train, valid, test)``, each a pair
``(images [N, 784] float32 in [0, 1], labels [N] int64)``.
"""
from __future__ import annotations

import gzip
import importlib
import os
import pickle
from pathlib import Path
from typing import Union

from .errors import DataFormatError

__all__ = ["ArrayOnlyUnpickler", "load_array_pickle", "ALLOWED_GLOBALS"]

PathLike = Union[str, os.PathLike]

# (module as written in the pickle, name) -> (module to import, attribute).
# numpy 2 moved numpy.core to numpy._core; pickles of either era name either.
_NUMPY_CORE = "numpy._core" if importlib.util.find_spec("numpy._core") else "numpy.core"
ALLOWED_GLOBALS = {
    ("numpy", "ndarray"): ("numpy", "ndarray"),
    ("numpy", "dtype"): ("numpy", "dtype"),
    # Protocol-2 pickles written by Python 3 store bytes as
    # _codecs.encode(text, "latin1"): a pure function.
    ("_codecs", "encode"): ("_codecs", "encode"),
}
for _core in ("numpy.core", "numpy._core"):
    ALLOWED_GLOBALS[(f"{_core}.multiarray", "_reconstruct")] = (
        f"{_NUMPY_CORE}.multiarray", "_reconstruct")
    ALLOWED_GLOBALS[(f"{_core}.multiarray", "scalar")] = (f"{_NUMPY_CORE}.multiarray",
                                                          "scalar")
    ALLOWED_GLOBALS[(f"{_core}.numeric", "_frombuffer")] = (f"{_NUMPY_CORE}.numeric",
                                                            "_frombuffer")


class ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and nothing else.

    ``source`` names the file in the error raised for any other global.
    """

    def __init__(self, file, source: PathLike, **kwargs):
        super().__init__(file, **kwargs)
        self.source = source

    def find_class(self, module, name):
        target = ALLOWED_GLOBALS.get((module, name))
        if target is None:
            raise DataFormatError(
                f"{self.source}: refused: the pickle asks for {module}.{name}, but an "
                "MNIST pickle may only hold numpy arrays (loading it could run code)")
        return getattr(importlib.import_module(target[0]), target[1])


def load_array_pickle(path: PathLike):
    """Load a (gzip-compressed when named ``*.gz``) pickle of numpy arrays.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        DataFormatError: the file is not a readable pickle, or it asks for
            anything but numpy's array reconstruction.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"MNIST file not found: {path}")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            return ArrayOnlyUnpickler(fh, path, encoding="latin1").load()
    except DataFormatError:
        raise
    except (pickle.UnpicklingError, EOFError, OSError, ValueError, TypeError,
            AttributeError, IndexError, KeyError) as exc:
        raise DataFormatError(f"{path}: not a readable pickle of numpy arrays "
                              f"({type(exc).__name__}: {exc})") from exc
