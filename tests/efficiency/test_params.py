"""Parameter counts, written out from layer shapes, and the NTIRE tables' published figures."""

from __future__ import annotations

import pytest
from support.models import TINY_PARAMS, conv_params, tiny_sr
from torch import nn

from distillsr.efficiency.params import ParamCount, count_parameters
from distillsr.errors import DistillsrError
from distillsr.models.zoo import get_entry


def test_params_of_hand_built_model() -> None:
    assert TINY_PARAMS == 224 + 72 + 876
    assert count_parameters(tiny_sr()) == ParamCount(total=TINY_PARAMS, trainable=TINY_PARAMS)


def test_params_bias_false_vs_true() -> None:
    assert count_parameters(nn.Conv2d(3, 8, 3, bias=False)).total == 3 * 8 * 9
    assert count_parameters(nn.Conv2d(3, 8, 3, bias=True)).total == 3 * 8 * 9 + 8


def test_params_frozen_counts_in_total_only() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    for p in model[0].parameters():
        p.requires_grad_(False)
    assert count_parameters(model) == ParamCount(total=(16 + 4) + (8 + 2), trainable=8 + 2)


def test_params_tied_weight_counted_once() -> None:
    model = nn.Sequential(nn.Linear(4, 4, bias=False), nn.Linear(4, 4, bias=False))
    model[1].weight = model[0].weight
    assert count_parameters(model).total == 16


def test_params_lazy_module_is_a_user_error() -> None:
    with pytest.raises(DistillsrError):
        count_parameters(nn.LazyConv2d(8, 3))


def test_grouped_conv_params_divide_by_groups() -> None:
    assert count_parameters(nn.Conv2d(8, 16, 3, padding=1, groups=4)).total == conv_params(8, 16, 3, groups=4) == 16 * 2 * 9 + 16


def test_transposed_conv_params() -> None:
    assert count_parameters(nn.ConvTranspose2d(4, 6, kernel_size=2, stride=2)).total == 4 * 6 * 2 * 2 + 6


# NTIRE 2022/2023 ESR tables: parameters.
@pytest.mark.parametrize("name,params", [("e-rfdn", 433_448), ("dipnet", 243_252)])
def test_ntire_table_figures(name, params):
    assert count_parameters(get_entry(name).build(4)).total == params
