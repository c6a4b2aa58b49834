"""The one forward every path runs (predict, the upscaler's tiles, bench): precision, layout, float32, finite."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.inference.forward import check_finite, forward, looks_broken, non_finite_output_message

CPU = torch.device("cpu")


class Probe(nn.Module):
    """Records the layout and dtype each call sees."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.seen: list[tuple[bool, torch.dtype]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        self.seen.append((x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous(), out.dtype))
        return out


def test_the_fast_layout_on_the_cpu_and_float32_out():
    probe, x = Probe(), torch.rand(1, 3, 8, 8)
    assert forward(probe, x, "fp32", CPU).dtype == torch.float32
    assert forward(probe, x, "fp32", CPU, fast_layout=False).dtype == torch.float32
    assert [channels_last for channels_last, _ in probe.seen] == [True, False]


def test_a_reduced_precision_runs_under_autocast_and_comes_back_float32():
    probe = Probe()
    assert forward(probe, torch.rand(1, 3, 8, 8), "bf16", CPU).dtype == torch.float32
    assert probe.seen[-1][1] == torch.bfloat16


def test_broken_outputs_are_told_apart_from_dark_inputs():
    x = torch.rand(1, 3, 4, 4)
    assert looks_broken(x, torch.zeros(1, 3, 8, 8)) and looks_broken(x, torch.full((1, 3, 8, 8), float("nan")))
    assert not looks_broken(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 8, 8))
    assert not looks_broken(x, torch.rand(1, 3, 8, 8))


def test_a_non_finite_output_blames_the_weights_file():
    class Named:
        name, metadata = "dipnet", {"weights": "broken.pth"}

    out = torch.ones(1, 3, 2, 2)
    assert check_finite(out, Named()) is out
    out[0, 0, 0, 0] = float("inf")
    with pytest.raises(DistillsrError, match=r"dipnet produced NaN or infinite values: its weights \(broken\.pth\)"):
        check_finite(out, Named())
    assert non_finite_output_message(object()) == "the model produced NaN or infinite values: its weights are probably broken"
