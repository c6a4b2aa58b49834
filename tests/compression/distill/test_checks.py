"""The distill stage's pre-run checks: the teacher loads and fits, every anchor exists (paths from the recipe root)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from distillsr.compression.distill.checks import check_distill_stage
from distillsr.compression.distill.stage import DistillStage
from distillsr.config.errors import ConfigError
from distillsr.stages import parse_recipe
from distillsr.training.recipe import RecipeConfig

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

TEACHER = dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=2)


def recipe_text(weights, *, student="dipnet", kwargs="{channels: 8, mid_channels: 8, num_blocks: 2}", patch=16,
                anchor="block_1", before="") -> str:
    return RECIPE.format(student=student, kwargs=kwargs, patch=patch, weights=weights, anchor=anchor, before=before)


def check(text: str) -> RecipeConfig:
    """Read the recipe (which must succeed: nothing here is checked then), then run every distill stage's checks."""
    recipe = parse_recipe(text, source="recipe.yaml")
    for index, stage in enumerate(recipe.stages):
        if stage.kind == "distill":
            check_distill_stage(recipe, index, stage)
    return recipe


def error_of(text: str) -> str:
    """The one-line message of the pre-run check (no file position: the train command adds the file)."""
    with pytest.raises(ConfigError) as caught:
        check(text)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.fixture
def teacher_file(save_model):
    """A tiny x4 DIPNet checkpoint (16 ch, 2 blocks) to teach from."""
    return save_model("dipnet", 4, TEACHER)


def test_a_fitting_teacher_and_anchors_pass(teacher_file):
    recipe = check(recipe_text(teacher_file))
    DistillStage().check(SimpleNamespace(recipe=recipe), 0, recipe.stages[0])  # the hook the session calls


def test_the_hook_refuses_at_the_stage_path(teacher_file):
    recipe = parse_recipe(recipe_text(teacher_file, anchor="block_5"))
    with pytest.raises(ConfigError) as caught:
        DistillStage().check(SimpleNamespace(recipe=recipe), 0, recipe.stages[0])
    assert caught.value.path == "stages.0.anchors.0.student"


def test_the_teacher_must_load(tmp_path):
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"not a checkpoint")
    message = error_of(recipe_text(broken))
    assert message.startswith(f"stages.0.teacher: {broken}: not a readable PyTorch weights file")


def test_an_unknown_student_anchor_is_refused_listing_the_valid_ones(teacher_file):
    message = error_of(recipe_text(teacher_file, anchor="block_5"))
    assert message.startswith("stages.0.anchors.0.student: unknown student anchor 'block_5' in the student dipnet x4")
    assert "valid anchors, closest first: block_1, block_2, conv_1" in message


def test_an_unknown_teacher_anchor_is_refused(teacher_file):
    text = recipe_text(teacher_file).replace("teacher: block_2,", "teacher: B2,")
    message = error_of(text)
    assert message.startswith("stages.0.anchors.1.teacher: unknown teacher anchor 'B2' in teacher dipnet x4")
    assert "block_2" in message


def test_pairs_of_different_resolutions_are_refused(teacher_file):
    message = error_of(recipe_text(teacher_file, anchor="upsampler"))
    assert message.startswith("stages.0.anchors.0: anchor pair upsampler -> block_1: the feature maps differ in size")


def test_a_teacher_of_another_scale_is_refused(save_model):
    x2 = save_model("dipnet", 2, dict(channels=8, mid_channels=8, num_blocks=2))
    message = error_of(recipe_text(x2))
    assert message.startswith("stages.0.teacher: the teacher dipnet x2")
    assert "upscales x2 but the student (dipnet x4) upscales x4; distillation needs the same factor" in message


def test_a_patch_smaller_than_the_teacher_takes_is_refused(teacher_file):
    text = recipe_text(teacher_file, student="rfdn", kwargs="{channels: 8, num_blocks: 2}", patch=12)
    text = text.replace("student: block_1", "student: B1").replace("student: block_2", "student: B2")
    message = error_of(text)  # an RFDN student takes 12 px patches, the DIPNet teacher (ESA) does not
    assert message.startswith("stages.0.lr_patch_size: the teacher dipnet x4")
    assert message.endswith("needs inputs of at least 15 px, got a 12 px patch")
    check(text.replace("lr_patch_size: 12", "lr_patch_size: 16"))


def test_anchors_are_those_of_the_student_folded_after_a_reparameterize_stage(teacher_file):
    kwargs = "{channels: 8, mid_channels: 8, num_blocks: 2, expansion: 16}"
    fold = "  - kind: train\n    iterations: 5\n  - kind: reparameterize\n"
    check(recipe_text(teacher_file, student="dipnet-student", kwargs=kwargs, anchor="block_1.c1_r.expand"))
    message = error_of(recipe_text(teacher_file, student="dipnet-student", kwargs=kwargs,
                                   anchor="block_1.c1_r.expand", before=fold))
    assert message.startswith("stages.2.anchors.0.student: unknown student anchor 'block_1.c1_r.expand' in the student "
                              "dipnet-student x4 (folded)")
    assert "block_1.c1_r" in message


def test_a_teacher_file_removed_after_loading_is_named(teacher_file):
    recipe = parse_recipe(recipe_text(teacher_file))
    teacher_file.unlink()
    with pytest.raises(ConfigError, match=f"stages.0.teacher.weights: no such file: {teacher_file}"):
        check_distill_stage(recipe, 0, recipe.stages[0])
