"""Learning-rate schedules: each one's rate at the iterations where it changes, computed by hand."""

from __future__ import annotations

import math

import pytest
import torch

from distillsr.errors import DistillsrError
from distillsr.training.schedules import Schedule, apply_lr


def test_schedules():
    multistep = Schedule("multistep", 1e-3, 100, milestones=(50, 80), gamma=0.5)
    assert [multistep.lr(i) for i in (0, 49, 50, 79, 80)] == [1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4]
    cosine = Schedule("cosine", 1e-3, 100, warmup_iterations=10, min_lr=1e-5)
    assert cosine.lr(0) == pytest.approx(1e-4) and cosine.lr(9) == pytest.approx(1e-3)
    assert cosine.lr(10) == pytest.approx(1e-3) and cosine.lr(100) == pytest.approx(1e-5)
    assert cosine.lr(55) == pytest.approx(1e-5 + (1e-3 - 1e-5) * 0.5)
    step = Schedule("step", 1.0, 10, step_size=3, gamma=0.1)
    assert step.lr(2) == 1.0 and step.lr(3) == pytest.approx(0.1) and step.lr(9) == pytest.approx(1e-3)
    with pytest.raises(DistillsrError):
        Schedule("poly", 1.0, 10)


def test_multistep_multiplies_by_gamma_at_each_milestone_it_has_passed():
    schedule = Schedule("multistep", 4e-4, 1000, milestones=(200, 400, 600, 800), gamma=0.5)
    expected = {0: 4e-4, 199: 4e-4, 200: 2e-4, 399: 2e-4, 400: 1e-4, 600: 5e-5, 799: 5e-5, 800: 2.5e-5, 999: 2.5e-5}
    for iteration, lr in expected.items():
        assert schedule.lr(iteration) == pytest.approx(lr, rel=1e-12), iteration


def test_step_decays_every_step_size_iterations():
    schedule = Schedule("step", 1e-4, 400, step_size=200, gamma=0.1)  # EDSR/CSD: x0.1 every 200 epochs
    assert [schedule.lr(i) for i in (0, 199)] == [1e-4, 1e-4]
    assert schedule.lr(200) == pytest.approx(1e-5, rel=1e-12) and schedule.lr(399) == pytest.approx(1e-5, rel=1e-12)
    assert schedule.lr(400) == pytest.approx(1e-6, rel=1e-12)


def test_cosine_falls_from_the_base_rate_to_min_lr_and_stays_there():
    schedule = Schedule("cosine", 1e-3, 100, min_lr=1e-5)
    assert schedule.lr(0) == pytest.approx(1e-3, rel=1e-12)
    # halfway: min + (base - min) * (1 + cos(pi/2)) / 2 = 1e-5 + 9.9e-4 / 2
    assert schedule.lr(50) == pytest.approx(5.05e-4, rel=1e-12)
    # a quarter: 1e-5 + 9.9e-4 * (1 + cos(pi/4)) / 2 = 1e-5 + 9.9e-4 * 0.853553390593...
    assert schedule.lr(25) == pytest.approx(1e-5 + 9.9e-4 * (1 + math.sqrt(0.5)) / 2, rel=1e-12)
    assert schedule.lr(25) == pytest.approx(8.55017856687341e-4, rel=1e-9)
    assert schedule.lr(100) == pytest.approx(1e-5, rel=1e-12)
    assert schedule.lr(150) == pytest.approx(1e-5, rel=1e-12), "past the end the rate stays at min_lr"


def test_warmup_rises_linearly_to_the_base_rate_then_hands_over():
    warm = Schedule("constant", 2e-4, 100, warmup_iterations=4)
    assert [warm.lr(i) for i in range(6)] == pytest.approx([5e-5, 1e-4, 1.5e-4, 2e-4, 2e-4, 2e-4], rel=1e-12)
    # multistep milestones count from iteration 0, warm-up included
    stepped = Schedule("multistep", 1e-3, 100, milestones=(10,), gamma=0.5, warmup_iterations=5)
    assert stepped.lr(2) == pytest.approx(6e-4, rel=1e-12)
    assert stepped.lr(5) == pytest.approx(1e-3, rel=1e-12) and stepped.lr(10) == pytest.approx(5e-4, rel=1e-12)
    # cosine starts its descent after the warm-up: (55 - 10) / (100 - 10) is halfway
    cosine = Schedule("cosine", 1e-3, 100, warmup_iterations=10, min_lr=0.0)
    assert cosine.lr(10) == pytest.approx(1e-3, rel=1e-12) and cosine.lr(55) == pytest.approx(5e-4, rel=1e-12)


def test_constant_and_the_refused_settings():
    assert {Schedule("constant", 3e-4, 10).lr(i) for i in range(10)} == {3e-4}
    with pytest.raises(DistillsrError, match="step_size >= 1"):
        Schedule("step", 1.0, 10)
    with pytest.raises(DistillsrError, match="unknown schedule 'poly'"):
        Schedule("poly", 1.0, 10)


def test_apply_lr_sets_every_parameter_group():
    a, b = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([{"params": [a], "lr": 1.0}, {"params": [b], "lr": 2.0}])
    apply_lr(optimizer, 1e-4)
    assert [group["lr"] for group in optimizer.param_groups] == [1e-4, 1e-4]
