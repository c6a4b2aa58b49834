"""Channel reordering: an exact permutation of every splittable zoo model, that puts the best channels first."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.compression.pruning.groups import find_groups, group_by_name
from distillsr.compression.pruning.ranking import activation_importance
from distillsr.compression.pruning.reorder import permute_group, reorder_channels
from distillsr.errors import DistillsrError
from distillsr.models.zoo import ZOO, build_model
from distillsr.nn.slimmable import SlimmableConv2d, SlimmableNetwork, width

SPLITTABLE = sorted(name for name, row in ZOO.items() if row.widths)
SMALL = {"edsr": {"channels": 16, "num_blocks": 2}, "rcan": {"channels": 32, "num_groups": 2, "num_blocks": 2, "reduction": 4}}


def _random(name: str) -> nn.Module:
    torch.manual_seed(0)
    network = build_model(name, 2, **SMALL.get(name, {})).network.double().eval()
    generator = torch.Generator().manual_seed(1)
    for parameter in network.parameters():  # scaled by fan-in, so deep stacks stay in range
        fan_in = parameter[0].numel() if parameter.ndim > 1 else 1
        parameter.data = torch.randn(parameter.shape, generator=generator, dtype=torch.float64) / fan_in**0.5
    for module in network.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.normal_(generator=generator)
            module.running_var.uniform_(0.5, 2.0, generator=generator)
    return network


def test_every_splittable_zoo_model_is_listed():
    assert {"imdn-csd", "edsr-baseline", "edsr", "rcan", "carn"} <= set(SPLITTABLE)


@pytest.mark.parametrize("name", SPLITTABLE)
def test_reordering_is_an_exact_permutation_at_full_width(name):
    network = _random(name)
    x = torch.rand(1, 3, 20, 20, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    before = {key: value.clone() for key, value in network.state_dict().items()}
    with torch.no_grad():
        reference = network(x)
        with width(network, 0.25):
            narrow = network(x)
    moved = reorder_channels(network, activation_importance(network, x))
    assert len(moved) >= 3, "nothing was reordered: the check would be vacuous"
    with torch.no_grad():
        after = network(x)
        with width(network, 0.25):
            narrow_after = network(x)
    scale = float(reference.abs().max())
    assert float((after - reference).abs().max()) <= 1e-12 * max(scale, 1.0)
    assert float((narrow_after - narrow).abs().max()) > 1e-3 * float(narrow.abs().max())  # the narrow network changed
    changed = 0
    for key, value in network.state_dict().items():  # every tensor holds the same values, only moved
        if value.is_floating_point():
            assert torch.equal(value.flatten().sort().values, before[key].flatten().sort().values), key
            changed += not torch.equal(value, before[key])
    assert changed >= 3


class Pair(SlimmableNetwork):
    """A 4-channel head and a tail; only channel 3 carries the image (the others are silent)."""

    def __init__(self) -> None:
        super().__init__()
        self.head = SlimmableConv2d(3, 4, 1, slice_in=False, bias=False)
        self.tail = SlimmableConv2d(4, 3, 1, slice_out=False, bias=False)
        with torch.no_grad():
            self.head.weight.zero_()
            self.tail.weight.zero_()
            self.head.weight[3, :, 0, 0] = torch.tensor([1.0, 2.0, 3.0])
            self.head.weight[0, 0, 0, 0] = 1e-3
            self.tail.weight[:, 3, 0, 0] = 1.0
            self.tail.weight[:, 0, 0, 0] = 1e-3
        self.init_widths((1.0, 0.25))

    def forward(self, x):
        return self.tail(self.head(x))


def test_the_most_important_channel_comes_first_so_the_narrowest_width_keeps_it():
    network = Pair().double()
    x = torch.rand(2, 3, 6, 6, dtype=torch.float64)
    full = network(x)
    with width(network, 0.25):
        assert float(network(x).abs().max()) < 1e-4  # channel 0 first: almost nothing
    assert reorder_channels(network, activation_importance(network, x)) == {"head": [3, 0, 1, 2]}
    torch.testing.assert_close(network(x), full)
    with width(network, 0.25):
        torch.testing.assert_close(network(x), full, atol=1e-5, rtol=0)  # channel 3 alone is (almost) everything
    assert reorder_channels(network, activation_importance(network, x)) == {}  # already sorted: nothing moves


def test_a_permutation_must_be_one_and_the_image_channels_stay():
    network = Pair()
    groups = group_by_name(find_groups(network, torch.rand(1, 3, 4, 4)))
    with pytest.raises(DistillsrError, match="must be a permutation"):
        permute_group(network, groups["head"], [0, 0, 1, 2])
    image = next(group for group in groups.values() if not group.reorderable)
    with pytest.raises(DistillsrError, match="cannot be reordered"):
        permute_group(network, image, list(reversed(range(image.width))))
