"""Stage options: a training stage's checks, and a fold stage that takes none."""

from __future__ import annotations

import pytest

from distillsr.training.recipe import ConfigError, SchedulerConfig, TrainStageConfig


def test_python_construction_is_checked_too():
    with pytest.raises(ConfigError, match="iterations: must be positive"):
        TrainStageConfig(iterations=0)
    with pytest.raises(ConfigError, match="milestones"):
        SchedulerConfig(type="multistep")


def test_reparameterize_stage_takes_no_training_options(full, error_of):
    message = error_of(full.replace("  - kind: reparameterize", "  - kind: reparameterize\n    iterations: 5"))
    assert "stages.1.iterations" in message and "reparameterize" in message


def test_stage_label_and_inner_schedule_checks():
    assert TrainStageConfig(iterations=10).label(2) == "stage2-train"
    assert TrainStageConfig(iterations=10, name="warm").label(2) == "warm"
    with pytest.raises(ConfigError, match="scheduler.warmup_iterations"):
        TrainStageConfig(iterations=10, scheduler=SchedulerConfig(warmup_iterations=10))
    with pytest.raises(ConfigError, match="ema_decay"):
        TrainStageConfig(iterations=10, ema_decay=1.0)
