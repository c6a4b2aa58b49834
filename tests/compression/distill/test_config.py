"""The distill stage's options: reading, defaults, the checks at construction and :func:`check` at load."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from types import MappingProxyType

import pytest

from distillsr.config.printing import format_yaml, to_plain
from distillsr.config.reader import read
from distillsr.config.schema import TaggedUnion
from distillsr.config.yaml_positions import parse_yaml
from distillsr.training.recipe import (
    ConfigError,
    LossConfig,
    PixelLossConfig,
    RecipeConfig,
    StageConfig,
)
from distillsr.training.recipe.distill import (
    DISTILL_LOSS_TYPES,
    TEACHER_LOSSES,
    AnchorPairConfig,
    DistillStageConfig,
    FeatureLossConfig,
    TeacherConfig,
    TeacherLossConfig,
)
from distillsr.training.recipe.io import RECIPE_SCHEMA
from distillsr.training.recipe.unions import LOSS_TYPES, STAGE_KINDS

# The table rows the stage will get in unions.py, added here so these tests read YAML as a run will.
SCHEMA = dataclasses.replace(
    RECIPE_SCHEMA,
    unions=(
        TaggedUnion(StageConfig, "kind", MappingProxyType({**STAGE_KINDS, "distill": DistillStageConfig}), "train",
                    "stage kind"),
        TaggedUnion(LossConfig, "type", MappingProxyType({**LOSS_TYPES, **DISTILL_LOSS_TYPES}), None, "loss type"),
    ),
)

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
    return read(RecipeConfig, parse_yaml(text, "recipe.yaml"), SCHEMA, source="recipe.yaml")


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
    plain = to_plain(recipe, SCHEMA)
    stage = plain["stages"][0]
    assert stage["kind"] == "distill"
    assert [loss["type"] for loss in stage["losses"]] == ["l1", "teacher", "features"]
    assert read(RecipeConfig, parse_yaml(format_yaml(plain), "printed.yaml"), SCHEMA, source="printed.yaml") == recipe


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


def test_the_teacher_must_load(tmp_path):
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    message = where_error(recipe_text(broken))
    assert message.startswith(f"stages.0.teacher: {broken}: not a readable PyTorch weights file")


def test_an_unknown_student_anchor_is_refused_listing_the_valid_ones(teacher_file):
    message = where_error(recipe_text(teacher_file, anchor="block_5"))
    assert message.startswith("stages.0.anchors.0.student: unknown student anchor 'block_5' in the student dipnet x4")
    assert "valid anchors, closest first: block_1, block_2, conv_1" in message


def test_an_unknown_teacher_anchor_is_refused(teacher_file):
    text = recipe_text(teacher_file).replace("teacher: block_2,", "teacher: B2,")
    message = where_error(text)
    assert message.startswith("stages.0.anchors.1.teacher: unknown teacher anchor 'B2' in teacher dipnet x4")
    assert "block_2" in message


def test_pairs_of_different_resolutions_are_refused(teacher_file):
    message = where_error(recipe_text(teacher_file, anchor="upsampler"))
    assert message.startswith("stages.0.anchors.0: anchor pair upsampler -> block_1: the feature maps differ in size")


def test_a_teacher_of_another_scale_is_refused(tmp_path):
    x2 = save_zoo_checkpoint(tmp_path / "x2.safetensors", "dipnet", 2, dict(channels=8, mid_channels=8, num_blocks=2))
    message = where_error(recipe_text(x2))
    assert message.startswith("stages.0.teacher: the teacher dipnet x2")
    assert "upscales x2 but the student (dipnet x4) upscales x4; distillation needs the same factor" in message


def test_a_patch_smaller_than_the_teacher_takes_is_refused(teacher_file):
    text = recipe_text(teacher_file, student="rfdn", kwargs="{channels: 8, num_blocks: 2}", patch=12)
    text = text.replace("student: block_1", "student: B1").replace("student: block_2", "student: B2")
    message = where_error(text)  # an RFDN student takes 12 px patches, the DIPNet teacher (ESA) does not
    assert message.startswith("stages.0.lr_patch_size: the teacher dipnet x4")
    assert message.endswith("needs inputs of at least 15 px, got a 12 px patch")
    parse(text.replace("lr_patch_size: 12", "lr_patch_size: 16"))


def test_the_training_stage_checks_still_apply(teacher_file):
    message = where_error(recipe_text(teacher_file, patch=12))
    assert message.startswith("data.train.lr_patch_size: model dipnet needs inputs of at least 15 px")


def test_anchors_are_those_of_the_student_folded_after_a_reparameterize_stage(teacher_file):
    kwargs = "{channels: 8, mid_channels: 8, num_blocks: 2, expansion: 16}"
    fold = "  - kind: train\n    iterations: 5\n  - kind: reparameterize\n"
    parse(recipe_text(teacher_file, student="dipnet-student", kwargs=kwargs, anchor="block_1.c1_r.expand"))
    message = where_error(recipe_text(teacher_file, student="dipnet-student", kwargs=kwargs,
                                      anchor="block_1.c1_r.expand", before=fold))
    assert message.startswith("stages.2.anchors.0.student: unknown student anchor 'block_1.c1_r.expand' in the student "
                              "dipnet-student x4 (folded)")
    assert "block_1.c1_r" in message


def test_importing_the_stage_options_imports_no_torch():
    code = "import sys, distillsr.training.recipe.distill; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]


def test_the_teacher_is_loaded_once_per_file_version(teacher_file):
    from distillsr.training.recipe import distill

    text = recipe_text(teacher_file)
    parse(text)
    before = distill._teacher_facts.cache_info()
    parse(text.replace("iterations: 10", "iterations: 20"))
    after = distill._teacher_facts.cache_info()
    assert (after.hits, after.misses) == (before.hits + 1, before.misses)
