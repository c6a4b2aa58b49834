"""Step plans: exact group widths (DIPNet's 44/38), uniform fractions, and landing on a cost target."""

from __future__ import annotations

import pytest

from distillsr.compression.pruning.costs import CostModel
from distillsr.compression.pruning.groups import (
    find_groups,
    prunable_groups,
)
from distillsr.compression.pruning.plan import (
    land_on_target,
    prune_fraction,
    prune_to_widths,
)
from distillsr.compression.pruning.surgery import remove_channels
from distillsr.efficiency import count_ops, count_parameters
from distillsr.errors import DistillsrError
from distillsr.models.zoo import build_model, get_entry


def dipnet_layout(groups) -> dict[str, int]:
    """The published layout: trunk groups (conv_1 and each block's output) 44, block middles 38, ESA kept."""
    return {
        group.name: 44 if group.name == "conv_1" or group.name.endswith(".c5") else 38
        for group in prunable_groups(groups)
        if ".esa." not in group.name
    }


def test_a_48_48_dipnet_pruned_to_44_38_has_the_official_parameter_count():
    network = build_model("dipnet", 4, channels=48, mid_channels=48).network  # the folded student
    groups = find_groups(network)
    layout = dipnet_layout(groups)
    assert sorted(layout) == sorted(
        ["conv_1"] + [f"block_{k}.{part}" for k in range(1, 5) for part in ("c1_r", "c2_r", "c5")]
    )
    prune_to_widths(network, layout)
    assert count_parameters(network).total == 243_252 == get_entry("dipnet").params[4]
    official = build_model("dipnet", 4).network.state_dict()
    assert {k: v.shape for k, v in network.state_dict().items()} == {k: v.shape for k, v in official.items()}


def test_target_widths_are_checked():
    network = build_model("dipnet", 4, channels=16, mid_channels=12, esa_channels=8, num_blocks=1).network
    with pytest.raises(DistillsrError, match="no channel group named 'trunk'; prunable groups: conv_1, "):
        prune_to_widths(network, {"trunk": 8})
    with pytest.raises(DistillsrError, match="must be 1..12"):
        prune_to_widths(network, {"block_1.c1_r": 13})
    with pytest.raises(DistillsrError, match="cannot be pruned: the network output"):  # its 3 shuffled channels are the image
        prune_to_widths(network, {"upsampler.0": 4})


def test_a_fraction_step_thins_every_prunable_group():
    network = build_model("rfdn", 2, channels=20, num_blocks=2).network
    before = {g.name: g.width for g in prunable_groups(find_groups(network))}
    removed = prune_fraction(network, 0.25)
    after = {g.name: g.width for g in prunable_groups(find_groups(network))}
    assert after == {name: width - max(1, int(width * 0.25)) for name, width in before.items()}
    assert removed == sum(before.values()) - sum(after.values())


@pytest.mark.parametrize("goal", ["params", "macs"])
def test_landing_reaches_the_target_within_two_percent(goal):
    network = build_model("e-rfdn", 4, channels=24, num_blocks=2).network
    shape = (1, 3, 64, 64)
    costs = CostModel.measure(network, shape)
    start = count_parameters(network).total if goal == "params" else count_ops(network, shape).macs
    target = start * 0.85  # less than one 30 % step takes

    def measure(params: int, macs: int) -> float:
        return params if goal == "params" else macs

    removal, fraction = land_on_target(network, find_groups(network), 0.3, costs, measure, target)
    assert 0 < fraction < 0.3
    remove_channels(network, removal)
    reached = count_parameters(network).total if goal == "params" else count_ops(network, shape).macs
    assert target * 0.98 <= reached <= target
