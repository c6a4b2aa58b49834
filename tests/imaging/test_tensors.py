"""Tests for distillsr.imaging.tensors: the one image <-> tensor conversion pair.

Expected values are computed independently of the module: float64 division rounded once to
float32 (equal to float32 division, since float64 carries more than twice float32's precision),
and the grey luma written out from its published weights.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from distillsr.errors import DistillsrError, NonFiniteValuesError
from distillsr.imaging.pixels import from_float
from distillsr.imaging.tensors import (
    image_to_tensor,
    match_channels,
    tensor_to_image,
    tensor_to_pixels,
    to_unit_float32,
)


def _assert_one_line(error: pytest.ExceptionInfo[DistillsrError]) -> None:
    assert "\n" not in str(error.value) and str(error.value)


# --------------------------------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------------------------------


def test_uint8_values_are_divided_by_255_in_float32_exactly() -> None:
    image = np.arange(256, dtype=np.uint8).reshape(16, 16)
    result = to_unit_float32(image)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, (np.arange(256) / 255.0).astype(np.float32).reshape(16, 16))


def test_uint16_values_are_divided_by_65535_in_float32_exactly() -> None:
    image = np.arange(65536, dtype=np.uint16).reshape(256, 256)
    result = to_unit_float32(image)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, (np.arange(65536) / 65535.0).astype(np.float32).reshape(256, 256))


def test_image_to_tensor_carries_the_same_values() -> None:
    image = np.random.default_rng(0).integers(0, 256, size=(4, 5, 3), dtype=np.uint8)
    tensor = image_to_tensor(image)
    assert tensor.dtype == torch.float32
    expected = (image / 255.0).astype(np.float32).transpose(2, 0, 1)[None]
    np.testing.assert_array_equal(tensor.numpy(), expected)


def test_float_images_in_range_pass_unchanged() -> None:
    image = np.array([[0.0, 0.25], [0.5, 1.0]], dtype=np.float64)
    result = to_unit_float32(image)
    assert result.dtype == np.float32
    np.testing.assert_array_equal(result, image.astype(np.float32))


@pytest.mark.parametrize("bad", [-0.01, 1.01, np.nan, np.inf], ids=["below", "above", "nan", "inf"])
def test_float_images_outside_0_1_or_not_finite_are_refused(bad: float) -> None:
    image = np.array([[0.2, bad]], dtype=np.float32)
    with pytest.raises(DistillsrError, match=r"finite values in \[0, 1\]") as error:
        to_unit_float32(image)
    _assert_one_line(error)
    with pytest.raises(DistillsrError):
        image_to_tensor(image)


def test_other_dtypes_are_refused() -> None:
    with pytest.raises(DistillsrError, match="int32") as error:
        to_unit_float32(np.zeros((2, 2), dtype=np.int32))
    _assert_one_line(error)


# --------------------------------------------------------------------------------------------------
# Channels in
# --------------------------------------------------------------------------------------------------


def test_grey_is_replicated_to_three_channels() -> None:
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)
    tensor = image_to_tensor(grey, 3)
    assert tuple(tensor.shape) == (1, 3, 3, 4)
    for channel in range(3):
        np.testing.assert_array_equal(tensor[0, channel].numpy(), (grey / 255.0).astype(np.float32))


def test_grey_alpha_loses_its_alpha() -> None:
    grey_alpha = np.stack([np.full((2, 3), 40, np.uint8), np.full((2, 3), 200, np.uint8)], axis=-1)
    np.testing.assert_array_equal(match_channels(grey_alpha, None), grey_alpha[..., :1])
    tensor = image_to_tensor(grey_alpha, 3)
    assert tuple(tensor.shape) == (1, 3, 2, 3)
    np.testing.assert_array_equal(tensor.numpy(), np.full((1, 3, 2, 3), np.float32(40 / 255)))


def test_rgba_loses_its_alpha() -> None:
    rgba = np.random.default_rng(1).integers(0, 65536, size=(3, 2, 4), dtype=np.uint16)
    tensor = image_to_tensor(rgba, 3)
    assert tuple(tensor.shape) == (1, 3, 3, 2)
    expected = (rgba[..., :3] / 65535.0).astype(np.float32).transpose(2, 0, 1)
    np.testing.assert_array_equal(tensor[0].numpy(), expected)


def test_channels_none_keeps_colour_channels() -> None:
    rgb = np.zeros((2, 2, 3), dtype=np.uint8)
    assert match_channels(rgb, None).shape == (2, 2, 3)
    assert image_to_tensor(np.zeros((2, 2), np.uint8)).shape == (1, 1, 2, 2)


def test_a_channel_mismatch_is_a_one_line_error_naming_both_counts() -> None:
    with pytest.raises(DistillsrError, match=r"takes 1 channel\(s\) but the image has 3") as error:
        image_to_tensor(np.zeros((2, 2, 3), np.uint8), 1)
    _assert_one_line(error)


def test_a_shape_that_is_no_image_is_refused() -> None:
    with pytest.raises(DistillsrError, match="HxW") as error:
        match_channels(np.zeros((2, 2, 2, 2), np.uint8), 3)
    _assert_one_line(error)


# --------------------------------------------------------------------------------------------------
# Shapes and the way back
# --------------------------------------------------------------------------------------------------


def test_batch_dimension_is_optional_both_ways() -> None:
    image = np.random.default_rng(2).integers(0, 256, size=(3, 5, 3), dtype=np.uint8)
    batched, single = image_to_tensor(image), image_to_tensor(image, batch=False)
    assert tuple(batched.shape) == (1, 3, 3, 5) and tuple(single.shape) == (3, 3, 5)
    expected = (image / 255.0).astype(np.float32)
    for tensor in (batched, single):
        back = tensor_to_image(tensor)
        assert back.shape == (3, 5, 3) and back.dtype == np.float32
        np.testing.assert_array_equal(back, expected)


def test_one_channel_output_comes_back_as_hxw() -> None:
    tensor = torch.arange(6, dtype=torch.float32).reshape(1, 1, 2, 3) / 10
    back = tensor_to_image(tensor)
    assert back.shape == (2, 3)
    np.testing.assert_array_equal(back, tensor[0, 0].numpy())


def test_output_is_neither_clipped_nor_rounded() -> None:
    tensor = torch.tensor([[[[-0.25, 1.5]]]])
    np.testing.assert_array_equal(tensor_to_image(tensor), np.array([[-0.25, 1.5]], dtype=np.float32))


def test_grey_output_is_the_luma_of_the_rgb_output() -> None:
    tensor = torch.rand(1, 3, 4, 5, generator=torch.Generator().manual_seed(3)) * 1.2 - 0.1
    rgb = tensor_to_image(tensor)
    grey = tensor_to_image(tensor, grey=True)
    r, g, b = (rgb[..., c].astype(np.float64) for c in range(3))
    expected = (65.481 * r + 128.553 * g + 24.966 * b) / 219.0
    assert grey.shape == (4, 5) and grey.dtype == np.float64
    np.testing.assert_allclose(grey, expected, rtol=1e-12, atol=1e-15)


def test_grey_flag_leaves_a_one_channel_output_alone() -> None:
    tensor = torch.full((1, 1, 2, 2), 0.5)
    np.testing.assert_array_equal(tensor_to_image(tensor, grey=True), np.full((2, 2), 0.5, np.float32))


@pytest.mark.parametrize(
    ("shape", "fragment"),
    [((2, 3, 4, 4), "a batch of 2"), ((3, 4), "got shape (3, 4)")],
    ids=["batch-of-two", "two-dimensional"],
)
def test_tensors_that_are_not_one_image_are_refused(shape: tuple[int, ...], fragment: str) -> None:
    with pytest.raises(DistillsrError) as error:
        tensor_to_image(torch.zeros(shape))
    assert fragment in str(error.value)
    _assert_one_line(error)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_tensor_to_pixels_maps_exactly_as_from_float(dtype, monkeypatch):
    """Reference: from_float on the same values (float64 numpy), including halves, overshoot and infinities."""
    import torch

    from distillsr.imaging import tensors

    monkeypatch.setattr(tensors, "PIXEL_CHUNK_ROWS", 7)  # several chunks and a short last one
    generator = torch.Generator().manual_seed(0)
    values = torch.rand(1, 3, 30, 11, generator=generator) * 1.2 - 0.1
    full = 255 if dtype == np.uint8 else 65535
    values[0, 0, 0, :6] = torch.tensor([0.5 / full, 1.5 / full, float("inf"), -float("inf"), 1.0, 0.0])
    expected = from_float(values[0].permute(1, 2, 0).numpy(), dtype)
    got = tensor_to_pixels(values, dtype)
    assert got.dtype == dtype and got.shape == (30, 11, 3)
    assert np.array_equal(got, expected)
    channels_last = values.contiguous(memory_format=torch.channels_last)
    assert np.array_equal(tensor_to_pixels(channels_last, dtype), expected)
    values[0, 1, 20, 3] = float("nan")
    with pytest.raises(NonFiniteValuesError, match="NaN"):
        tensor_to_pixels(values, dtype)
    with pytest.raises(DistillsrError, match="uint8 or uint16"):
        tensor_to_pixels(values, np.float32)
