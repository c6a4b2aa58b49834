"""efficiency.ntire_flops: the challenge kit's FLOPs, by its rules, against its published figures."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from support import official_weights
from torch import nn

import distillsr
from distillsr.efficiency import count_ops
from distillsr.efficiency.ntire_flops import ntire_flops


class HandCounted(nn.Module):
    """Every rule once, small enough to count on paper at a 1x3x4x5 input (20 positions)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)  # bias not counted: 9*3*8*20 = 4,320
        self.grouped = nn.Conv2d(8, 8, 3, padding=1, groups=4)  # kit: 9*8*(8//4)*20 = 2,880
        self.act = nn.LeakyReLU(0.05)  # module: 8*20 = 160
        self.norm = nn.BatchNorm2d(8)  # affine: 2*8*20 = 320
        self.linear = nn.Linear(8, 2)  # on the pooled (1, 8): 16

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.act(self.conv(x))
        y = F.relu(self.norm(self.grouped(y)))  # functional, counted like the module: 160
        y = torch.sigmoid(y) + y  # free
        pooled = F.adaptive_avg_pool2d(y, 1).flatten(1)  # free
        return self.linear(pooled)


def test_each_rule_counts_what_the_kit_counts():
    assert ntire_flops(HandCounted(), (1, 3, 4, 5)) == 4320 + 2880 + 160 + 320 + 16 + 160


def test_an_inplace_activation_module_counts_once_per_call():
    net = nn.Sequential(nn.Conv2d(3, 2, 1, bias=False), nn.ReLU(inplace=True))
    shared_relu = nn.Sequential(net, net[1])  # the same module called twice, as ESA does
    assert ntire_flops(net, (1, 3, 2, 2)) == 3 * 2 * 4 + 2 * 4
    assert ntire_flops(shared_relu, (1, 3, 2, 2)) == 3 * 2 * 4 + 2 * 4 * 2


@pytest.mark.parametrize(
    ("family", "filename", "published", "macs"),
    [
        # methods.md: the kit on the released weights gives 27.1026 G (E-RFDN) and 14.9011 G (DIPNet)
        ("rfdn", "RFDN_AIM.pth", 27.1026e9, 27.03e9),
        ("dipnet", "DIPNet.pth", 14.9011e9, 14.87e9),
    ],
)
def test_the_published_challenge_figures_are_reproduced(family, filename, published, macs):
    model = distillsr.load_model(official_weights(family, filename))
    flops = ntire_flops(model.network)
    assert round(flops / 1e9, 4) == round(published / 1e9, 4)
    assert round(count_ops(model.network).macs / 1e9, 2) == round(macs / 1e9, 2)  # fvcore-style: convs only (issue 11)


def test_the_profile_report_shows_both_counts(capsys):
    from distillsr.cli import main

    assert main(["profile", "-m", "dipnet", "--input", "3x256x256", "--repeats", "1", "--warmup", "0"]) == 0
    out = capsys.readouterr().out
    assert "FLOPs (NTIRE kit)   14.9011 G" in out or "14.9011 G (14,901,086,208" in out
    assert "MACs (conv, fvcore-style)" in out
