import numpy as np
import pytest

from common.validation import check_int, check_number, is_int


def test_check_int_accepts_python_and_numpy_integers():
    assert check_int("n", 3) == 3 and check_int("n", np.int64(0), 0) == 0
    assert is_int(np.int32(2)) and not is_int(True) and not is_int(2.0)


@pytest.mark.parametrize("value", [0, -1, 2.0, True, "3", None])
def test_check_int_names_argument_and_bound(value):
    with pytest.raises(ValueError, match=r"^epochs must be an integer >= 1, got"):
        check_int("epochs", value)


def test_check_number_bounds_and_finiteness():
    assert check_number("w", 0) == 0.0 and check_number("lr", 1e-3, strict=True) == 1e-3
    for bad in (-1e-9, float("nan"), float("inf"), True, "1"):
        with pytest.raises(ValueError, match=r"^w must be a finite number >= 0, got"):
            check_number("w", bad)
    with pytest.raises(ValueError, match=r"^lr must be a finite number > 0, got"):
        check_number("lr", 0.0, strict=True)
