"""Activations and conv-layer counts (NTIRE's #Acts / #Conv), written out from layer shapes."""

from __future__ import annotations

import pytest
import torch
from support.models import (
    TINY_ACTIVATIONS,
    TINY_SHAPE,
    FunctionalConv,
    H,
    W,
    calling_twice,
    tiny_sr,
)
from torch import nn

from distillsr.efficiency.activations import ActivationCount, count_activations
from distillsr.errors import DistillsrError
from distillsr.models.zoo import get_entry


def test_activations_of_hand_built_model() -> None:
    acts = count_activations(tiny_sr(), TINY_SHAPE)
    assert acts == ActivationCount(activations=TINY_ACTIVATIONS, conv_layers=3, input_shape=TINY_SHAPE)


def test_functional_conv_is_counted() -> None:
    acts = count_activations(FunctionalConv(), TINY_SHAPE)
    assert (acts.activations, acts.conv_layers) == (4 * H * W, 1)


def test_strided_conv_uses_output_size() -> None:
    hout, wout = (H + 2 - 3) // 2 + 1, (W + 2 - 3) // 2 + 1
    assert count_activations(nn.Conv2d(3, 6, 3, stride=2, padding=1), TINY_SHAPE).activations == 6 * hout * wout


def test_transposed_conv() -> None:
    hin, win = 8, 10
    acts = count_activations(nn.ConvTranspose2d(4, 6, kernel_size=2, stride=2), (1, 4, hin, win))
    assert (acts.activations, acts.conv_layers) == (6 * (2 * hin) * (2 * win), 1)


def test_reused_conv_counts_each_call() -> None:
    conv = nn.Conv2d(3, 3, 3, padding=1)

    acts = count_activations(calling_twice(conv), TINY_SHAPE)
    assert (acts.activations, acts.conv_layers) == (2 * 3 * H * W, 2)


def test_linear_is_not_a_conv_activation() -> None:
    acts = count_activations(nn.Linear(10, 7), (2, 10))
    assert (acts.activations, acts.conv_layers) == (0, 0)


# NTIRE 2022/2023 ESR tables: #Acts (M) and #Conv at 3x256x256.
@pytest.mark.parametrize("name,mactivations,convs", [("e-rfdn", 112.03, 64), ("dipnet", 72.97, 39)])
def test_ntire_table_figures(name, mactivations, convs):
    activation = count_activations(get_entry(name).build(4), (1, 3, 256, 256))
    assert activation.conv_layers == convs
    assert activation.activations / 1e6 == pytest.approx(mactivations, abs=0.005)


def test_forward_failure_is_a_user_error() -> None:
    with pytest.raises(DistillsrError, match="1x4x8x8"):
        count_activations(tiny_sr(), (1, 4, 8, 8))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_without_cuda_is_a_user_error() -> None:
    with pytest.raises(DistillsrError, match="CUDA is not available"):
        count_activations(tiny_sr(), TINY_SHAPE, device="cuda")
