"""The prune stage's options: the values it refuses, group globs, and the recipe rules it joins."""

from __future__ import annotations

import subprocess
import sys

import pytest

from distillsr.compression.pruning.config import PruneStageConfig
from distillsr.errors import DistillsrError
from distillsr.stages import parse_recipe

RECIPE = """
model: {name: dipnet, scale: 2, kwargs: {channels: 12, mid_channels: 12, esa_channels: 8, num_blocks: 2}}
data:
  train: {hr_folders: [hr], lr_patch_size: 16, batch_size: 4}
stages:
  - {kind: train, iterations: 4}
  - {kind: prune, step: 0.25, max_drop: 0.5}
"""


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({}, "give exactly one kind of target"),
        ({"target_params": 100, "widths": {"conv_1": 4}}, "give exactly one kind of target"),
        ({"target_params": 100, "step": 1.5}, "must be a fraction"),
        ({"widths": {"conv_1": 0}}, "positive integer"),
    ],
)
def test_options_are_checked(options, fragment):
    with pytest.raises(DistillsrError, match=fragment):
        PruneStageConfig(**options)


def test_globs_name_groups_and_an_unmatched_one_is_an_error():
    config = PruneStageConfig(widths={"block_*.c1_r": 8, "conv_1": 10})
    names = ["conv_1", "block_1.c1_r", "block_2.c1_r", "block_1.c5"]
    assert config.widths_for(names) == {"block_1.c1_r": 8, "block_2.c1_r": 8, "conv_1": 10}
    with pytest.raises(DistillsrError, match=r"no channel group matches 'blk_\*'"):
        PruneStageConfig(widths={"blk_*": 3}).widths_for(names)


def test_max_drop_needs_a_validation_folder():
    with pytest.raises(DistillsrError, match="stages.1.max_drop: needs a validation folder"):
        parse_recipe(RECIPE)
    recipe = parse_recipe(RECIPE.replace("batch_size: 4}", "batch_size: 4}\n  val: {folders: [val]}"))
    assert recipe.stages[1].max_drop == 0.5 and recipe.stages[1].runner == "distillsr.compression.pruning.stage:PruneStage"


def test_importing_the_stage_options_imports_no_torch():
    code = "import sys, distillsr.compression.pruning.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]
