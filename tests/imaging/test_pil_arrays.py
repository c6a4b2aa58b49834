"""distillsr.imaging.pil_arrays: PIL in, engine arrays, and PIL out in the mode a user expects.

The end-to-end modes of ``distillsr.upscale(PIL image)`` are in tests/test_api.py; these check the
pixels and profiles of the two conversions themselves.
"""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageCms

from distillsr.errors import DistillsrError
from distillsr.imaging.pil_arrays import array_to_pil, pil_to_array


def _srgb_profile() -> bytes:
    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def test_rgb_rgba_and_grey_pixels_pass_unchanged(rng):
    for shape, mode in (((4, 5, 3), "RGB"), ((4, 5, 4), "RGBA"), ((4, 5), "L")):
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        array, result_mode = pil_to_array(Image.fromarray(pixels))
        assert result_mode == mode and array.dtype == np.uint8
        np.testing.assert_array_equal(array, pixels)
        back = array_to_pil(array, result_mode)
        assert back.mode == mode
        np.testing.assert_array_equal(np.asarray(back), pixels)


def test_sixteen_bit_grey_keeps_every_bit(rng):
    pixels = rng.integers(0, 65536, (3, 6), dtype=np.uint16)
    pixels[0, :3] = [0, 255, 65535]
    array, mode = pil_to_array(Image.fromarray(pixels))
    assert (mode, array.dtype) == ("I;16", np.uint16)
    np.testing.assert_array_equal(array, pixels)
    back = array_to_pil(array, mode)
    assert back.mode == "I;16"
    np.testing.assert_array_equal(np.asarray(back).astype(np.uint16), pixels)


def test_grey_plus_alpha_is_rgba_inside_and_la_outside(rng):
    grey = rng.integers(0, 256, (4, 4), dtype=np.uint8)
    alpha = rng.integers(0, 256, (4, 4), dtype=np.uint8)
    image = Image.merge("LA", [Image.fromarray(grey), Image.fromarray(alpha)])
    array, mode = pil_to_array(image)
    assert mode == "LA" and array.shape == (4, 4, 4)
    np.testing.assert_array_equal(array, np.dstack([grey, grey, grey, alpha]))
    back = array_to_pil(array, mode)
    assert back.mode == "LA"
    np.testing.assert_array_equal(np.asarray(back), np.dstack([grey, alpha]))


def test_palette_and_one_bit_images_become_rgb_and_grey():
    palette = Image.new("P", (3, 2))
    palette.putpalette([10, 20, 30, 200, 100, 50] + [0] * 762)
    palette.putdata([0, 1, 1, 0, 1, 0])
    array, mode = pil_to_array(palette)
    assert mode == "RGB"
    assert array[0].tolist() == [[10, 20, 30], [200, 100, 50], [200, 100, 50]]
    bits = Image.fromarray(np.array([[True, False], [False, True]]))
    array, mode = pil_to_array(bits)
    assert mode == "L" and array.tolist() == [[255, 0], [0, 255]]


def test_a_float_image_is_one_line_naming_the_mode_and_what_to_do():
    with pytest.raises(DistillsrError) as caught:
        pil_to_array(Image.fromarray(np.zeros((2, 2), np.float32)))
    message = str(caught.value)
    assert message.startswith("PIL image of mode F: ") and "(convert to RGB, RGBA, L or I;16)" in message
    assert "\n" not in message


def test_the_source_profile_is_carried_over_when_it_still_describes_the_pixels(rng):
    profile = _srgb_profile()
    source = Image.fromarray(rng.integers(0, 256, (2, 2, 3), dtype=np.uint8))
    source.info["icc_profile"] = profile
    assert array_to_pil(np.zeros((4, 4, 3), np.uint8), "RGB", source).info["icc_profile"] == profile
    assert "icc_profile" not in array_to_pil(np.zeros((4, 4, 3), np.uint8), "RGB").info


@pytest.mark.parametrize("mode", ["CMYK", "YCbCr"])
def test_a_profile_of_another_colour_space_is_dropped(mode):
    source = Image.new(mode, (2, 2))
    source.info["icc_profile"] = b"a profile for another colour space"
    array, result_mode = pil_to_array(source)
    assert result_mode == "RGB"
    assert "icc_profile" not in array_to_pil(array, result_mode, source).info
