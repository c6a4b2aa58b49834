"""Sub-image extraction: BasicSR's crop positions, contents, idempotence, LR names."""

from __future__ import annotations

import numpy as np
import pytest
from support.images import save_image

from distillsr.data.subimages import crop_positions, extract_subimages
from distillsr.errors import DistillsrError
from distillsr.imaging.listing import list_images
from distillsr.imaging.read import read_image


def test_crop_positions_follow_basicsr():
    assert crop_positions(100, 48, 24, 0) == [0, 24, 48, 52]
    assert crop_positions(96, 48, 24, 0) == [0, 24, 48]
    assert crop_positions(100, 48, 24, 10) == [0, 24, 48]  # 4 px left over is below the threshold
    assert crop_positions(30, 48, 24, 0) == [0]


def test_extract_subimages_counts_contents_and_idempotence(tmp_path, rng):
    source = tmp_path / "src"
    big = rng.integers(0, 256, (100, 130, 3), dtype=np.uint8)
    save_image(source / "a.png", big)
    save_image(source / "small.png", rng.integers(0, 256, (30, 40), dtype=np.uint8))
    out = tmp_path / "out"
    summary = extract_subimages(source, out, crop=48, step=24)
    assert (summary.images, summary.written, summary.existing) == (2, 4 * 5 + 1, 0)
    names = [p.name for p in list_images(out)]
    assert names[:3] == ["a_s001.png", "a_s002.png", "a_s003.png"] and "small_s001.png" in names
    np.testing.assert_array_equal(read_image(out / "a_s001.png"), big[:48, :48])
    np.testing.assert_array_equal(read_image(out / "a_s005.png"), big[:48, 82:130])  # last column flush right
    np.testing.assert_array_equal(read_image(out / "a_s020.png"), big[52:100, 82:130])
    assert read_image(out / "small_s001.png").shape == (30, 40)
    again = extract_subimages(source, out, crop=48, step=24)
    assert (again.written, again.existing) == (0, 21)
    (out / "a_s007.png").unlink()
    assert extract_subimages(source, out, crop=48, step=24, workers=2).written == 1
    with pytest.raises(DistillsrError, match="other settings"):
        extract_subimages(source, out, crop=64, step=32)


def test_extract_subimages_strips_the_scale_suffix_for_lr(tmp_path, rng):
    save_image(tmp_path / "lr" / "0001x4.png", rng.integers(0, 256, (30, 30, 3), dtype=np.uint8))
    extract_subimages(tmp_path / "lr", tmp_path / "out", crop=12, step=6, strip_scale=4)
    assert list_images(tmp_path / "out")[0].name == "0001_s001.png"
