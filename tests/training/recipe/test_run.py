"""RecipeConfig: run-level defaults, immutability, and the rules that join stages to the model."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from distillsr.training.recipe import (
    PixelLossConfig,
    ReparameterizeStageConfig,
    TrainStageConfig,
)


def test_minimal_recipe_gets_sensible_defaults(minimal, parse):
    recipe = parse(minimal)
    assert recipe.name == "rfdn_x4" and recipe.output_dir == "experiments/rfdn_x4"
    assert recipe.seed == 0
    train = recipe.data.train
    assert train.degradation == "BI" and train.lr_patch_size == 48 and train.batch_size == 16
    assert (train.augment.hflip, train.augment.vflip, train.augment.rot90) == (True, True, True)
    assert train.lr_folders is None and train.sub_images is None and train.repeat == 1
    assert recipe.data.val.folders == () and recipe.data.val.protocol == "classic"
    (stage,) = recipe.stages
    assert isinstance(stage, TrainStageConfig) and stage.kind == "train"
    assert stage.losses == (PixelLossConfig(type="l1"),)
    assert stage.optimizer.type == "adam" and stage.optimizer.betas == (0.9, 0.999)
    assert stage.scheduler.type == "constant"
    assert stage.ema_decay is None and stage.grad_clip is None and stage.amp == "none" and not stage.channels_last
    assert recipe.distributed.backend == "auto" and recipe.checkpoint.keep == 3


def test_recipes_are_immutable(minimal, parse):
    recipe = parse(minimal)
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.seed = 3  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        recipe.stages[0].optimizer.lr = 1.0  # type: ignore[misc]


def test_reparameterize_needs_a_foldable_model(minimal, full, parse, error_of):
    message = error_of(minimal + "  - kind: reparameterize\n")
    assert "stages.1" in message and "nothing" not in message and "fold" in message
    recipe = parse(full)
    assert isinstance(recipe.stages[1], ReparameterizeStageConfig)
    assert "already folded" in error_of(full + "  - kind: reparameterize\n")


def test_patch_must_fit_the_model(minimal, error_of):
    text = minimal.replace("name: rfdn", "name: e-rfdn").replace(
        "    hr_folders", "    lr_patch_size: 8\n    hr_folders"
    )
    message = error_of(text)
    assert "data.train.lr_patch_size" in message and "15" in message


def test_run_name_folder_and_total_iterations(full, parse):
    recipe = parse(full, ["stages.1.kind=train", "stages.1.iterations=20"])
    assert recipe.name == "test" and recipe.experiment_dir == Path("experiments") / "test"
    assert recipe.total_iterations == 1020
    assert parse(full).total_iterations == 1000  # a reparameterize stage takes no steps
