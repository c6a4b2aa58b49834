"""bench.ntire: the kit's published figures for E-RFDN and DIPNet, exactly, in the kit's units."""

from __future__ import annotations

import pytest

from distillsr.comparison.ntire import (
    KIT_INPUT,
    format_kit_figures,
    input_shape_for,
    kit_figures,
)
from distillsr.efficiency import count_activations, count_ops, count_parameters
from distillsr.efficiency.ntire_flops import ntire_flops
from distillsr.efficiency.report import EfficiencyReport
from distillsr.errors import DistillsrError
from distillsr.models.zoo import build_model


def _report_at_kit_input(name: str) -> EfficiencyReport:
    """The counts profile_model makes, taken on the meta device (shapes only: instant, no weights needed)."""
    network = build_model(name, 4).network
    shape = (1, *KIT_INPUT)
    return EfficiencyReport(
        input_shape=shape, device="meta", dtype="float32", params=count_parameters(network),
        ops=count_ops(network, shape, device="meta"), activations=count_activations(network, shape, device="meta"),
        ntire_flops=ntire_flops(network, shape, device="meta"),
    )


@pytest.mark.parametrize(
    ("name", "flops", "macs_g", "activations_m", "conv", "params"),
    [
        ("e-rfdn", 27_102_622_560, 27.03, 112.03, 64, 433_448),  # methods.md: the kit's 27.10 G, 112.03 M, 64
        ("dipnet", 14_901_086_208, 14.87, 72.97, 39, 243_252),  # 14.90 G, 72.97 M, 39
    ],
)
def test_the_kit_figures_are_reproduced_exactly(name, flops, macs_g, activations_m, conv, params):
    figures = kit_figures(_report_at_kit_input(name))
    assert figures.flops == flops
    assert round(figures.flops_g, 2) == round(flops / 1e9, 2)
    assert round(figures.macs_g, 2) == macs_g
    assert round(figures.activations_m, 2) == activations_m
    assert figures.conv == conv
    assert figures.params == params and figures.params_m == params / 1e6


def test_the_kit_table_prints_its_columns_and_units():
    figures = kit_figures(_report_at_kit_input("dipnet"), runtime_ms=12.345, runtime_how="mean of 3 runs",
                          memory_mib=7.5, memory_how="rss")
    text = format_kit_figures(figures)
    labels = [line.split(" : ")[0].strip() for line in text.splitlines()]
    assert labels == ["Params [M]", "FLOPs [G] (NTIRE kit)", "MACs [G] (conv, fvcore-style)", "Activations [M]",
                      "#Conv", "Runtime [ms]", "Max Mem [M]"]
    assert "14.9011 (14,901,086,208)" in text and "12.35 (mean of 3 runs)" in text and "7.50 (rss)" in text
    assert figures.to_dict()["flops"] == 14_901_086_208


def test_the_input_size_rules():
    assert input_shape_for(None, True, (1, 3, 180, 320)) == (1, 3, 256, 256)
    assert input_shape_for(None, False, (1, 3, 180, 320)) == (1, 3, 180, 320)
    assert input_shape_for("3x256x256", True, (1, 3, 180, 320)) == (1, 3, 256, 256)
    assert input_shape_for("64x48", False, (1, 3, 180, 320)) == (1, 3, 64, 48)
    with pytest.raises(DistillsrError, match="--ntire counts at the kit's input 3x256x256"):
        input_shape_for("3x64x64", True, (1, 3, 180, 320))
