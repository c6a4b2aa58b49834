"""Conv3XC (SPAN's re-parameterizable 3x3): folds exactly, as SPAN's own update_params does."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from support.models import FOLD_TOLERANCE, randomise_parameters

from distillsr.nn.conv3xc import Conv3XC, EvalConv, rep_conv3x3


def _official_fold(block: Conv3XC) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The kernel and bias SPAN's ``Conv3XC.update_params`` computes (hongyuanyu/SPAN span_arch.py):
    kernels composed by convolving them with each other (flip / permute), the skip padded to 3x3."""
    w1, w2, w3 = (conv.weight.detach() for conv in block.conv)
    w = F.conv2d(w1.flip(2, 3).permute(1, 0, 2, 3), w2, padding=2, stride=1).flip(2, 3).permute(1, 0, 2, 3)
    kernel = F.conv2d(w.flip(2, 3).permute(1, 0, 2, 3), w3, padding=0, stride=1).flip(2, 3).permute(1, 0, 2, 3)
    kernel = kernel + F.pad(block.sk.weight.detach(), [1, 1, 1, 1])
    if block.sk.bias is None:
        return kernel, None
    b1, b2, b3 = (conv.bias.detach() for conv in block.conv)
    b = (w2 * b1.reshape(1, -1, 1, 1)).sum((1, 2, 3)) + b2
    bias = (w3 * b.reshape(1, -1, 1, 1)).sum((1, 2, 3)) + b3 + block.sk.bias.detach()
    return kernel, bias


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("cin,cout,gain", [(3, 8, 2), (8, 8, 2), (6, 4, 1), (5, 7, 3)])
def test_fold_is_exact_borders_included(cin, cout, gain, bias, dtype):
    block = randomise_parameters(Conv3XC(cin, cout, gain=gain, bias=bias), seed=cin * 10 + cout).to(dtype)
    x = torch.randn(2, cin, 7, 9, dtype=dtype, generator=torch.Generator().manual_seed(2))
    folded = block.fold()
    assert isinstance(folded, EvalConv)
    assert set(folded.state_dict()) == ({"eval_conv.weight", "eval_conv.bias"} if bias else {"eval_conv.weight"})
    with torch.no_grad():
        error = (block(x) - folded(x)).abs().max().item()
    assert error <= FOLD_TOLERANCE[dtype], error


@pytest.mark.parametrize("bias", [True, False])
def test_the_fold_is_the_official_update_params(bias):
    block = randomise_parameters(Conv3XC(4, 6, gain=2, bias=bias), seed=5).double()
    kernel, folded_bias = block.equivalent_kernel_bias()
    official_kernel, official_bias = _official_fold(block)
    assert (kernel - official_kernel).abs().max() < 1e-12
    if bias:
        assert (folded_bias - official_bias).abs().max() < 1e-12
    else:
        assert folded_bias is None and official_bias is None


def test_train_form_is_the_official_forward():
    """Zero-pad the input, 1x1 -> 3x3 (valid) -> 1x1, plus the 1x1 skip: SPAN's training branch."""
    block = randomise_parameters(Conv3XC(3, 5), seed=1)
    x = torch.randn(1, 3, 6, 5, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = block.conv(F.pad(x, (1, 1, 1, 1), "constant", 0)) + block.sk(x)
        assert torch.equal(block(x), expected)


def test_train_state_dict_has_each_weight_once():
    assert set(Conv3XC(3, 4, bias=False).state_dict()) == {"sk.weight", "conv.0.weight", "conv.1.weight", "conv.2.weight"}


def test_slot_factory_picks_the_form():
    assert isinstance(rep_conv3x3(3, 4, deploy=True), EvalConv)
    assert isinstance(rep_conv3x3(3, 4, deploy=False), Conv3XC)
    assert rep_conv3x3(3, 4, deploy=True, bias=False).eval_conv.bias is None
    with pytest.raises(ValueError, match="gain must be at least 1"):
        Conv3XC(3, 4, gain=0)
