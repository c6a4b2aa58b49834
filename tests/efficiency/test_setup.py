"""What every measurement shares (``efficiency/_setup.py``): the model is left as it was found, and
input shapes are checked before anything runs."""

from __future__ import annotations

import pytest
import torch
from support.models import TINY_SHAPE, tiny_sr
from torch import nn

from distillsr.efficiency.activations import count_activations
from distillsr.efficiency.ops import count_ops
from distillsr.errors import DistillsrError


def test_counting_leaves_model_mode_and_dtype_unchanged() -> None:
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    model.train()
    stats_before = model[1].running_mean.clone()
    count_ops(model, TINY_SHAPE, dtype=torch.float64)
    count_activations(model, TINY_SHAPE)
    assert all(m.training for m in model.modules())
    assert model[0].weight.dtype == torch.float32
    assert torch.equal(model[1].running_mean, stats_before)


@pytest.mark.parametrize("shape", [(), (1, 3, 0, 4), (1, 3, 2.5, 4), "abc"])
def test_bad_input_shape_is_a_user_error(shape) -> None:
    with pytest.raises(DistillsrError):
        count_ops(tiny_sr(), shape)
