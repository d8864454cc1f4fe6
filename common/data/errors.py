"""Exceptions raised by the data loaders."""

__all__ = ["DataFormatError"]


class DataFormatError(ValueError):
    """A data file exists but its contents are not in the expected format.

    The message names the file and what was expected (magic number, sizes,
    row length, label count, ...).
    """
