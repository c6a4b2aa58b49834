"""The fold's self-check: a correct fold passes with room to spare, a wrong one is caught and its block named."""

from __future__ import annotations

import copy

import pytest
import torch

from distillsr.models.zoo import get_entry
from distillsr.nn.reparam import deploy, is_deployed
from distillsr.nn.rrrb import RRRB
from distillsr.training.stages.fold_check import (
    FOLD_TOLERANCE,
    check_patches,
    fold_and_check,
    worst_block,
)


def _student() -> torch.nn.Module:
    torch.manual_seed(0)
    return get_entry("dipnet-student").build(2, channels=8, mid_channels=8, expansion=16, num_blocks=2)


def _lr() -> torch.Tensor:
    return torch.rand(2, 3, 16, 16, generator=torch.Generator().manual_seed(1))


def _break(block: RRRB, monkeypatch, amount: float = 0.05) -> None:
    """Make ``block``'s fold (and its copies') forget part of its identity branch; the others fold correctly."""
    real = RRRB.fold
    block.fold_wrong = True  # an attribute, so that copies of the network carry the fault too

    def fold(self):
        conv = real(self)
        if getattr(self, "fold_wrong", False):
            with torch.no_grad():
                conv.weight[:, :, 1, 1] -= amount * torch.eye(self.channels)
        return conv

    monkeypatch.setattr(RRRB, "fold", fold)


def test_a_correct_fold_agrees_far_below_the_tolerance():
    network = _student()
    folded, check = fold_and_check(network, _lr(), 1.0, deploy)
    assert check.passed and check.difference < FOLD_TOLERANCE / 100 and check.culprit is None
    assert is_deployed(folded)


def test_a_wrong_fold_fails_and_the_block_that_folds_wrong_is_named(monkeypatch):
    network = _student()
    name, block = [(n, m) for n, m in network.named_modules() if isinstance(m, RRRB)][3]
    _break(block, monkeypatch)
    folded, check = fold_and_check(network, _lr(), 1.0, deploy)
    assert not check.passed and check.difference > FOLD_TOLERANCE
    assert check.culprit is not None and check.culprit[:2] == (name, "RRRB") and check.culprit[2] > FOLD_TOLERANCE
    assert is_deployed(folded), "the fold itself happened; the caller decides what a failed check means"


def test_the_check_compares_on_the_unit_scale_whatever_the_input_range(monkeypatch):
    """A network on 0-255 inputs is scaled in and out, so the tolerance means the same for every model."""
    network = _student()
    _break([m for m in network.modules() if isinstance(m, RRRB)][0], monkeypatch, amount=0.01)
    lr = _lr().double()
    with torch.no_grad():
        before = copy.deepcopy(network).double()(lr * 255.0) / 255.0
        after = deploy(copy.deepcopy(network)).double()(lr * 255.0) / 255.0
    _, check = fold_and_check(network, lr.float(), 255.0, deploy)
    assert check.difference == pytest.approx(float((before - after).abs().max()), rel=1e-6)


def test_worst_block_is_none_without_foldable_blocks():
    plain = get_entry("imdn").build(2, channels=8, num_blocks=1).double()
    assert worst_block(plain, _lr().double(), 1.0) is None


def test_check_patches_are_the_first_items_of_the_training_set():
    items = [{"lr": torch.full((3, 4, 4), float(i))} for i in range(6)]
    batch = check_patches(items, count=4)
    assert batch.shape == (4, 3, 4, 4) and [float(b[0, 0, 0]) for b in batch] == [0, 1, 2, 3]
    assert check_patches(items[:2]).shape[0] == 2
