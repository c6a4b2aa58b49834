"""The verification image: a built-in pattern by default, the user's image centre-cropped when given."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from distillsr.errors import DistillsrError
from distillsr.inference.export.sample_image import (
    centre_crop,
    synthetic_image,
    verification_image,
)


def test_the_default_is_a_deterministic_synthetic_pattern_and_says_so(monkeypatch):
    monkeypatch.setitem(sys.modules, "skimage", None)  # an install without scikit-image, or ../shared
    monkeypatch.setenv("DISTILLSR_SHARED", "/nonexistent")
    image, source = verification_image(3, 48)
    assert image.shape == (48, 48, 3) and image.dtype == np.uint8
    assert source == "48x48 synthetic pattern (gradients, rings and edges)"
    assert np.array_equal(image, synthetic_image(48))
    grey, grey_source = verification_image(1, 48)
    assert grey.shape == (48, 48, 1) and "synthetic" in grey_source
    assert np.array_equal(grey, verification_image(1, 48)[0]), "deterministic"
    assert grey.std() > 20, "has structure to upscale"
    with pytest.raises(DistillsrError, match="no built-in verification image for a 4-channel model; pass one"):
        verification_image(4, 48)


def test_a_given_image_is_centre_cropped_and_named(rng):
    photo = rng.integers(0, 256, (100, 90, 3), dtype=np.uint8)
    image, source = verification_image(3, 64, image=photo, name="photo.png")
    assert np.array_equal(image, photo[18:82, 13:77]) and image.flags.c_contiguous
    assert source == "64x64 centre crop of photo.png"
    # a side shorter than the crop is kept whole, and the label says what was used
    narrow, narrow_source = verification_image(3, 64, image=photo[:, :40], name="narrow.png", min_size=15)
    assert narrow.shape == (64, 40, 3) and narrow_source == "64x40 centre crop of narrow.png"
    assert verification_image(3, 64, image=photo)[1] == "64x64 centre crop of the given image"


def test_alpha_and_grey_follow_the_match_channels_rules(rng):
    rgba = rng.integers(0, 256, (70, 70, 4), dtype=np.uint8)
    image, _ = verification_image(3, 64, image=rgba)
    assert np.array_equal(image, rgba[3:67, 3:67, :3]), "alpha dropped"
    grey = rng.integers(0, 65536, (70, 70), dtype=np.uint16)
    image, _ = verification_image(3, 64, image=grey)
    assert image.dtype == np.uint16 and image.shape == (64, 64, 3), "grey replicated for a colour model"
    assert all(np.array_equal(image[..., c], grey[3:67, 3:67]) for c in range(3))
    single, _ = verification_image(1, 64, image=grey)
    assert np.array_equal(single[..., 0], grey[3:67, 3:67])
    colour = rng.integers(0, 65536, (70, 70, 3), dtype=np.uint16)
    luma, _ = verification_image(1, 64, image=colour)
    assert luma.dtype == np.uint16 and luma.shape == (64, 64, 1), "a grey model gets the luma, in the image's type"
    with pytest.raises(DistillsrError, match=r"the verification image x.tif does not fit this model: .*takes 4 channel"):
        verification_image(4, 64, image=colour, name="x.tif")


def test_a_too_small_image_is_one_line_naming_it(rng):
    tiny = rng.integers(0, 256, (15, 30, 3), dtype=np.uint8)
    with pytest.raises(DistillsrError) as raised:
        verification_image(3, 64, image=tiny[:15, :15], name="tiny.png", min_size=15)
    message = str(raised.value)
    assert message == "the verification image tiny.png (15x15) is too small to test two sizes; give one larger than 15x15 pixels"
    verification_image(3, 64, image=tiny, name="ok.png", min_size=15)  # 15x30 still gives two sizes
    with pytest.raises(DistillsrError, match=r"the verification image odd.png: expected an HxW or HxWxC image"):
        verification_image(3, 64, image=np.zeros((4, 4, 4, 4), np.uint8), name="odd.png")


def test_centre_crop():
    image = np.arange(10 * 7).reshape(10, 7)
    assert np.array_equal(centre_crop(image, 4), image[3:7, 1:5])
    assert np.array_equal(centre_crop(image, 20), image)
