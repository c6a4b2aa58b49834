"""The weight average: the closed form of an exponential moving average, buffers copied, a detached copy."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.training.ema import WeightAverage


def test_the_average_equals_the_closed_form_over_a_sequence_of_weights():
    decay = 0.9
    model = nn.Linear(1, 1, bias=False).double()
    sequence = [0.5, -1.0, 2.0, 3.5, 0.25, -0.75]
    with torch.no_grad():
        model.weight.fill_(sequence[0])
    ema = WeightAverage(model, decay)
    for value in sequence[1:]:
        with torch.no_grad():
            model.weight.fill_(value)
        ema.update(model)
    # s_n = d^n w_0 + sum_k (1 - d) d^(n-k) w_k
    n = len(sequence) - 1
    expected = decay**n * sequence[0] + sum((1 - decay) * decay ** (n - k) * sequence[k] for k in range(1, n + 1))
    assert float(ema.shadow.weight) == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert float(ema.shadow.weight) != pytest.approx(sequence[-1]), "the average is not just the last weights"


def test_buffers_are_copied_not_averaged():
    model = nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))
    ema = WeightAverage(model, 0.5)
    with torch.no_grad():
        model[1].running_mean.fill_(4.0)
        model[1].num_batches_tracked.fill_(7)
    ema.update(model)
    assert torch.equal(ema.shadow[1].running_mean, torch.full((2,), 4.0))
    assert int(ema.shadow[1].num_batches_tracked) == 7


def test_the_shadow_is_a_frozen_eval_copy_and_round_trips_through_its_state_dict():
    model = nn.Linear(2, 2)
    ema = WeightAverage(model, 0.99)
    assert not ema.shadow.training and all(not p.requires_grad for p in ema.shadow.parameters())
    with torch.no_grad():
        model.weight.add_(1.0)
    assert not torch.equal(ema.shadow.weight, model.weight), "the shadow is a copy, not the model itself"
    saved = {k: v.clone() for k, v in ema.state_dict().items()}
    ema.update(model)
    other = WeightAverage(nn.Linear(2, 2), 0.99)
    other.load_state_dict(saved)
    assert all(torch.equal(other.state_dict()[k], saved[k]) for k in saved)
    with pytest.raises(RuntimeError):
        other.load_state_dict({"weight": saved["weight"]})  # strict: a missing key is refused
