"""Tests for distillsr.imaging.pixels: integer pixels <-> [0, 1] floats."""

from __future__ import annotations

import numpy as np
import pytest

from distillsr.errors import DistillsrError, NonFiniteValuesError
from distillsr.imaging.pixels import from_float, full_scale, to_float


@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("u1", 255), ("u2", 65535), (">u2", 65535), ("<u2", 65535), ("u4", None), ("i2", None), ("f4", None)],
)
def test_full_scale_covers_uint8_and_uint16_in_either_byte_order(dtype: str, expected: int | None) -> None:
    assert full_scale(np.dtype(dtype)) == expected


@pytest.mark.parametrize(("dtype", "max_value"), [(np.uint8, 255), (np.uint16, 65535)])
def test_to_float_scales_by_dtype(dtype: type, max_value: int) -> None:
    result = to_float(np.array([0, 1, max_value], dtype=dtype))
    assert result.dtype == np.float64
    np.testing.assert_allclose(result, [0.0, 1.0 / max_value, 1.0])


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_float_round_trip_is_exact_for_every_value(dtype: type) -> None:
    values = np.arange(np.iinfo(dtype).max + 1).astype(dtype)
    np.testing.assert_array_equal(from_float(to_float(values), dtype), values)


def test_from_float_clips_and_rounds_half_up() -> None:
    values = np.array([-0.3, 0.0, 0.5 / 255, 2.5 / 255, 1.0, 1.7])
    result = from_float(values, np.uint8)
    assert result.dtype == np.uint8
    # numpy's half-to-even rounding would give 0 and 2 for the two half-way values.
    np.testing.assert_array_equal(result, [0, 0, 1, 3, 255, 255])


def test_from_float_uint16() -> None:
    result = from_float(np.array([0.5, 0.5 / 65535]), np.uint16)
    assert result.dtype == np.uint16
    np.testing.assert_array_equal(result, [32768, 1])


def test_from_float_clips_infinities_like_any_overshoot() -> None:
    np.testing.assert_array_equal(from_float(np.array([-np.inf, np.inf]), np.uint8), [0, 255])


def test_conversion_errors() -> None:
    with pytest.raises(DistillsrError):
        to_float(np.zeros(2, dtype=np.float32))
    with pytest.raises(DistillsrError):
        from_float(np.zeros(2), np.int16)
    with pytest.raises(DistillsrError, match="NaN"):
        from_float(np.array([0.1, np.nan]), np.uint8)


def test_nan_raises_a_specific_error_that_blames_no_one() -> None:
    """Callers catch this one type to name the real culprit (e.g. a model's broken weights)."""
    with pytest.raises(NonFiniteValuesError) as info:
        from_float(np.array([[0.2, np.nan]], dtype=np.float32), np.uint16)
    assert isinstance(info.value, DistillsrError)
    message = str(info.value)
    assert "NaN" in message and "uint16" in message
    assert "image" not in message and "invalid" not in message
