"""Diverse Branch Block: exact folds for many shapes, the official key layout, its initial state."""

from __future__ import annotations

import copy

import pytest
import torch
from support.models import FOLD_TOLERANCE, max_diff, randomise
from torch import nn

from distillsr.nn.dbb import DiverseBranchBlock
from distillsr.nn.reparam import deploy


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize(
    "in_channels,out_channels,kernel_size",
    [(3, 8, 3), (8, 8, 3), (16, 12, 3), (8, 8, 1), (6, 10, 5), (1, 1, 3)],
)
def test_dbb_fold_is_exact(in_channels, out_channels, kernel_size, dtype):
    block = randomise(DiverseBranchBlock(in_channels, out_channels, kernel_size), seed=in_channels * 31 + kernel_size)
    train = block.to(dtype).eval()
    folded = deploy(copy.deepcopy(train))
    assert type(folded) is nn.Conv2d and folded.bias is not None
    assert folded.weight.dtype == dtype
    x = torch.randn(2, in_channels, 11, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64).to(dtype)
    with torch.no_grad():
        difference = max_diff(train(x), folded(x))
    assert difference <= FOLD_TOLERANCE[dtype], difference


def test_dbb_key_names_follow_the_official_layout():
    names = set(DiverseBranchBlock(4, 4, 3).state_dict())
    assert names == {
        "dbb_origin.conv.weight", *(f"dbb_origin.bn.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "dbb_avg.conv.weight",
        *(f"dbb_avg.bn.bn.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        *(f"dbb_avg.avgbn.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "dbb_1x1.conv.weight", *(f"dbb_1x1.bn.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "dbb_1x1_kxk.idconv1.weight",
        *(f"dbb_1x1_kxk.bn1.bn.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
        "dbb_1x1_kxk.conv2.weight",
        *(f"dbb_1x1_kxk.bn2.{b}" for b in ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")),
    }


def test_dbb_starts_as_its_kxk_branch_family():
    """The identity-initialised 1x1 makes a fresh branch 4 a plain conv_kxk + BN of its input."""
    block = DiverseBranchBlock(4, 4, 3).eval()
    assert torch.equal(block.dbb_1x1_kxk.idconv1.kernel()[:, :, 0, 0], torch.eye(4))
