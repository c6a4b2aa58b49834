"""EDBB (EFDN's edge-enhanced diverse branch block): branches as the official code computes them,
and a fold into ``rep_conv`` + ``act`` that is exact, borders included."""

from __future__ import annotations

import copy

import pytest
import torch
import torch.nn.functional as F
from support.models import FOLD_TOLERANCE, randomise_parameters

from distillsr.nn.edbb import EDBB, EDGE_FILTERS, EDBBDeploy, EdgeFilter, ExpandConv3x3, edge_conv3x3
from distillsr.nn.reparam import deploy, is_deployed


def _pad_with(y: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The official ``SeqConv3x3`` padding: zero-pad by one, then overwrite the ring with the 1x1's bias."""
    y = F.pad(y, (1, 1, 1, 1), "constant", 0)
    b = bias.view(1, -1, 1, 1)
    y[:, :, 0:1, :] = b
    y[:, :, -1:, :] = b
    y[:, :, :, 0:1] = b
    y[:, :, :, -1:] = b
    return y


@pytest.mark.parametrize("edge", list(EDGE_FILTERS))
def test_edge_branch_is_the_official_bias_padded_computation(edge):
    branch = randomise_parameters(EdgeFilter(4, 6, edge), seed=3).double()
    x = torch.randn(2, 4, 7, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        y0 = _pad_with(F.conv2d(x, branch.conv.weight, branch.conv.bias), branch.conv.bias)
        expected = F.conv2d(y0, branch.scale * branch.mask, branch.bias, groups=6)
        assert (branch(x) - expected).abs().max() < 1e-12


def test_the_official_masks():
    assert EDGE_FILTERS["sobel_x"] == ((1, 0, -1), (2, 0, -2), (1, 0, -1))  # mask[i, 0, row, col] of the official code
    assert EDGE_FILTERS["sobel_y"] == ((1, 2, 1), (0, 0, 0), (-1, -2, -1))
    assert EDGE_FILTERS["laplacian"] == ((0, 1, 0), (1, -4, 1), (0, 1, 0))
    assert "mask" not in EdgeFilter(2, 3, "laplacian").state_dict()  # fixed, not learnt


def test_expand_branch_is_the_official_bias_padded_computation():
    branch = randomise_parameters(ExpandConv3x3(4, 5, 7), seed=4).double()
    x = torch.randn(1, 4, 6, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        y0 = _pad_with(branch.conv1(x), branch.conv1.bias)
        assert (branch(x) - branch.conv2(y0)).abs().max() < 1e-12


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("identity,expand", [(False, False), (True, False), (False, True), (True, True)])
def test_fold_is_exact(identity, expand, dtype):
    block = randomise_parameters(EDBB(6, 6, identity=identity, expand=expand), seed=9).to(dtype).eval()
    x = torch.randn(2, 6, 8, 7, dtype=dtype, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = block(x)
        folded = deploy(copy.deepcopy(block))
        assert isinstance(folded, EDBBDeploy) and is_deployed(folded)
        error = (folded(x) - expected).abs().max().item()
    assert error <= FOLD_TOLERANCE[dtype], error
    assert set(folded.state_dict()) == {"rep_conv.weight", "rep_conv.bias", "act.weight"}


def test_fold_with_in_and_out_widths_that_differ():
    block = randomise_parameters(EDBB(4, 7, expand=True, depth_multiplier=0.5), seed=2).double()
    x = torch.randn(1, 4, 5, 9, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        assert (block.fold()(x) - block(x)).abs().max() < 1e-10


def test_official_defaults_and_refusals():
    block = EDBB(8, 8)
    assert "conv1x1_3x3" not in block._modules and not block.identity  # with_13=False, with_idt=False
    with pytest.raises(ValueError, match="identity branch needs in == out"):
        EDBB(4, 6, identity=True)
    with pytest.raises(ValueError, match="unknown edge filter"):
        EdgeFilter(2, 2, "prewitt")
    assert isinstance(edge_conv3x3(4, 4, deploy=True), EDBBDeploy)
    assert isinstance(edge_conv3x3(4, 4, deploy=False), EDBB)
