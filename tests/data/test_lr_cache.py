"""The LR cache: a second evaluation reads stored LR images, per degradation, and remakes broken ones."""

from __future__ import annotations

import numpy as np
import pytest
from support.images import save_image

from distillsr.data.eval_sets import EvalSet
from distillsr.data.lr_cache import LRCache
from distillsr.imaging.degrade import BicubicDown, BlurDown


def test_lr_cache_hits_and_separates_degradations(tmp_path, hr_images, monkeypatch):
    for name, image in hr_images.items():
        save_image(tmp_path / "HR" / f"{name}.png", image)
    cache = LRCache(tmp_path / "cache")
    first = [s.lr for s in EvalSet(tmp_path / "HR", 2, cache=cache)]
    assert (cache.hits, cache.misses) == (0, 3)
    # a second evaluation must not call the degradation at all
    monkeypatch.setattr(BicubicDown, "__call__", lambda self, hr: pytest.fail("LR was remade"))
    second = [s.lr for s in EvalSet(tmp_path / "HR", 2, cache=cache)]
    assert cache.hits == 3
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    monkeypatch.undo()
    blurred = [s.lr for s in EvalSet(tmp_path / "HR", 2, BlurDown(2), cache=cache)]
    assert cache.misses == 6
    assert not np.array_equal(blurred[0], first[0])


def test_corrupt_cache_entry_is_remade(tmp_path, hr_images):
    save_image(tmp_path / "HR" / "a.png", hr_images["a"])
    cache = LRCache(tmp_path / "cache")
    sample = EvalSet(tmp_path / "HR", 2, cache=cache)[0]
    entry = cache.path_for(sample.hr, BicubicDown(2).cache_key)
    entry.write_bytes(b"garbage")
    again = EvalSet(tmp_path / "HR", 2, cache=cache)[0]
    np.testing.assert_array_equal(again.lr, sample.lr)
    assert cache.misses == 2
