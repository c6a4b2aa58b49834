"""distillsr.imaging.rounding: MATLAB's cast to an integer class (round half away from zero, saturate).

The reference is Python's ``decimal`` (exact for every float), not NumPy's rounding.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pytest

from distillsr.imaging.rounding import matlab_cast

DTYPES = [np.uint8, np.uint16, np.int8, np.int16, np.int32]


def matlab_reference(value: float, dtype) -> int:
    """MATLAB ``uint8(x)`` etc.: nearest integer, ties away from zero (decimal's ROUND_HALF_UP), saturated."""
    info = np.iinfo(dtype)
    if np.isinf(value):
        return int(info.max) if value > 0 else int(info.min)
    rounded = int(Decimal(value).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    return min(max(rounded, int(info.min)), int(info.max))


@pytest.mark.parametrize(
    "value,expected",
    [(0.5, 1), (1.5, 2), (2.5, 3), (254.5, 255), (255.5, 255), (-0.5, 0), (-0.4, 0), (0.49, 0),
     (127.4999, 127), (300.0, 255), (-7.0, 0), (np.inf, 255), (-np.inf, 0)],
)
def test_uint8_hand_picked(value, expected):
    result = matlab_cast(np.array([value]), np.uint8)
    assert result.dtype == np.uint8 and int(result[0]) == expected


@pytest.mark.parametrize(
    "value,expected",
    [(-0.5, -1), (-1.5, -2), (-2.5, -3), (2.5, 3), (-128.5, -128), (127.5, 127), (-0.49, 0)],
)
def test_int8_ties_go_away_from_zero_on_both_sides(value, expected):
    assert int(matlab_cast(np.array([value]), np.int8)[0]) == expected


def test_numpy_would_get_these_wrong():
    """The reason this module exists: astype truncates and wraps, np.round goes half to even."""
    values = np.array([2.5, 3.5, 256.0, -1.0])
    assert matlab_cast(values, np.uint8).tolist() == [3, 4, 255, 0]
    assert np.round(values[:2]).tolist() == [2.0, 4.0]


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_values_and_ties_match_the_reference(rng, dtype):
    info = np.iinfo(dtype)
    span = float(min(info.max, 70000))
    values = np.concatenate([
        rng.uniform(-span * 1.1, span * 1.1, 500),
        np.arange(-40, 40) + 0.5,  # every tie near zero
        [info.max - 0.5, info.max + 0.5, info.min - 0.5, info.min + 0.5, 0.0, -0.0],
    ])
    result = matlab_cast(values, dtype)
    assert result.dtype == dtype and result.shape == values.shape
    assert result.tolist() == [matlab_reference(float(v), dtype) for v in values]


def test_shape_is_kept_and_uint16_saturates(rng):
    values = rng.uniform(0, 65535, (3, 4, 2))
    values[0, 0, 0], values[2, 3, 1] = -10.0, 70000.0
    result = matlab_cast(values, np.uint16)
    assert result.shape == (3, 4, 2)
    assert result[0, 0, 0] == 0 and result[2, 3, 1] == 65535


def test_the_largest_double_below_one_half_rounds_down():
    below_half = np.nextafter(0.5, 0.0)
    assert matlab_reference(below_half, np.int8) == 0
    assert matlab_cast(np.array([below_half, -below_half]), np.int8).tolist() == [0, 0]
