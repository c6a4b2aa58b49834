"""Training patches: alignment, augmentation, determinism, channels and sizes, LR folders."""

from __future__ import annotations

import random
import warnings

import numpy as np
import pytest
import torch
from support import require_shared
from support.images import save_image, smooth_image

from distillsr.data.lr_cache import LRCache
from distillsr.data.training import PairedTrainingSet, PatchParams
from distillsr.errors import DataError, DistillsrError
from distillsr.imaging.degrade import BlurDown, modcrop
from distillsr.imaging.read import read_image
from distillsr.imaging.resize import imresize
from distillsr.imaging.write import write_image


def _apply(image: np.ndarray, params: PatchParams) -> np.ndarray:
    """The documented transform order, written independently of the module: hflip, vflip, rot90."""
    if params.hflip:
        image = np.flip(image, axis=1)
    if params.vflip:
        image = np.flip(image, axis=0)
    if params.rot90:
        image = np.rot90(image)
    return image


def _pixels(tensor: torch.Tensor) -> np.ndarray:
    """CHW float in [0, 1] back to HWC uint8 (exact for 8-bit sources)."""
    return np.round(tensor.numpy().transpose(1, 2, 0) * 255).astype(np.uint8)


# --------------------------------------------------------------------------- alignment --


def test_lr_folder_patches_are_aligned_and_augmented_identically(paired_folders):
    hr_dir, lr_dir, scale = paired_folders
    data = PairedTrainingSet(hr_dir, scale, lr_folders=lr_dir, lr_patch_size=8, repeat=10)
    seen = {"hflip": False, "vflip": False, "rot90": False}
    for epoch in range(3):
        data.set_epoch(epoch)
        for index in range(len(data)):
            item = data[index]
            params = data.patch_params(index)
            lr, hr = _pixels(item["lr"]), _pixels(item["hr"])
            assert item["lr"].dtype == torch.float32 and item["lr"].shape == (3, 8, 8)
            assert item["hr"].shape == (3, 24, 24)
            # aligned and identically transformed: the HR patch is the LR patch, nearest-upscaled
            np.testing.assert_array_equal(hr, np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1))
            source = read_image(lr_dir / f"{item['name']}x{scale}.png")
            crop = source[params.top : params.top + 8, params.left : params.left + 8]
            np.testing.assert_array_equal(lr, _apply(crop, params))
            for flag in seen:
                seen[flag] |= getattr(params, flag)
    assert all(seen.values()), seen


@pytest.mark.parametrize("degradation", ["BI", "BD"])
def test_made_lr_patch_is_the_crop_of_the_degraded_image(hr_folder, degradation):
    scale = 2
    data = PairedTrainingSet(hr_folder, scale, degradation=degradation, lr_patch_size=12, repeat=4)
    degrade = (lambda im: imresize(im, 1 / scale)) if degradation == "BI" else BlurDown(scale)
    for index in range(len(data)):
        item, params = data[index], data.patch_params(index)
        hr_full = modcrop(read_image(hr_folder / f"{item['name']}.png"), scale)
        lr_full = degrade(hr_full)
        t, l = params.top, params.left
        np.testing.assert_array_equal(_pixels(item["lr"]), _apply(lr_full[t : t + 12, l : l + 12], params))
        expected_hr = hr_full[t * scale : (t + 12) * scale, l * scale : (l + 12) * scale]
        np.testing.assert_array_equal(_pixels(item["hr"]), _apply(expected_hr, params))


def test_real_t91_image_is_aligned():
    folder = require_shared("data", "T91", "HR")
    data = PairedTrainingSet(folder, 4, lr_patch_size=16, in_memory=False, cache=LRCache())
    index = next(i for i, pair in enumerate(data.pairs) if pair.name == "t1")
    item, params = data[index], data.patch_params(index)
    hr_full = modcrop(read_image(folder / "t1.bmp"), 4)
    lr_full = imresize(hr_full, 1 / 4)
    t, l = params.top, params.left
    np.testing.assert_array_equal(_pixels(item["lr"]), _apply(lr_full[t : t + 16, l : l + 16], params))
    np.testing.assert_array_equal(_pixels(item["hr"]), _apply(hr_full[4 * t : 4 * (t + 16), 4 * l : 4 * (l + 16)], params))


def test_augmentation_can_be_switched_off(paired_folders):
    hr_dir, lr_dir, scale = paired_folders
    data = PairedTrainingSet(hr_dir, scale, lr_folders=lr_dir, lr_patch_size=6, augment=False, repeat=20)
    assert not any(
        p.hflip or p.vflip or p.rot90 for p in (data.patch_params(i) for i in range(len(data)))
    )
    only_h = PairedTrainingSet(hr_dir, scale, lr_folders=lr_dir, lr_patch_size=6, augment=(True, False, False), repeat=20)
    params = [only_h.patch_params(i) for i in range(len(only_h))]
    assert any(p.hflip for p in params) and not any(p.vflip or p.rot90 for p in params)
    # switching flags off keeps the crops and the remaining flag's coin
    all_on = PairedTrainingSet(hr_dir, scale, lr_folders=lr_dir, lr_patch_size=6, repeat=20)
    assert [(p.top, p.left, p.hflip) for p in params] == [
        (q.top, q.left, q.hflip) for q in (all_on.patch_params(i) for i in range(len(all_on)))
    ]


# ------------------------------------------------------------------------- determinism --


def _items_equal(a, b) -> bool:
    return torch.equal(a["lr"], b["lr"]) and torch.equal(a["hr"], b["hr"]) and a["name"] == b["name"]


def test_items_are_a_function_of_seed_epoch_and_index(hr_folder):
    first = PairedTrainingSet(hr_folder, 2, lr_patch_size=10, repeat=5, seed=7)
    second = PairedTrainingSet(hr_folder, 2, lr_patch_size=10, repeat=5, seed=7)
    other_seed = PairedTrainingSet(hr_folder, 2, lr_patch_size=10, repeat=5, seed=8)
    order = list(range(len(first)))
    for epoch in (0, 3):
        first.set_epoch(epoch)
        second.set_epoch(epoch)
        other_seed.set_epoch(epoch)
        forward = [first[i] for i in order]
        np.random.seed(123), random.seed(5), torch.manual_seed(9)  # global RNGs play no part
        backward = [second[i] for i in reversed(order)][::-1]
        assert all(_items_equal(a, b) for a, b in zip(forward, backward))
        assert not all(_items_equal(a, b) for a, b in zip(forward, (other_seed[i] for i in order)))
    first.set_epoch(0)
    epoch0 = [first.patch_params(i) for i in order]
    first.set_epoch(1)
    assert epoch0 != [first.patch_params(i) for i in order]
    assert epoch0 == [first.patch_params(i, epoch=0) for i in order]


def test_repeat_gives_each_copy_its_own_crop(hr_folder):
    data = PairedTrainingSet(hr_folder, 2, lr_patch_size=10, repeat=4)
    assert len(data) == 12
    names = [data[i]["name"] for i in range(len(data))]
    assert names[:3] == names[3:6] == ["img0", "img1", "img2"]
    crops = {(data.patch_params(i).top, data.patch_params(i).left) for i in range(0, 12, 3)}
    assert len(crops) > 1
    with pytest.raises(IndexError):
        data[12]


def test_disk_mode_gives_the_same_items_as_memory_mode(hr_folder, tmp_path):
    cache = LRCache(tmp_path / "cache")
    in_memory = PairedTrainingSet(hr_folder, 2, lr_patch_size=10, repeat=2, cache=cache)
    on_disk = PairedTrainingSet(hr_folder, 2, lr_patch_size=10, repeat=2, cache=cache, in_memory=False)
    on_disk.set_epoch(2)
    in_memory.set_epoch(2)
    assert all(_items_equal(in_memory[i], on_disk[i]) for i in range(len(in_memory)))


def test_lr_cache_is_used_on_the_second_construction(hr_folder, tmp_path):
    cache = LRCache(tmp_path / "cache")
    first = PairedTrainingSet(hr_folder, 2, lr_patch_size=10, cache=cache)
    assert (cache.misses, cache.hits) == (3, 0)
    again = LRCache(tmp_path / "cache")
    second = PairedTrainingSet(hr_folder, 2, lr_patch_size=10, cache=again)
    assert (again.misses, again.hits) == (0, 3)
    assert all(_items_equal(first[i], second[i]) for i in range(len(first)))


def test_disk_mode_without_cache_warns(hr_folder):
    with pytest.warns(UserWarning, match="LR cache"):
        PairedTrainingSet(hr_folder, 2, lr_patch_size=10, in_memory=False)


# ----------------------------------------------------------------- channels and sizes --


def test_grey_and_rgba_become_three_channels(tmp_path, rng):
    colour = smooth_image(rng, 40, 40)
    grey = colour[:, :, 0].copy()
    rgba = np.dstack([colour, rng.integers(0, 256, (40, 40), dtype=np.uint8)])
    save_image(tmp_path / "HR" / "grey.png", grey)
    save_image(tmp_path / "HR" / "rgba.png", rgba)
    write_image(tmp_path / "HR" / "deep.png", (grey.astype(np.uint16) * 257 + 3))
    data = PairedTrainingSet(tmp_path / "HR", 2, lr_patch_size=8, repeat=3)
    by_name = {}
    for i in range(len(data)):
        item = data[i]
        assert item["lr"].shape == (3, 8, 8) and item["hr"].shape == (3, 16, 16)
        assert 0.0 <= float(item["hr"].min()) and float(item["hr"].max()) <= 1.0
        by_name.setdefault(item["name"], (item, data.patch_params(i)))
    grey_item, _ = by_name["grey"]
    assert torch.equal(grey_item["hr"][0], grey_item["hr"][1]) and torch.equal(grey_item["lr"][0], grey_item["lr"][2])
    rgba_item, params = by_name["rgba"]
    t, l = params.top, params.left
    np.testing.assert_array_equal(_pixels(rgba_item["hr"]), _apply(colour[2 * t : 2 * t + 16, 2 * l : 2 * l + 16], params))
    deep_item, params = by_name["deep"]
    t, l = params.top, params.left
    expected = _apply(grey[2 * t : 2 * t + 16, 2 * l : 2 * l + 16].astype(np.float64) * 257 + 3, params) / 65535
    np.testing.assert_allclose(deep_item["hr"][1].numpy(), expected, atol=1e-6)


@pytest.mark.parametrize("in_memory", [True, False])
def test_small_images_are_skipped_with_a_warning(tmp_path, rng, in_memory):
    save_image(tmp_path / "HR" / "big.png", smooth_image(rng, 40, 40))
    save_image(tmp_path / "HR" / "tiny.png", smooth_image(rng, 30, 50))
    with pytest.warns(UserWarning, match=r"skipping 1 image.*tiny\.png"):
        data = PairedTrainingSet(tmp_path / "HR", 2, lr_patch_size=16, in_memory=in_memory, cache=LRCache(tmp_path / "c"))
    assert [pair.name for pair in data.pairs] == ["big"]
    with pytest.raises(DataError, match="no training image"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        PairedTrainingSet(tmp_path / "HR", 2, lr_patch_size=32)


def test_lr_folder_pairing_and_errors(paired_folders, tmp_path):
    hr_dir, lr_dir, scale = paired_folders
    data = PairedTrainingSet([hr_dir], scale, lr_folders=[lr_dir], lr_patch_size=5)
    assert [(p.hr_path.name, p.lr_path.name) for p in data.pairs] == [("p0.png", "p0x3.png"), ("p1.png", "p1x3.png")]
    (lr_dir / "p1x3.png").unlink()
    with pytest.raises(DataError, match="do not pair up"):
        PairedTrainingSet(hr_dir, scale, lr_folders=lr_dir, lr_patch_size=5)
    with pytest.raises(DistillsrError, match="one LR folder per HR folder"):
        PairedTrainingSet([hr_dir, hr_dir], scale, lr_folders=[lr_dir], lr_patch_size=5)
    wrong = tmp_path / "wrong"
    save_image(wrong / "p0x3.png", np.zeros((5, 5, 3), np.uint8))
    save_image(tmp_path / "hr2" / "p0.png", np.zeros((60, 60, 3), np.uint8))
    with pytest.raises(DataError, match="needs 20x20"):
        PairedTrainingSet(tmp_path / "hr2", scale, lr_folders=wrong, lr_patch_size=4)


def test_several_hr_folders_are_concatenated(hr_folder, tmp_path, rng):
    second = tmp_path / "more"
    save_image(second / "extra.png", smooth_image(rng, 40, 40))
    data = PairedTrainingSet([hr_folder, second], 3, lr_patch_size=5)
    assert [p.name for p in data.pairs] == ["img0", "img1", "img2", "extra"]
