"""The distill stage's options: reading, defaults, and the checks made when the recipe loads (the file exists).

What needs the teacher loaded (its scale, its patch, the anchors) is the stage's pre-run hook,
tested in ``test_checks.py``: reading a recipe reads no weights.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from distillsr.compression.distill.config import (
    TEACHER_LOSSES,
    AnchorPairConfig,
    DistillStageConfig,
    FeatureLossConfig,
    TeacherConfig,
    TeacherLossConfig,
)
from distillsr.config.yaml_positions import parse_yaml
from distillsr.stages import format_recipe, parse_recipe, recipe_from_dict, recipe_to_dict
from distillsr.training.recipe import ConfigError, PixelLossConfig, RecipeConfig

RECIPE = """\
model: {{name: {student}, scale: 4, kwargs: {kwargs}}}
data: {{train: {{hr_folders: [hr], lr_patch_size: {patch}}}}}
stages:
{before}  - kind: distill
    iterations: 10
    teacher: {{weights: {weights}}}
    losses: [{{type: l1, weight: 0.5}}, {{type: teacher, loss: l2}}, {{type: features, weight: 0.1}}]
    anchors:
      - {{student: {anchor}, teacher: block_1}}
      - {{student: block_2, teacher: block_2, weight: 2.0, loss: l2}}
"""


def recipe_text(weights, *, student="dipnet", kwargs="{channels: 8, mid_channels: 8, num_blocks: 2}", patch=16,
                anchor="block_1", before="") -> str:
    return RECIPE.format(student=student, kwargs=kwargs, patch=patch, weights=weights, anchor=anchor, before=before)


def parse(text: str) -> RecipeConfig:
    return parse_recipe(text, source="recipe.yaml")


def error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        parse(text)
    message = str(caught.value)
    assert "\n" not in message and message.startswith("recipe.yaml:")
    return message


def where_error(text: str) -> str:
    """The error reading ``text`` raises, without its file position (``recipe.yaml:N: ``)."""
    return error_of(text).split(": ", 1)[1]


@pytest.fixture(scope="module")
def teacher_file(tmp_path_factory):
    """A tiny x4 DIPNet checkpoint (16 ch, 2 blocks) to teach from."""
    return save_zoo_checkpoint(tmp_path_factory.mktemp("teacher") / "teacher.safetensors", "dipnet", 4,
                               dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=2))


def save_zoo_checkpoint(path, name: str, scale: int, kwargs: dict):
    import torch

    from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
    from distillsr.models.zoo import build_model

    torch.manual_seed(0)
    model = build_model(name, scale, **kwargs)
    save_checkpoint(path, model.network.state_dict(),
                    CheckpointInfo(model=name, scale=scale, kwargs=kwargs, input_range=model.input_range))
    return path


def test_a_distill_stage_reads_with_its_teacher_losses_and_anchors(teacher_file):
    recipe = parse(recipe_text(teacher_file))
    stage = recipe.stages[0]
    assert isinstance(stage, DistillStageConfig) and stage.kind == "distill" and stage.label(0) == "stage0-distill"
    assert stage.teacher == TeacherConfig(weights=str(teacher_file))
    assert stage.losses == (PixelLossConfig(type="l1", weight=0.5), TeacherLossConfig(loss="l2"),
                            FeatureLossConfig(weight=0.1))
    assert stage.anchors == (AnchorPairConfig(student="block_1", teacher="block_1"),
                             AnchorPairConfig(student="block_2", teacher="block_2", weight=2.0, loss="l2"))
    assert stage.iterations == 10 and recipe.total_iterations == 10, "a distill stage is a training stage"


def test_it_prints_with_its_tags_and_reads_back_equal(teacher_file):
    recipe = parse(recipe_text(teacher_file))
    plain = recipe_to_dict(recipe)
    stage = plain["stages"][0]
    assert stage["kind"] == "distill"
    assert [loss["type"] for loss in stage["losses"]] == ["l1", "teacher", "features"]
    assert recipe_from_dict(parse_yaml(format_recipe(recipe), "printed.yaml"), source="printed.yaml") == recipe


def test_other_spellings_of_the_tags(teacher_file):
    text = recipe_text(teacher_file).replace("kind: distill", "kind: Distillation")
    text = text.replace("type: teacher", "type: output").replace("type: features", "type: feature")
    stage = parse(text).stages[0]
    assert isinstance(stage, DistillStageConfig)
    assert [type(loss) for loss in stage.losses] == [PixelLossConfig, TeacherLossConfig, FeatureLossConfig]


def test_defaults_distil_the_teachers_output_with_l1():
    stage = DistillStageConfig(iterations=5, teacher=TeacherConfig(weights="t.pth"))
    assert stage.losses == (TeacherLossConfig(loss="l1", weight=1.0),) and stage.anchors == ()
    assert TeacherConfig(weights="t.pth").device is None and TeacherConfig(weights="t.pth").name is None
    assert TEACHER_LOSSES == (TeacherLossConfig, FeatureLossConfig)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (dict(losses=(PixelLossConfig(type="l1"),)), "losses: a distill stage needs a `teacher` or `features` loss"),
        (dict(losses=(FeatureLossConfig(), FeatureLossConfig())), "more than one `features` term"),
        (dict(losses=(TeacherLossConfig(), TeacherLossConfig(weight=2.0))), "the same `teacher` term twice"),
        (dict(anchors=(AnchorPairConfig(student="a", teacher="b"),)), "anchors: are only used by a `features` loss"),
        (dict(losses=(FeatureLossConfig(),)), "anchors: a `features` loss needs at least one anchor pair"),
        (
            dict(losses=(FeatureLossConfig(),), anchors=(AnchorPairConfig(student="a", teacher="b"),) * 2),
            "anchors.1: repeats an earlier pair",
        ),
    ],
)
def test_losses_and_anchors_must_fit_together(options, message):
    with pytest.raises(ConfigError, match=message):
        DistillStageConfig(iterations=5, teacher=TeacherConfig(weights="t.pth"), **options)


def test_option_values_are_checked_where_they_are_read(teacher_file):
    text = recipe_text(teacher_file)
    assert "stages.0.teacher.name" in error_of(text.replace("{weights:", "{name: dipnett, weights:"))
    assert "did you mean dipnet" in error_of(text.replace("{weights:", "{name: dipnett, weights:"))
    assert "stages.0.teacher.device: expected cpu, cuda, cuda:N or auto" in error_of(
        text.replace("{weights:", "{device: gpu0, weights:")
    )
    assert "stages.0.anchors.1.loss" in error_of(text.replace("2.0, loss: l2}", "2.0, loss: l3}"))
    assert "stages.0.anchors.1.weight: must be zero or more" in error_of(text.replace("weight: 2.0", "weight: -1"))
    assert "stages.0.teacher.weights: missing required key" in error_of(
        text.replace(f"{{weights: {teacher_file}}}", "{name: dipnet}")
    )
    assert "stages.0.losses.1.loss" in error_of(text.replace("type: teacher, loss: l2", "type: teacher, loss: huber"))
    with pytest.raises(ConfigError, match="weights: must name a weights file"):
        TeacherConfig(weights="")


def test_the_weights_file_must_exist(tmp_path):
    message = where_error(recipe_text(tmp_path / "absent.safetensors"))
    assert message == f"stages.0.teacher.weights: no such file: {tmp_path / 'absent.safetensors'}"


def test_the_training_stage_checks_still_apply(teacher_file):
    message = where_error(recipe_text(teacher_file, patch=12))
    assert message.startswith("data.train.lr_patch_size: model dipnet needs inputs of at least 15 px")


def test_reading_the_recipe_reads_no_weights(tmp_path):
    """A broken teacher file and an unknown anchor load: the pre-run hook refuses them, before any training."""
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    recipe = parse(recipe_text(broken, anchor="block_9"))
    assert recipe.stages[0].anchors[0].student == "block_9"


def test_importing_the_stage_options_imports_no_torch():
    code = "import sys, distillsr.compression.distill.config; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]
