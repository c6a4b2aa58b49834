"""The op-by-op channel tracer: what ties channels, what makes them unprunable, and why."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.compression.pruning.trace import trace_channels


def _classes(network: nn.Module, channels: int = 3) -> tuple[dict, dict]:
    graph, _ = trace_channels(network, torch.rand(1, channels, 8, 8))
    by_root, flagged = graph.classes()
    index = {}
    for root, members in by_root.items():
        for member in members:
            index[member] = root
    return index, {root: flagged.get(root) for root in by_root}


class Residual(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 6, 3, padding=1)
        self.b = nn.Conv2d(6, 6, 3, padding=1)
        self.c = nn.Conv2d(12, 3, 1)

    def forward(self, x):
        h = self.a(x)
        r = F.leaky_relu(self.b(h)) + h  # ties b's filters to a's
        return self.c(torch.cat([h, r * torch.sigmoid(r.mean(dim=(2, 3), keepdim=True))], dim=1))


def test_adds_tie_filters_and_concatenation_keeps_offsets():
    index, flagged = _classes(Residual())
    for channel in range(6):
        root = index[("a", "out", channel)]
        assert index[("b", "out", channel)] == root
        assert index[("b", "in", channel)] == root
        assert index[("c", "in", channel)] == root and index[("c", "in", channel + 6)] == root  # h and r at offsets
        assert flagged[root] is None
    assert index[("a", "out", 0)] != index[("a", "out", 1)]
    assert "network output" in flagged[index[("c", "out", 0)]]
    assert "network input" in flagged[index[("a", "in", 0)]]


class Splitting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 8, 1)
        self.b = nn.Conv2d(6, 4, 1)
        self.c = nn.Conv2d(6, 3, 1)

    def forward(self, x):
        d, r = torch.split(self.a(x), (2, 6), dim=1)
        h = self.b(r)
        return self.c(torch.cat([d, h], dim=1))


def test_a_split_makes_its_source_unprunable_and_says_why():
    index, flagged = _classes(Splitting())
    assert "split" in flagged[index[("a", "out", 0)]] and "split" in flagged[index[("a", "out", 7)]]
    assert flagged[index[("b", "out", 0)]] is None  # b's output reaches c through cat, at offset 2
    assert index[("b", "out", 1)] == index[("c", "in", 3)]
    # each piece is the source's channels at their offsets: reorderable inside a piece, never removable
    assert index[("a", "out", 1)] == index[("c", "in", 1)] and index[("a", "out", 2)] == index[("b", "in", 0)]
    graph, _ = trace_channels(Splitting(), torch.rand(1, 3, 8, 8))
    assert index[("a", "out", 5)] in graph.permutable_roots()
    assert index[("c", "out", 0)] not in graph.permutable_roots()  # the image's channels stay where they are


class Odd(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 4, 1)
        self.dw = nn.Conv2d(4, 4, 3, padding=1, groups=4)
        self.b = nn.Conv2d(4, 3, 1)
        self.c = nn.Conv2d(3, 4, 1)
        self.g = nn.Conv2d(4, 4, 1, groups=2)
        self.e = nn.Conv2d(4, 3, 1)
        self.f = nn.Conv2d(3, 4, 1)
        self.h = nn.Conv2d(4, 3, 1)

    def forward(self, x):
        plain = self.b(self.dw(self.a(x)))
        grouped = self.e(self.g(self.c(x)))
        flipped = self.h(torch.flip(self.f(x), dims=[2]))  # an op the tracer does not know
        return plain + grouped + flipped


def test_depthwise_ties_input_and_output_and_unknown_ops_are_refused():
    index, flagged = _classes(Odd())
    assert index[("a", "out", 2)] == index[("dw", "out", 2)] == index[("b", "in", 2)]
    assert flagged[index[("a", "out", 2)]] is None
    assert "groups=2" in flagged[index[("c", "out", 0)]] and "groups=2" in flagged[index[("g", "out", 0)]]
    assert "flip" in flagged[index[("f", "out", 0)]] and "flip" in flagged[index[("h", "in", 0)]]


def test_a_parameter_used_directly_is_not_sliced_silently():
    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 4, 1)
            self.b = nn.Conv2d(4, 3, 1)
            self.scale = nn.Parameter(torch.ones(1, 4, 1, 1))

        def forward(self, x):
            return self.b(self.a(x) * self.scale)

    index, flagged = _classes(Scaled())
    assert "scale used directly" in flagged[index[("a", "out", 0)]]


def test_pixel_shuffle_ties_each_block_of_filters_to_one_channel_after_it():
    """Output channel c of PixelShuffle(2) is input channels 4c..4c+3: they go together, and with the reader's column c."""
    network = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2), nn.Conv2d(3, 3, 1))
    index, flagged = _classes(network)
    for channel in range(3):
        root = index[("2", "in", channel)]
        assert [index[("0", "out", 4 * channel + k)] for k in range(4)] == [root] * 4 and flagged[root] is None
    assert index[("0", "out", 4)] != index[("0", "out", 3)]
    unshuffled = nn.Sequential(nn.Conv2d(3, 4, 1), nn.PixelUnshuffle(2), nn.Conv2d(16, 3, 1))
    index, flagged = _classes(unshuffled)
    assert "moves pixels into channels" in flagged[index[("0", "out", 1)]]


def test_linear_on_pooled_features_and_batchnorm_members():
    class Gate(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.a = nn.Conv2d(3, 5, 1)
            self.bn = nn.BatchNorm2d(5)
            self.fc = nn.Linear(5, 5)
            self.b = nn.Conv2d(5, 3, 1)

        def forward(self, x):
            h = self.bn(self.a(x))
            gate = torch.sigmoid(self.fc(h.mean(dim=(2, 3)))).reshape(h.shape[0], -1, 1, 1)
            return self.b(h * gate)

    index, flagged = _classes(Gate())
    root = index[("a", "out", 4)]
    assert index[("bn", "bn", 4)] == root and index[("fc", "in", 4)] == root and index[("fc", "out", 4)] == root
    assert flagged[root] is None
