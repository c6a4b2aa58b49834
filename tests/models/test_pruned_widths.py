"""A network narrowed to stored widths: what a pruned checkpoint needs to load strictly, without pruning code."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.models.pruned_widths import apply_widths, changed_widths, layer_widths


class Mixed(nn.Module):
    """Conv, depthwise conv, BatchNorm and a linear layer: every kind a width can name."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Conv2d(3, 6, 3, padding=1)
        self.dw = nn.Conv2d(6, 6, 3, padding=1, groups=6)
        self.bn = nn.BatchNorm2d(6)
        self.fc = nn.Linear(6, 6)
        self.b = nn.Conv2d(6, 3, 1)

    def forward(self, x):
        h = self.bn(self.dw(self.a(x)))
        gate = torch.sigmoid(self.fc(h.mean(dim=(2, 3)))).reshape(h.shape[0], -1, 1, 1)
        return self.b(h * gate)


NARROW = {"a": [4, 3], "dw": [4, 4], "bn": [4], "fc": [4, 4], "b": [3, 4]}


def test_every_kind_of_layer_is_narrowed_and_recorded():
    network = Mixed()
    apply_widths(network, NARROW)
    assert changed_widths(Mixed(), network) == NARROW
    assert network.dw.groups == 4 and tuple(network.dw.weight.shape) == (4, 1, 3, 3)
    assert layer_widths(network)["bn"] == [4] and network.bn.running_var.shape == (4,)
    assert network(torch.rand(1, 3, 8, 8)).shape == (1, 3, 8, 8)


def test_a_narrowed_build_loads_the_narrow_state_dict_strictly():
    source = Mixed()
    apply_widths(source, NARROW)
    with torch.no_grad():
        for parameter in source.parameters():
            parameter.uniform_(-1, 1)
    rebuilt = Mixed()
    apply_widths(rebuilt, changed_widths(Mixed(), source))
    rebuilt.load_state_dict(source.state_dict(), strict=True)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt.eval()(x), source.eval()(x))


def test_a_network_with_other_layers_is_not_a_narrowing_of_the_reference():
    with pytest.raises(DistillsrError, match="does not have the layers"):
        changed_widths(Mixed(), nn.Sequential(nn.Conv2d(3, 3, 1)))


@pytest.mark.parametrize(
    "widths, message",
    [
        ({"nope": [2, 3]}, "does not have"),
        ({"bn": [2, 3]}, "1 positive integer"),
        ({"a": [0, 3]}, "2 positive integer"),
        ({"a": "4x3"}, "2 positive integer"),
        ({"": [1]}, "not a conv"),
        ({"dw": [4, 5]}, "depthwise"),
        (["a"], "must map layer paths"),
    ],
)
def test_bad_widths_are_refused_with_the_layer_named(widths, message):
    with pytest.raises(DistillsrError, match=message):
        apply_widths(Mixed(), widths)
