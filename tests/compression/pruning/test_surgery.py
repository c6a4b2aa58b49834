"""Channel removal makes smaller dense layers; the widths it leaves, recorded (models.pruned_widths), rebuild another."""

from __future__ import annotations

import copy

import torch
from torch import nn

from distillsr.compression.pruning.groups import find_groups, group_by_name
from distillsr.compression.pruning.surgery import remove_channels, silence_channels
from distillsr.models.pruned_widths import apply_widths, changed_widths, layer_widths


class Mixed(nn.Module):
    """Conv, depthwise conv, BatchNorm and a linear gate on one group."""

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


def _mixed() -> Mixed:
    torch.manual_seed(0)
    network = Mixed()
    with torch.no_grad():
        network.bn.running_mean.uniform_(-0.5, 0.5)
        network.bn.running_var.uniform_(0.5, 1.5)
        network.bn.weight.uniform_(0.5, 1.5)
        network.bn.bias.uniform_(-0.5, 0.5)
    return network.eval()


def test_removal_slices_every_kind_of_layer_and_matches_zeroing():
    network = _mixed()
    group = group_by_name(find_groups(network))["a"]
    chosen = [group.channels[1], group.channels[4]]
    masked, pruned = copy.deepcopy(network), copy.deepcopy(network)
    silence_channels(masked, chosen)
    remove_channels(pruned, chosen)
    x = torch.rand(2, 3, 9, 9)
    with torch.no_grad():
        torch.testing.assert_close(pruned(x), masked(x), atol=1e-6, rtol=0)
    assert pruned.dw.groups == pruned.dw.in_channels == pruned.dw.out_channels == 4
    assert tuple(pruned.dw.weight.shape) == (4, 1, 3, 3)
    assert pruned.bn.num_features == 4 and pruned.bn.running_var.shape == (4,)
    assert (pruned.fc.in_features, pruned.fc.out_features) == (4, 4)
    assert pruned.b.in_channels == 4
    kept = [0, 2, 3, 5]
    torch.testing.assert_close(pruned.a.weight, network.a.weight[kept])
    torch.testing.assert_close(pruned.bn.running_mean, network.bn.running_mean[kept])
    assert all(p.requires_grad for p in pruned.parameters())


def test_widths_rebuild_a_pruned_network_that_loads_strictly():
    network = _mixed()
    group = group_by_name(find_groups(network))["a"]
    remove_channels(network, list(group.channels[:2]))
    widths = changed_widths(_mixed(), network)
    assert widths == {"a": [4, 3], "dw": [4, 4], "bn": [4], "fc": [4, 4], "b": [3, 4]}
    rebuilt = _mixed()
    apply_widths(rebuilt, widths)
    assert layer_widths(rebuilt) == layer_widths(network)
    rebuilt.load_state_dict(network.state_dict(), strict=True)
    x = torch.rand(1, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), network(x))
