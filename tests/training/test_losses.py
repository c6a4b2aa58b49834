"""Loss terms on tiny tensors whose values are worked out by hand, and their weighted sum."""

from __future__ import annotations

import math

import pytest
import torch

from distillsr.errors import DistillsrError
from distillsr.training.losses import PIXEL_LOSSES, PixelLoss, StepOutputs, total_loss


def _outputs(sr, hr) -> StepOutputs:
    sr, hr = torch.tensor(sr), torch.tensor(hr)
    return StepOutputs(lr=hr, hr=hr, sr=sr)


OUTPUTS = _outputs([0.0, 0.5, 1.0, 1.0], [0.0, 0.0, 0.0, 3.0])  # differences 0, 0.5, 1, -2


def test_pixel_losses_match_hand_computed_values():
    assert float(PixelLoss("l1")(OUTPUTS)) == pytest.approx((0 + 0.5 + 1 + 2) / 4)
    assert float(PixelLoss("l2")(OUTPUTS)) == pytest.approx((0 + 0.25 + 1 + 4) / 4)
    eps = 0.1
    expected = sum(math.sqrt(d * d + eps * eps) for d in (0, 0.5, 1, -2)) / 4
    assert float(PixelLoss("charbonnier", eps=eps)(OUTPUTS)) == pytest.approx(expected)
    assert set(PIXEL_LOSSES) == {"l1", "l2", "charbonnier"}


def test_half_precision_outputs_are_compared_in_float32():
    half = torch.float16
    outputs = StepOutputs(lr=torch.zeros(1), hr=torch.zeros(1, dtype=half), sr=torch.full((1,), 1e-4, dtype=half))
    value = PixelLoss("l2")(outputs)
    assert value.dtype == torch.float32 and float(value) > 0, "1e-4 squared underflows in float16"


def test_total_loss_weights_the_terms_and_reports_each_unweighted():
    total, parts = total_loss([PixelLoss("l1", weight=2.0), PixelLoss("l2", weight=0.5)], OUTPUTS)
    assert float(total) == pytest.approx(2.0 * 0.875 + 0.5 * 1.3125)
    assert parts == pytest.approx({"l1": 0.875, "l2": 1.3125})


def test_unknown_and_missing_terms_are_refused():
    with pytest.raises(DistillsrError, match="unknown pixel loss 'l3'"):
        PixelLoss("l3")(OUTPUTS)
    with pytest.raises(DistillsrError, match="at least one loss term"):
        total_loss([], OUTPUTS)
