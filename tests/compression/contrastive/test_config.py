"""The csd and pro-csd stage options: defaults from the paper, and the checks made when the recipe is read."""

from __future__ import annotations

import pytest

from distillsr.compression.contrastive.config import CSDStageConfig, ProCSDStageConfig
from distillsr.stages import format_recipe, parse_recipe
from distillsr.training.recipe import ConfigError

RECIPE = """\
model: {{name: {model}, scale: 4}}
data:
  train: {{hr_folders: [hr], lr_patch_size: {patch}, batch_size: {batch}}}
stages:
  - kind: {kind}
    iterations: 100
{options}
"""


def _recipe(kind: str = "csd", *, model: str = "edsr-baseline", patch: int = 24, batch: int = 16, **options):
    lines = "".join(f"    {key}: {value}\n" for key, value in options.items())
    return parse_recipe(RECIPE.format(kind=kind, model=model, patch=patch, batch=batch, options=lines))


def test_csd_defaults_are_the_readme_command():
    stage = _recipe().stages[0]
    assert isinstance(stage, CSDStageConfig)
    assert (stage.student_width, stage.teacher_width, stage.teacher_weight, stage.contrastive_weight) == (0.25, 1.0, 1.0, 200.0)
    # the official loss: the batch's first neg_num negatives, raw 0-255 values into VGG
    assert (stage.num_negatives, stage.negatives, stage.imagenet_norm, stage.vgg_weights) == (10, "batch", False, None)
    assert stage.layer_weights == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
    assert stage.branch_widths == (0.25, 1.0) and stage.positive_width == 1.0
    assert [term.type for term in stage.losses] == ["l1"]


def test_pro_csd_has_three_teachers_and_the_narrowest_is_the_positive():
    stage = _recipe("pro-csd").stages[0]
    assert isinstance(stage, ProCSDStageConfig)
    assert stage.teachers == (1.0, 0.75, 0.5) and stage.positive_width == 0.5
    assert stage.branch_widths == (0.25, 1.0, 0.75, 0.5)
    assert isinstance(_recipe("pro_csd", teacher_widths="[0.5, 1.0]").stages[0], ProCSDStageConfig)


def test_the_official_option_names_are_accepted():
    stage = _recipe(contra_lambda=0.5, t_lambda=0, neg_num=4, stu_width_mult=0.5).stages[0]
    assert (stage.contrastive_weight, stage.teacher_weight, stage.num_negatives, stage.student_width) == (0.5, 0.0, 4, 0.5)


def test_a_csd_recipe_round_trips_through_the_printed_form(tmp_path):
    recipe = _recipe("pro-csd", negatives="batch", imagenet_norm="false", vgg_weights="random")
    assert parse_recipe(format_recipe(recipe)) == recipe


def test_a_model_that_is_not_slimmable_is_refused_naming_the_slimmable_ones():
    with pytest.raises(ConfigError, match="model rfdn is not slimmable") as error:
        _recipe(model="rfdn")
    assert "edsr-baseline" in str(error.value) and "carn" in str(error.value)


@pytest.mark.parametrize(("options", "where"), [
    ({"student_width": 0.3}, "stages.0.student_width"),
    ({"teacher_width": 0.8}, "stages.0.teacher_width"),
])
def test_a_width_the_model_does_not_run_at_is_refused_listing_the_valid_ones(options, where):
    with pytest.raises(ConfigError, match=r"runs at widths 1, 0.75, 0.5, 0.25, not 0\.[38]") as error:
        _recipe(**options)
    assert where in str(error.value)


def test_pro_csd_widths_are_checked_against_the_model_too():
    with pytest.raises(ConfigError, match=r"stages.0.teacher_widths.*not 0.6"):
        _recipe("pro-csd", teacher_widths="[1.0, 0.6]")


@pytest.mark.parametrize(("options", "message"), [
    ({"teacher_width": 0.25}, "every teacher must be wider than the student"),
    ({"student_width": 1.0}, r"student_width.*must lie in \(0, 1\)"),
    ({"num_negatives": 0}, "num_negatives.*at least 1"),
    ({"contrastive_weight": -1}, "contrastive_weight.*zero or more"),
    ({"layer_weights": "[1, 1]"}, "layer_weights.*needs 5 values"),
    ({"vgg_weights": "no/such/vgg.pth"}, "no VGG-19 weights file at no/such/vgg.pth"),
    ({"vgg_sha256": "abc"}, "vgg_sha256.*64 hex digits"),
    ({"vgg_sha256": "a" * 64}, "vgg_sha256.*applies to a vgg_weights file"),
])
def test_bad_values_are_refused_where_they_are(options, message):
    with pytest.raises(ConfigError, match=message):
        _recipe(**options)


def test_pro_csd_teachers_must_be_distinct_and_wider():
    with pytest.raises(ConfigError, match="repeats a width"):
        _recipe("pro-csd", teacher_widths="[1.0, 1.0]")
    with pytest.raises(ConfigError, match="wider than the student"):
        _recipe("pro-csd", teacher_widths="[1.0, 0.25]")


def test_others_needs_a_batch_of_two_but_the_official_draw_and_no_contrastive_term_do_not():
    with pytest.raises(ConfigError, match=r"data.train.batch_size.*batch of 2 or more"):
        _recipe(batch=1, negatives="others")
    with pytest.raises(ConfigError, match=r"stages.0.batch_size.*batch of 2 or more"):
        _recipe(batch_size=1, negatives="others")
    assert _recipe(batch=1).stages[0].negatives == "batch"
    assert _recipe(batch=1, negatives="others", contrastive_weight=0).stages[0].contrastive_weight == 0


def test_the_hr_patch_must_survive_vgg_four_poolings():
    with pytest.raises(ConfigError, match=r"data.train.lr_patch_size.*16 px or more; this patch gives 12 px"):
        _recipe(patch=3)
    assert _recipe(patch=4).stages[0].kind == "csd"
