"""Benchmark folders: layouts, pairing errors, LR sizes, greyscale images."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from support.images import save_image

from distillsr.data.eval_sets import EvalSet
from distillsr.errors import DataError
from distillsr.imaging.degrade import BicubicDown, BlurDown, modcrop
from distillsr.imaging.resize import imresize


def test_hr_folder_makes_lr_on_the_fly(tmp_path, hr_images):
    for name, image in hr_images.items():
        save_image(tmp_path / "Mine" / f"{name}.png", image)
    bench = EvalSet(tmp_path / "Mine", 4)
    assert bench.name == "Mine" and len(bench) == 3 and not bench.uses_stored_lr
    sample = bench[0]
    assert sample.name == "a"
    assert sample.hr.shape == (24, 28, 3)  # mod-cropped to 4, top-left kept
    np.testing.assert_array_equal(sample.hr, hr_images["a"][:24, :28])
    np.testing.assert_array_equal(sample.lr, imresize(sample.hr, 1 / 4))


def test_edsr_layout_uses_stored_lr_and_matches_made_lr(set5_dir):
    stored = EvalSet(set5_dir, 3)
    made = EvalSet(set5_dir / "HR", 3)
    assert stored.name == made.name == "Set5"
    assert stored.uses_stored_lr and not made.uses_stored_lr
    for a, b in zip(stored, made):
        assert a.name == b.name
        np.testing.assert_array_equal(a.lr, b.lr)
        np.testing.assert_array_equal(a.hr, b.hr)


def test_stored_lr_is_ignored_for_other_degradations(set5_dir):
    bench = EvalSet(set5_dir, 3, BlurDown(3))
    assert not bench.uses_stored_lr
    np.testing.assert_array_equal(bench[0].lr, BlurDown(3)(bench[0].hr))


def test_basicsr_layout(tmp_path, hr_images):
    for name, image in hr_images.items():
        hr = modcrop(image, 2)
        save_image(tmp_path / "GTmod12" / f"{name}.png", hr)
        save_image(tmp_path / "LRbicx2" / f"{name}.png", imresize(hr, 0.5))
    bench = EvalSet(tmp_path, 2)
    assert bench.uses_stored_lr and len(bench) == 3
    np.testing.assert_array_equal(bench[2].lr, imresize(bench[2].hr, 0.5))


def test_unpaired_folders_name_the_files(tmp_path, hr_images):
    for name, image in hr_images.items():
        save_image(tmp_path / "HR" / f"{name}.png", image)
    save_image(tmp_path / "LR_bicubic" / "X2" / "ax2.png", imresize(modcrop(hr_images["a"], 2), 0.5))
    save_image(tmp_path / "LR_bicubic" / "X2" / "zzzx2.png", imresize(modcrop(hr_images["a"], 2), 0.5))
    with pytest.raises(DataError) as error:
        EvalSet(tmp_path, 2)
    message = str(error.value)
    assert "do not pair up" in message and "b.png" in message and "c.png" in message and "zzzx2.png" in message


def test_lr_of_the_wrong_size_is_refused(tmp_path, hr_images):
    image = hr_images["a"]
    save_image(tmp_path / "HR" / "a.png", image)
    save_image(tmp_path / "LR_bicubic" / "X2" / "ax2.png", imresize(modcrop(image, 3), 1 / 3))
    bench = EvalSet(tmp_path, 2)
    with pytest.raises(DataError, match="ax2.png.*needs 13x15"):
        bench[0]


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        EvalSet(tmp_path / "nope", 4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images found"):
        EvalSet(tmp_path / "empty", 4)
    with pytest.raises(DataError, match="x3"):
        EvalSet(tmp_path, 4, BicubicDown(3))


def test_greyscale_set14_bridge_stays_single_channel(set14_hr, tmp_path):
    shutil.copy(set14_hr / "bridge.png", tmp_path / "bridge.png")
    sample = EvalSet(tmp_path, 4)[0]
    assert sample.hr.ndim == 2 and sample.lr.ndim == 2
