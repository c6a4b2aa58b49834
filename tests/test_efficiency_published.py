"""Our efficiency counters against the numbers the NTIRE efficient-SR reports print."""

from __future__ import annotations

import pytest
import torch

from distillsr.efficiency import count_activations, count_ops, count_parameters
from distillsr.models.zoo import get_entry


@pytest.mark.parametrize(
    "name,params,gmacs,mactivations,convs",
    [
        # NTIRE 2022/2023 ESR tables: params, "FLOPs" (MACs) at 3x256x256, #Acts, #Conv
        ("e-rfdn", 433_448, 27.10, 112.03, 64),
        ("dipnet", 243_252, 14.90, 72.97, 39),
    ],
)
def test_ntire_table_figures(name, params, gmacs, mactivations, convs):
    network = get_entry(name).build(4)
    assert count_parameters(network).total == params
    activation = count_activations(network, (1, 3, 256, 256))
    assert activation.conv_layers == convs
    assert activation.activations / 1e6 == pytest.approx(mactivations, abs=0.005)
    with torch.device("meta"):
        shapes_only = get_entry(name).build(4)
    macs = count_ops(shapes_only, (1, 3, 256, 256), device="meta").macs
    # the NTIRE counter adds a few element-wise ops; conv/matmul MACs are within 0.3 % of it
    assert macs / 1e9 == pytest.approx(gmacs, rel=3e-3)
    assert macs < gmacs * 1e9
