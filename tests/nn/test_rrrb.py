"""RRRB: folds exactly into one plain 3x3 conv, with or without biases."""

from __future__ import annotations

import pytest
import torch
from support.models import FOLD_TOLERANCE, randomise_parameters

from distillsr.nn.rrrb import RRRB


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("channels,expansion", [(4, 8), (8, 32), (16, 8), (16, 32)])
def test_rrrb_fold_is_exact(channels: int, expansion: int, bias: bool, dtype: torch.dtype) -> None:
    block = randomise_parameters(RRRB(channels, expansion, bias=bias), seed=channels * 100 + expansion).to(dtype)
    x = torch.randn(2, channels, 7, 11, dtype=dtype, generator=torch.Generator().manual_seed(3))
    folded = block.fold()
    assert isinstance(folded, torch.nn.Conv2d) and not isinstance(folded, RRRB)
    assert folded.weight.shape == (channels, channels, 3, 3)
    assert (folded.bias is not None) == bias
    with torch.no_grad():
        error = (block(x) - folded(x)).abs().max().item()
    assert error <= FOLD_TOLERANCE[dtype], error


def test_rrrb_default_expansion_is_the_factsheet_width() -> None:
    assert RRRB(48).expand.out_channels == 256
