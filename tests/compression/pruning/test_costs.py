"""The analytic cost model agrees with the real counters after any removal."""

from __future__ import annotations

import copy

import pytest

from distillsr.compression.pruning.costs import CostModel, narrowed
from distillsr.compression.pruning.groups import find_groups, prunable_groups
from distillsr.compression.pruning.surgery import remove_channels
from distillsr.efficiency import count_ops, count_parameters
from distillsr.models.pruned_widths import layer_widths
from distillsr.models.zoo import build_model
from distillsr.nn.reparam import deploy


@pytest.mark.parametrize(
    "name, kwargs",
    [("ddistill-sr", {"channels": 16, "num_blocks": 2, "fusion_rank": 4}), ("rfdn", {"channels": 16, "num_blocks": 2})],
)
def test_costs_of_narrowed_widths_equal_the_counted_costs(name, kwargs):
    """DDistill-SR has linears and matmuls (its dynamic branches) beside the convs: all must add up."""
    network = deploy(build_model(name, 2, **kwargs).network)
    shape = (1, 3, 32, 32)
    model = CostModel.measure(network, shape)
    before = model.costs(layer_widths(network))
    assert before.params == count_parameters(network).total and before.macs == count_ops(network, shape).macs
    removal = [channel for group in prunable_groups(find_groups(network)) for channel in group.channels[: group.width // 3]]
    assert removal
    predicted = model.costs(narrowed(layer_widths(network), removal))
    pruned = copy.deepcopy(network)
    remove_channels(pruned, removal)
    assert predicted.params == count_parameters(pruned).total < before.params
    assert predicted.macs == count_ops(pruned, shape).macs < before.macs
