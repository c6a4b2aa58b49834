"""distillsr.nn.upsample: the conv + pixel-shuffle tail and the block chain of IMDN / RFDN."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from distillsr.nn.upsample import chain_outputs, pixel_shuffle_tail


def _hand_pixel_shuffle(y: torch.Tensor, scale: int) -> torch.Tensor:
    """out[c, h*s + i, w*s + j] = y[c*s*s + i*s + j, h, w], written out with loops."""
    n, channels, height, width = y.shape
    out = torch.empty(n, channels // (scale * scale), height * scale, width * scale, dtype=y.dtype)
    for c in range(out.shape[1]):
        for i in range(scale):
            for j in range(scale):
                out[:, c, i::scale, j::scale] = y[:, c * scale * scale + i * scale + j]
    return out


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_tail_is_a_same_padded_conv_then_pixel_shuffle(scale):
    torch.manual_seed(scale)
    tail = pixel_shuffle_tail(8, 3, scale).double()
    x = torch.rand(2, 8, 5, 6, dtype=torch.float64)
    conv = F.conv2d(x, tail[0].weight, tail[0].bias, padding=1)
    expected = _hand_pixel_shuffle(conv, scale)
    out = tail(x)
    assert out.shape == (2, 3, 5 * scale, 6 * scale)
    assert torch.allclose(out, expected, atol=1e-12)
    assert torch.allclose(out, F.pixel_shuffle(conv, scale), atol=1e-12)


def test_tail_keys_follow_the_official_upsampler():
    tail = pixel_shuffle_tail(50, 3, 4)
    shapes = {k: tuple(v.shape) for k, v in tail.state_dict().items()}
    # RFDN_AIM.pth: upsampler.0.weight [48,50,3,3], upsampler.0.bias [48]
    assert shapes == {"0.weight": (48, 50, 3, 3), "0.bias": (48,)}
    assert {k: tuple(v.shape) for k, v in pixel_shuffle_tail(16, 1, 2, kernel_size=1, bias=False).state_dict().items()} == {
        "0.weight": (4, 16, 1, 1)
    }


def test_a_five_by_five_tail_keeps_the_size():
    assert pixel_shuffle_tail(4, 3, 2, kernel_size=5)(torch.rand(1, 4, 7, 9)).shape == (1, 3, 14, 18)


class _Affine(nn.Module):
    def __init__(self, add: float, times: float) -> None:
        super().__init__()
        self.add, self.times = add, times

    def forward(self, x):
        return (x + self.add) * self.times


def test_chain_outputs_feeds_each_block_the_last_output_and_keeps_all():
    x = torch.tensor([1.0])
    blocks = (_Affine(1, 2), _Affine(-3, 10), _Affine(0, 0.5))  # a generator works as well as a list
    outputs = chain_outputs((b for b in blocks), x)
    assert [o.item() for o in outputs] == [4.0, 10.0, 5.0]
    assert chain_outputs([], x) == []
