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


def test_init_must_name_an_existing_file_and_strict_needs_init(minimal, parse, error_of, tmp_path):
    weights = tmp_path / "start.safetensors"
    weights.write_bytes(b"")
    recipe = parse(minimal, [f"stages.0.init={weights}", "stages.0.strict=false"])
    assert recipe.stages[0].init == str(weights) and recipe.stages[0].strict is False
    assert parse(minimal).stages[0].init is None and parse(minimal).stages[0].strict is True
    message = error_of(minimal, [f"stages.0.init={tmp_path / 'gone.pth'}"])
    assert "stages.0.init" in message and f"no weights file at {tmp_path / 'gone.pth'}" in message
    assert "stages.0.strict: applies only with init" in error_of(minimal, ["stages.0.strict=false"])
    assert "stages.0.init_scale: applies only with init" in error_of(minimal, ["stages.0.init_scale=4"])
    assert parse(minimal, [f"stages.0.init={weights}", "stages.0.init_scale=4"]).stages[0].init_scale == 4
    assert "stages.0.init_scale" in error_of(minimal, [f"stages.0.init={weights}", "stages.0.init_scale=0"])
    basicsr = parse(minimal.replace("    iterations: 1000", f"    iterations: 1000\n    pretrain_network_g: {weights}"))
    assert basicsr.stages[0].init == str(weights)


def test_each_stage_kind_checks_itself_against_the_recipe(minimal, parse):
    """RecipeConfig asks every stage; a new kind brings its own cross-checks without editing the run's class."""
    from distillsr.training.recipe import RecipeConfig

    seen = []

    class Recording(TrainStageConfig):
        def check_in_recipe(self, recipe, index):
            seen.append((index, recipe.model.name))

    base = parse(minimal)
    RecipeConfig(model=base.model, data=base.data, stages=(Recording(iterations=1), Recording(iterations=2)))
    assert seen == [(0, "rfdn"), (1, "rfdn")]
