"""The reparameterized dynamic unit: its fold is exact and keeps the dynamic branch as it was."""

from __future__ import annotations

import copy

import pytest
import torch
from support import state_dict_shapes
from support.models import FOLD_TOLERANCE, max_diff, randomise
from torch import nn

from distillsr.nn.dynamic import RDU, DynamicConv
from distillsr.nn.reparam import deploy, is_deployed


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("in_channels,out_channels,rank", [(16, 16, 4), (12, 20, 5), (24, 8, 6)])
def test_rdu_fold_is_exact_and_keeps_the_dynamic_branch(in_channels, out_channels, rank, dtype):
    rdu = randomise(RDU(in_channels, out_channels, 3, rank=rank, activation=nn.LeakyReLU(0.05)), seed=rank)
    train = rdu.to(dtype).eval()
    folded = deploy(copy.deepcopy(train))
    assert isinstance(folded.unit, DynamicConv) and is_deployed(folded)
    assert not is_deployed(train), "folding must leave the train-time module untouched"
    train_branch = {k: v for k, v in train.state_dict().items() if ".dy_branch." in k}
    folded_branch = {k: v for k, v in folded.state_dict().items() if ".dy_branch." in k}
    assert train_branch.keys() == folded_branch.keys()
    assert all(torch.equal(train_branch[k], folded_branch[k]) for k in train_branch)
    assert set(folded.state_dict()) - set(folded_branch) == {"unit.dbb_reparam.weight", "unit.dbb_reparam.bias"}
    assert state_dict_shapes(folded) == state_dict_shapes(RDU(in_channels, out_channels, 3, rank=rank, deploy=True))
    x = torch.randn(3, in_channels, 10, 13, generator=torch.Generator().manual_seed(1), dtype=torch.float64).to(dtype)
    with torch.no_grad():
        difference = max_diff(train(x), folded(x))
    assert difference <= FOLD_TOLERANCE[dtype], difference
