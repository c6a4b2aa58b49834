"""What ``distillsr.training.recipe`` exports, and that importing it is light."""

from __future__ import annotations

import subprocess
import sys

import distillsr.training.recipe


def test_import_does_no_heavy_work():
    code = "import sys, distillsr.training, distillsr.config; print('torch' in sys.modules, 'numpy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_the_recipe_api_is_exported_from_its_package():
    """The engine's reader takes the kinds as an argument; the table of kinds is not the engine's to export."""
    expected = {"RecipeConfig", "ConfigError", "RecipeKinds", "load_recipe", "parse_recipe", "format_recipe",
                "recipe_from_dict", "recipe_to_dict", "recipe_schema", "field_reference", "StageConfig",
                "TrainStageConfig", "ReparameterizeStageConfig", "LossConfig", "PixelLossConfig"}
    assert expected <= set(distillsr.training.recipe.__all__)
    assert not {"STAGE_KINDS", "LOSS_TYPES"} & set(distillsr.training.recipe.__all__)
    for name in distillsr.training.recipe.__all__:
        assert getattr(distillsr.training.recipe, name) is not None, name
