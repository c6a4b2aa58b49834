"""MACs / FLOPs, written out as independent arithmetic from layer shapes, never taken from the code
under test, so a wrong counting convention (FLOPs vs MACs, groups, transposed convs) fails."""

from __future__ import annotations

import pytest
import torch
from support.models import (
    TINY_MACS,
    TINY_SHAPE,
    FunctionalConv,
    H,
    W,
    calling_twice,
    conv_macs,
    tiny_sr,
)
from torch import nn

from distillsr.efficiency.ops import OpCount, count_ops
from distillsr.efficiency.params import count_parameters
from distillsr.errors import DistillsrError
from distillsr.models.zoo import get_entry


def test_ops_of_hand_built_model() -> None:
    assert TINY_MACS == 320 * (216 + 64 + 864)
    ops = count_ops(tiny_sr(), TINY_SHAPE)
    assert isinstance(ops, OpCount)
    assert ops.macs == TINY_MACS
    assert ops.flops == 2 * TINY_MACS
    assert ops.flops_by_op == {"convolution": 2 * TINY_MACS}
    assert ops.input_shape == TINY_SHAPE


def test_functional_conv_is_counted() -> None:
    model = FunctionalConv()
    assert count_parameters(model).total == 4 * 3 * 9
    assert count_ops(model, TINY_SHAPE).macs == conv_macs(3, 4, 3, H, W)


def test_strided_conv_uses_output_size() -> None:
    model = nn.Conv2d(3, 6, 3, stride=2, padding=1)
    hout, wout = (H + 2 - 3) // 2 + 1, (W + 2 - 3) // 2 + 1
    assert (hout, wout) == (8, 10)
    assert count_ops(model, TINY_SHAPE).macs == conv_macs(3, 6, 3, hout, wout)


def test_grouped_conv_divides_by_groups() -> None:
    model = nn.Conv2d(8, 16, 3, padding=1, groups=4)
    assert count_ops(model, (1, 8, H, W)).macs == 16 * H * W * 2 * 9


def test_transposed_conv() -> None:
    model = nn.ConvTranspose2d(4, 6, kernel_size=2, stride=2)
    hin, win = 8, 10
    # Every input pixel scatters cin * cout * k * k multiply-accumulates into the output.
    assert count_ops(model, (1, 4, hin, win)).macs == 4 * 6 * 2 * 2 * hin * win


def test_reused_conv_counts_each_call() -> None:
    conv = nn.Conv2d(3, 3, 3, padding=1)

    assert count_ops(calling_twice(conv), TINY_SHAPE).macs == 2 * conv_macs(3, 3, 3, H, W)


def test_linear_and_matmul_macs() -> None:
    assert count_ops(nn.Linear(10, 7), (2, 10)).macs == 2 * 10 * 7
    assert count_ops(nn.Linear(10, 7), (1, 5, 10)).macs == 5 * 10 * 7

    class Gram(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.matmul(x, x.transpose(-1, -2))

    assert count_ops(Gram(), (1, 6, 9)).macs == 6 * 6 * 9


# NTIRE 2022/2023 ESR tables: "FLOPs" (MACs) at 3x256x256, in G.
@pytest.mark.parametrize("name,gmacs", [("e-rfdn", 27.10), ("dipnet", 14.90)])
def test_ntire_table_figures(name, gmacs):
    with torch.device("meta"):
        shapes_only = get_entry(name).build(4)
    macs = count_ops(shapes_only, (1, 3, 256, 256), device="meta").macs
    # the NTIRE counter adds a few element-wise ops; conv/matmul MACs are within 0.3 % of it
    assert macs / 1e9 == pytest.approx(gmacs, rel=3e-3)
    assert macs < gmacs * 1e9


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_user_error() -> None:
    with pytest.raises(DistillsrError, match="CUDA is not available"):
        count_ops(tiny_sr(), TINY_SHAPE, device="cuda")
