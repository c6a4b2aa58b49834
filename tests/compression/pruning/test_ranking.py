"""L2 filter ranking: normalised per producing layer, weakest first, DIPNet's int(n * r) per step."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.compression.pruning.groups import find_groups, group_by_name
from distillsr.compression.pruning.ranking import (
    activation_importance,
    channel_scores,
    filter_norms,
    removal_count,
    weakest,
)


class Tied(nn.Module):
    """``a`` and ``b`` write the same channels (a residual add); ``a``'s weights are 100x larger."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1, bias=False)
        self.b = nn.Conv2d(4, 4, 1, bias=False)
        self.out = nn.Conv2d(4, 3, 1)
        with torch.no_grad():
            self.a.weight.copy_(torch.tensor([4.0, 3.0, 2.0, 1.0]).reshape(4, 1, 1, 1).expand(4, 3, 1, 1) * 100)
            self.b.weight.zero_()
            self.b.weight[:, :, 0, 0] = torch.diag(torch.tensor([0.1, 0.2, 0.9, 0.8]))

    def forward(self, x):
        h = self.a(x)
        return self.out(self.b(h) + h)


def test_every_producer_votes_with_the_same_weight():
    network = Tied()
    group = group_by_name(find_groups(network))["a"]
    norms_a = filter_norms(network.a)
    assert float(norms_a.mean()) == pytest.approx(1.0)
    scores = channel_scores(network, group)
    # raw norms would rank by a alone (channel 3 weakest); normalised, b's votes count as much
    assert scores == pytest.approx([4 / 2.5 + 0.1 / 0.5, 3 / 2.5 + 0.2 / 0.5, 2 / 2.5 + 0.9 / 0.5, 1 / 2.5 + 0.8 / 0.5])
    order = [group.channels.index(channel) for channel in weakest(network, group, 2)]
    assert order == [1, 0]


def test_removal_count_follows_dipnet_and_keeps_a_channel():
    assert removal_count(48, 0.3125) == 15  # int(48 * 0.3125)
    assert removal_count(16, 0.1) == 1
    assert removal_count(8, 0.1) == 0 and removal_count(8, 0.1, at_least_one=True) == 1
    assert removal_count(2, 0.9) == 1 and removal_count(1, 0.5, at_least_one=True) == 0


def test_activation_importance_sees_what_weight_norms_cannot():
    """A small all-positive filter on non-centred pixels carries the image (E-RFDN's channel 22)."""

    class First(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(1, 2, 3, padding=1, bias=False)
            self.out = nn.Conv2d(2, 1, 1)
            with torch.no_grad():
                self.a.weight[0] = torch.tensor([[1.0, -1.0, 1.0], [-1.0, 0.0, 1.0], [-1.0, 1.0, -1.0]])  # zero DC gain
                self.a.weight[1] = 0.1  # small norm, DC gain 0.9

        def forward(self, x):
            return self.out(self.a(x))

    network = First()
    group = group_by_name(find_groups(network, torch.rand(1, 1, 8, 8)))["a"]
    pixels = 100 + torch.rand(4, 1, 12, 12)  # 0-255 style input: far from zero mean
    assert [group.channels.index(c) for c in weakest(network, group, 1)] == [1]  # L2 drops the DC filter
    importance = activation_importance(network, pixels)
    assert [group.channels.index(c) for c in weakest(network, group, 1, importance)] == [0]
    assert float(importance["a"].mean()) == pytest.approx(1.0) and set(importance) == {"a", "out"}
