"""Training patches, sub-images and the resumable loader: alignment, augmentation, determinism, resume."""

from __future__ import annotations

import io
import random
import warnings

import numpy as np
import pytest
import torch
from support import require_shared
from PIL import Image
from torch.utils.data import DistributedSampler

from distillsr.data.loader import ResumableSampler, iterate_batches, make_loader
from distillsr.data.lr_cache import LRCache
from distillsr.data.subimages import crop_positions, extract_subimages
from distillsr.data.training import PairedTrainingSet, PatchParams
from distillsr.errors import DataError, DistillsrError
from distillsr.imaging.degrade import BlurDown, modcrop
from distillsr.imaging.io import list_images, read_image, write_image
from distillsr.imaging.resize import imresize


def _save(path, array):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


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


def _smooth_image(rng, height, width):
    """A textured image whose bicubic downscale is not trivially constant."""
    base = rng.integers(0, 256, (height // 4 + 2, width // 4 + 2, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(base).resize((width, height), Image.BILINEAR))
    noise = rng.integers(-20, 21, big.shape)
    return np.clip(big.astype(int) + noise, 0, 255).astype(np.uint8)


@pytest.fixture
def hr_folder(tmp_path, rng):
    folder = tmp_path / "HR"
    for i, (h, w) in enumerate([(70, 90), (64, 66), (81, 77)]):
        _save(folder / f"img{i}.png", _smooth_image(rng, h, w))
    return folder


@pytest.fixture
def paired_folders(tmp_path, rng):
    """LR images with unique pixels; HR = nearest upscale, so an aligned HR patch is LR repeated."""
    scale = 3
    for i, (h, w) in enumerate([(20, 24), (17, 30)]):
        lr = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        hr = np.repeat(np.repeat(lr, scale, axis=0), scale, axis=1)
        _save(tmp_path / "HR" / f"p{i}.png", hr)
        _save(tmp_path / "LR" / f"p{i}x{scale}.png", lr)
    return tmp_path / "HR", tmp_path / "LR", scale


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
    colour = _smooth_image(rng, 40, 40)
    grey = colour[:, :, 0].copy()
    rgba = np.dstack([colour, rng.integers(0, 256, (40, 40), dtype=np.uint8)])
    _save(tmp_path / "HR" / "grey.png", grey)
    _save(tmp_path / "HR" / "rgba.png", rgba)
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
    _save(tmp_path / "HR" / "big.png", _smooth_image(rng, 40, 40))
    _save(tmp_path / "HR" / "tiny.png", _smooth_image(rng, 30, 50))
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
    _save(wrong / "p0x3.png", np.zeros((5, 5, 3), np.uint8))
    _save(tmp_path / "hr2" / "p0.png", np.zeros((60, 60, 3), np.uint8))
    with pytest.raises(DataError, match="needs 20x20"):
        PairedTrainingSet(tmp_path / "hr2", scale, lr_folders=wrong, lr_patch_size=4)


def test_several_hr_folders_are_concatenated(hr_folder, tmp_path, rng):
    second = tmp_path / "more"
    _save(second / "extra.png", _smooth_image(rng, 40, 40))
    data = PairedTrainingSet([hr_folder, second], 3, lr_patch_size=5)
    assert [p.name for p in data.pairs] == ["img0", "img1", "img2", "extra"]


# ------------------------------------------------------------------------- sub-images --


def test_crop_positions_follow_basicsr():
    assert crop_positions(100, 48, 24, 0) == [0, 24, 48, 52]
    assert crop_positions(96, 48, 24, 0) == [0, 24, 48]
    assert crop_positions(100, 48, 24, 10) == [0, 24, 48]  # 4 px left over is below the threshold
    assert crop_positions(30, 48, 24, 0) == [0]


def test_extract_subimages_counts_contents_and_idempotence(tmp_path, rng):
    source = tmp_path / "src"
    big = rng.integers(0, 256, (100, 130, 3), dtype=np.uint8)
    _save(source / "a.png", big)
    _save(source / "small.png", rng.integers(0, 256, (30, 40), dtype=np.uint8))
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
    _save(tmp_path / "lr" / "0001x4.png", rng.integers(0, 256, (30, 30, 3), dtype=np.uint8))
    extract_subimages(tmp_path / "lr", tmp_path / "out", crop=12, step=6, strip_scale=4)
    assert list_images(tmp_path / "out")[0].name == "0001_s001.png"


# --------------------------------------------------------------------- sampler and loader --


def test_sampler_order_is_a_permutation_fixed_by_seed_and_epoch():
    sampler = ResumableSampler(50, seed=3)
    orders = []
    for epoch in range(3):
        sampler.set_epoch(epoch)
        order = list(sampler)
        assert sorted(order) == list(range(50))
        orders.append(order)
    assert orders[0] != orders[1] != orders[2]
    fresh = ResumableSampler(50, seed=3)
    fresh.set_epoch(1)
    assert list(fresh) == orders[1]
    assert list(ResumableSampler(50, seed=4)) != orders[0]
    assert list(ResumableSampler(7, shuffle=False)) == list(range(7))


@pytest.mark.parametrize("length,world,drop_last", [(10, 3, False), (10, 3, True), (12, 4, True), (5, 2, False), (2, 5, False)])
def test_ranks_shard_like_distributed_sampler(length, world, drop_last):
    shards = [ResumableSampler(length, seed=1, rank=r, world_size=world, drop_last=drop_last) for r in range(world)]
    for sampler in shards:
        sampler.set_epoch(2)
    lists = [list(s) for s in shards]
    assert len({len(x) for x in lists}) == 1 and len(lists[0]) == len(shards[0])
    positions = [i for r in range(world) for i in range(r, shards[0].total_size, world)]
    assert sorted(positions) == list(range(shards[0].total_size))  # disjoint slices of one order
    order = shards[0].epoch_order(2)
    for r, values in enumerate(lists):
        assert values == order[r::world].tolist()
    covered = set().union(*map(set, lists))
    if drop_last:
        assert sum(map(len, lists)) == len(covered) == (length // world) * world
    else:
        assert covered == set(range(length))
    # same padding/truncation as torch's DistributedSampler (compare unshuffled orders)
    for r in range(world):
        ours = list(ResumableSampler(length, shuffle=False, rank=r, world_size=world, drop_last=drop_last))
        theirs = list(DistributedSampler(range(length), num_replicas=world, rank=r, shuffle=False, drop_last=drop_last))
        assert ours == theirs


def test_sampler_state_is_plain_and_checked():
    sampler = ResumableSampler(20, seed=5)
    sampler.set_epoch(3)
    sampler.advance(8)
    state = sampler.state_dict()
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=True)
    resumed = ResumableSampler(20, seed=5)
    resumed.load_state_dict(loaded)
    assert (resumed.epoch, resumed.position) == (3, 8)
    assert list(resumed) == sampler.rank_indices(3)[8:]
    resumed.set_epoch(3)  # a DDP-style loop re-setting the same epoch keeps the position
    assert resumed.position == 8
    with pytest.raises(DistillsrError, match="dataset_len"):
        ResumableSampler(21, seed=5).load_state_dict(state)
    with pytest.raises(DistillsrError, match="seed"):
        ResumableSampler(20, seed=6).load_state_dict(state)


def test_world_size_change_still_sees_every_remaining_sample_once():
    old = [ResumableSampler(24, seed=2, rank=r, world_size=2) for r in range(2)]
    for s in old:
        s.advance(4)
    consumed = set(old[0].rank_indices()[:4]) | set(old[1].rank_indices()[:4])
    new = [ResumableSampler(24, seed=2, rank=r, world_size=4) for r in range(4)]
    for s in new:
        s.load_state_dict(old[0].state_dict())
    rest = [i for s in new for i in s]
    assert len(rest) == len(set(rest)) == 16 and consumed.isdisjoint(rest)


def _dataset(paired_folders, **kw):
    hr_dir, lr_dir, scale = paired_folders
    return PairedTrainingSet(hr_dir, scale, lr_folders=lr_dir, lr_patch_size=4, repeat=11, seed=9, **kw)


def _take(stream, count):
    return [next(stream) for _ in range(count)]


def _same_batches(a, b) -> bool:
    return len(a) == len(b) and all(
        torch.equal(x["lr"], y["lr"]) and torch.equal(x["hr"], y["hr"]) and x["name"] == y["name"] for x, y in zip(a, b)
    )


def test_worker_count_does_not_change_batches(paired_folders):
    batches = {}
    for workers in (0, 2):
        loader, sampler = make_loader(_dataset(paired_folders), 4, num_workers=workers, seed=11)
        batches[workers] = _take(iterate_batches(loader, sampler), 8)  # 22 items -> 5 batches/epoch: crosses one
        assert sampler.epoch == loader.dataset.epoch == 1
    assert _same_batches(batches[0], batches[2])


@pytest.mark.parametrize("stop", [0, 3, 5, 7])
def test_resume_from_sampler_state_gives_the_uninterrupted_batches(paired_folders, stop):
    # 22 items, batch 4 -> 5 batches per epoch; stop=5 is exactly an epoch boundary
    loader, sampler = make_loader(_dataset(paired_folders), 4, seed=11)
    reference = _take(iterate_batches(loader, sampler), 14)

    loader, sampler = make_loader(_dataset(paired_folders), 4, seed=11)
    stream = iterate_batches(loader, sampler)
    first = _take(stream, stop)
    buffer = io.BytesIO()
    torch.save({"sampler": sampler.state_dict()}, buffer)
    del stream, loader, sampler

    buffer.seek(0)
    state = torch.load(buffer, weights_only=True)["sampler"]
    loader, sampler = make_loader(_dataset(paired_folders), 4, seed=11, num_workers=2 if stop == 3 else 0)
    sampler.load_state_dict(state)
    rest = _take(iterate_batches(loader, sampler), 14 - stop)
    assert _same_batches(first + rest, reference)


def test_resume_from_start_iteration_and_across_ranks(paired_folders):
    loader, sampler = make_loader(_dataset(paired_folders), 2, seed=1, rank=1, world_size=2)
    reference = _take(iterate_batches(loader, sampler), 9)  # 11 per rank -> 5 batches per epoch
    loader, sampler = make_loader(_dataset(paired_folders), 2, seed=1, rank=1, world_size=2, start_iteration=6)
    assert (sampler.epoch, sampler.position) == (1, 2)
    assert _same_batches(_take(iterate_batches(loader, sampler), 3), reference[6:])
    _, other_sampler = make_loader(_dataset(paired_folders), 2, seed=1, rank=0, world_size=2)
    other_sampler.set_epoch(0)
    assert set(other_sampler.rank_indices(0)).isdisjoint(sampler.rank_indices(0))


def test_loader_refuses_batches_larger_than_an_epoch(paired_folders):
    with pytest.raises(DistillsrError, match="larger than"):
        make_loader(_dataset(paired_folders), 64)
