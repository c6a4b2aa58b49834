"""Benchmark folders: layouts, pairing errors, LR sizes, and the LR cache."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from PIL import Image

from distillsr.data.benchmark import BenchmarkSet
from distillsr.data.lr_cache import LRCache
from distillsr.errors import DataError
from distillsr.imaging.degrade import BicubicDown, BlurDown, modcrop
from distillsr.imaging.resize import imresize


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


@pytest.fixture
def hr_images(rng):
    return {name: rng.integers(0, 256, (26, 30, 3), dtype=np.uint8) for name in ("a", "b", "c")}


def test_hr_folder_makes_lr_on_the_fly(tmp_path, hr_images):
    for name, image in hr_images.items():
        _save(tmp_path / "Mine" / f"{name}.png", image)
    bench = BenchmarkSet(tmp_path / "Mine", 4)
    assert bench.name == "Mine" and len(bench) == 3 and not bench.uses_stored_lr
    sample = bench[0]
    assert sample.name == "a"
    assert sample.hr.shape == (24, 28, 3)  # mod-cropped to 4, top-left kept
    np.testing.assert_array_equal(sample.hr, hr_images["a"][:24, :28])
    np.testing.assert_array_equal(sample.lr, imresize(sample.hr, 1 / 4))


def test_edsr_layout_uses_stored_lr_and_matches_made_lr(set5_dir):
    stored = BenchmarkSet(set5_dir, 3)
    made = BenchmarkSet(set5_dir / "HR", 3)
    assert stored.name == made.name == "Set5"
    assert stored.uses_stored_lr and not made.uses_stored_lr
    for a, b in zip(stored, made):
        assert a.name == b.name
        np.testing.assert_array_equal(a.lr, b.lr)
        np.testing.assert_array_equal(a.hr, b.hr)


def test_stored_lr_is_ignored_for_other_degradations(set5_dir):
    bench = BenchmarkSet(set5_dir, 3, BlurDown(3))
    assert not bench.uses_stored_lr
    np.testing.assert_array_equal(bench[0].lr, BlurDown(3)(bench[0].hr))


def test_basicsr_layout(tmp_path, hr_images):
    for name, image in hr_images.items():
        hr = modcrop(image, 2)
        _save(tmp_path / "GTmod12" / f"{name}.png", hr)
        _save(tmp_path / "LRbicx2" / f"{name}.png", imresize(hr, 0.5))
    bench = BenchmarkSet(tmp_path, 2)
    assert bench.uses_stored_lr and len(bench) == 3
    np.testing.assert_array_equal(bench[2].lr, imresize(bench[2].hr, 0.5))


def test_unpaired_folders_name_the_files(tmp_path, hr_images):
    for name, image in hr_images.items():
        _save(tmp_path / "HR" / f"{name}.png", image)
    _save(tmp_path / "LR_bicubic" / "X2" / "ax2.png", imresize(modcrop(hr_images["a"], 2), 0.5))
    _save(tmp_path / "LR_bicubic" / "X2" / "zzzx2.png", imresize(modcrop(hr_images["a"], 2), 0.5))
    with pytest.raises(DataError) as error:
        BenchmarkSet(tmp_path, 2)
    message = str(error.value)
    assert "do not pair up" in message and "b.png" in message and "c.png" in message and "zzzx2.png" in message


def test_lr_of_the_wrong_size_is_refused(tmp_path, hr_images):
    image = hr_images["a"]
    _save(tmp_path / "HR" / "a.png", image)
    _save(tmp_path / "LR_bicubic" / "X2" / "ax2.png", imresize(modcrop(image, 3), 1 / 3))
    bench = BenchmarkSet(tmp_path, 2)
    with pytest.raises(DataError, match="ax2.png.*needs 13x15"):
        bench[0]


def test_missing_and_empty_folders(tmp_path):
    with pytest.raises(DataError, match="does not exist"):
        BenchmarkSet(tmp_path / "nope", 4)
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no images found"):
        BenchmarkSet(tmp_path / "empty", 4)
    with pytest.raises(DataError, match="x3"):
        BenchmarkSet(tmp_path, 4, BicubicDown(3))


def test_lr_cache_hits_and_separates_degradations(tmp_path, hr_images, monkeypatch):
    for name, image in hr_images.items():
        _save(tmp_path / "HR" / f"{name}.png", image)
    cache = LRCache(tmp_path / "cache")
    first = [s.lr for s in BenchmarkSet(tmp_path / "HR", 2, cache=cache)]
    assert (cache.hits, cache.misses) == (0, 3)
    # a second evaluation must not call the degradation at all
    monkeypatch.setattr(BicubicDown, "__call__", lambda self, hr: pytest.fail("LR was remade"))
    second = [s.lr for s in BenchmarkSet(tmp_path / "HR", 2, cache=cache)]
    assert cache.hits == 3
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    monkeypatch.undo()
    blurred = [s.lr for s in BenchmarkSet(tmp_path / "HR", 2, BlurDown(2), cache=cache)]
    assert cache.misses == 6
    assert not np.array_equal(blurred[0], first[0])


def test_corrupt_cache_entry_is_remade(tmp_path, hr_images):
    _save(tmp_path / "HR" / "a.png", hr_images["a"])
    cache = LRCache(tmp_path / "cache")
    sample = BenchmarkSet(tmp_path / "HR", 2, cache=cache)[0]
    entry = cache.path_for(sample.hr, BicubicDown(2).cache_key)
    entry.write_bytes(b"garbage")
    again = BenchmarkSet(tmp_path / "HR", 2, cache=cache)[0]
    np.testing.assert_array_equal(again.lr, sample.lr)
    assert cache.misses == 2


def test_greyscale_set14_bridge_stays_single_channel(set14_hr, tmp_path):
    shutil.copy(set14_hr / "bridge.png", tmp_path / "bridge.png")
    sample = BenchmarkSet(tmp_path, 4)[0]
    assert sample.hr.ndim == 2 and sample.lr.ndim == 2
