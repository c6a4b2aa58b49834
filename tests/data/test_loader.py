"""The resumable sampler and loader: deterministic order, rank shards, resume mid-epoch."""

from __future__ import annotations

import io

import pytest
import torch
from torch.utils.data import DistributedSampler

from distillsr.data.loader import ResumableSampler, iterate_batches, make_loader
from distillsr.data.training import PairedTrainingSet
from distillsr.errors import DistillsrError


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


def test_a_worker_leaves_ctrl_c_to_the_trainer_and_is_seeded_by_its_position():
    """Ctrl-C reaches every process of the group; the trainer saves, so the worker must not die first."""
    import random
    import signal

    import numpy as np

    from distillsr.data.loader import WorkerSeeder

    previous = signal.getsignal(signal.SIGINT)
    try:
        WorkerSeeder(seed=5, rank=1)(worker_id=2)
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        first = (random.random(), float(np.random.rand()), float(torch.rand(1)))
        WorkerSeeder(seed=5, rank=1)(worker_id=2)
        assert (random.random(), float(np.random.rand()), float(torch.rand(1))) == first
        WorkerSeeder(seed=5, rank=1)(worker_id=3)
        assert random.random() != first[0]
    finally:
        signal.signal(signal.SIGINT, previous)
