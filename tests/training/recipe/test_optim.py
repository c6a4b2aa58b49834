"""Optimizer and schedule options."""

from __future__ import annotations

import pytest

from distillsr.training.recipe import ConfigError, OptimizerConfig, SchedulerConfig


def test_schedule_checks(minimal, parse, error_of):
    bad = minimal.replace(
        "    iterations: 1000", "    iterations: 1000\n    scheduler: {type: multistep, milestones: [500, 2000]}"
    )
    assert "stages.0.scheduler.milestones" in error_of(bad)
    aliased = minimal.replace(
        "    iterations: 1000", "    iterations: 1000\n    scheduler: {type: CosineAnnealingRestartLR, eta_min: 1.0e-7}"
    )
    schedule = parse(aliased).stages[0].scheduler
    assert schedule.type == "cosine" and schedule.min_lr == 1e-7
    assert "step_size" in error_of(
        minimal.replace("    iterations: 1000", "    iterations: 1000\n    scheduler: {type: step}")
    )


def test_optimizer_and_schedule_checks_in_python():
    with pytest.raises(ConfigError, match="betas"):
        OptimizerConfig(betas=(0.9, 1.0))
    with pytest.raises(ConfigError, match="strictly increasing"):
        SchedulerConfig(type="multistep", milestones=(10, 10))
    with pytest.raises(ConfigError, match="min_lr: applies only to cosine"):
        SchedulerConfig(min_lr=1e-6)
    assert SchedulerConfig(type="step", step_size=5).step_size == 5
