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
    # s_k = d_k s_(k-1) + (1 - d_k) w_k with the ramped d_k = min(d, k / (9 + k)), k counted from 1
    expected = sequence[0]
    for k, value in enumerate(sequence[1:], start=1):
        d_k = min(decay, k / (9 + k))
        expected = d_k * expected + (1 - d_k) * value
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


def test_the_ramp_forgets_the_starting_weights_where_a_plain_average_keeps_them():
    """A stage that starts from a fresh upsampler: after 2,500 updates a plain 0.999 average still
    holds 0.999**2500 = 8.2 % of the random start; the ramped one holds nothing measurable."""
    model = nn.Linear(1, 1, bias=False).double()
    with torch.no_grad():
        model.weight.fill_(100.0)
    ema = WeightAverage(model, 0.999)
    with torch.no_grad():
        model.weight.fill_(0.0)
    for _ in range(2500):
        ema.update(model)
    assert abs(float(ema.shadow.weight)) < 1e-15
    assert 100.0 * 0.999**2500 == pytest.approx(8.2, abs=0.05)
    assert ema.current_decay() == pytest.approx(2501 / 2510)  # still ramping: 0.999 is reached after ~9,000


def test_resuming_keeps_the_ramp_and_older_checkpoints_count_as_ramped():
    model = nn.Linear(2, 2)
    ema = WeightAverage(model, 0.999)
    for _ in range(3):
        ema.update(model)
    resumed = WeightAverage(nn.Linear(2, 2), 0.999)
    resumed.resume(ema.state_dict(), ema.updates)
    assert resumed.updates == 3 and resumed.current_decay() == pytest.approx(4 / 13)
    assert all(torch.equal(resumed.state_dict()[k], v) for k, v in ema.state_dict().items())
    old = WeightAverage(nn.Linear(2, 2), 0.999)
    old.resume(ema.state_dict(), None)  # a checkpoint from before the ramp has no update count
    assert old.current_decay() == 0.999
