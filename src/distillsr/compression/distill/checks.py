"""The distill stage's pre-run checks: the teacher loads and fits the student, every anchor exists.

Run by :meth:`DistillStage.check <distillsr.compression.distill.stage.DistillStage.check>` for every
distill stage before the run's first stage starts (and before its output folder is claimed), so a
wrong anchor or teacher costs seconds, not a finished earlier stage. They need models, which is why
they are not part of reading the recipe: a recipe loads without torch and without reading weights.

Checked: the teacher's weights load (official ``.pth`` included), it upscales by the student's
factor and accepts the stage's patch, and every anchor names a module of the student (as built at
that stage: folded if a ``reparameterize`` stage came first) or of the teacher, both found on the
meta device; an unknown anchor is an error listing the valid names, closest first. Every error is a
:class:`~distillsr.config.errors.ConfigError` at its recipe path (``stages.<i>.anchors.<j>.student``).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from distillsr.compression.distill.anchors import check_anchor, check_pairs, feature_shapes
from distillsr.compression.distill.config import DistillStageConfig
from distillsr.compression.distill.teacher import load_teacher
from distillsr.config.errors import ConfigError
from distillsr.errors import DistillsrError
from distillsr.training.recipe import RecipeConfig, ReparameterizeStageConfig
from distillsr.training.recipe.checks import require


def check_distill_stage(recipe: RecipeConfig, index: int, stage: DistillStageConfig) -> None:
    """Raise a :class:`ConfigError` at ``stages.<index>...`` if the stage's teacher or anchors do not fit."""
    folded = any(isinstance(earlier, ReparameterizeStageConfig) for earlier in recipe.stages[:index])
    try:
        _check(recipe, stage, folded)
    except ConfigError as error:
        raise error.within(f"stages.{index}") from None


def _check(recipe: RecipeConfig, stage: DistillStageConfig, folded: bool) -> None:
    """The checks, with paths relative to the stage."""
    weights = Path(stage.teacher.weights)
    require(weights.is_file(), "teacher.weights", f"no such file: {weights}")  # it may have gone since the recipe loaded
    model = recipe.model
    try:
        teacher = load_teacher(stage.teacher.name, str(weights))
    except DistillsrError as error:
        raise ConfigError("teacher", str(error)) from None
    student_name = f"the student ({model.name} x{model.scale})"
    require(
        teacher.scale == model.scale,
        "teacher",
        f"the {teacher.description} upscales x{teacher.scale} but {student_name} upscales x{model.scale}; "
        "distillation needs the same factor",
    )
    patch = stage.lr_patch_size or recipe.data.train.lr_patch_size
    min_size = teacher.model.min_size
    require(
        patch >= min_size,
        "lr_patch_size",
        f"the {teacher.description} needs inputs of at least {min_size} px, got a {patch} px patch",
    )
    if not stage.anchors:
        return
    student_name = f"the student {model.name} x{model.scale}" + (" (folded)" if folded else "")
    teacher_shapes = teacher.shapes
    student_shapes = feature_shapes(_student_on_meta(recipe, folded), size=teacher.shapes_size)
    for index, pair in enumerate(stage.anchors):
        for side, shapes, what in (
            ("student", student_shapes, student_name),
            ("teacher", teacher_shapes, teacher.description),
        ):
            try:
                check_anchor(getattr(pair, side), shapes, role=side, model=what)
            except DistillsrError as error:
                raise ConfigError(f"anchors.{index}.{side}", str(error)) from None
        try:
            check_pairs([pair], student_shapes, teacher_shapes, student=student_name, teacher=teacher.description)
        except DistillsrError as error:
            raise ConfigError(f"anchors.{index}", str(error)) from None


def _student_on_meta(recipe: RecipeConfig, folded: bool) -> nn.Module:
    """The student network as the stage will see it, built on the meta device (no memory, no init).

    Built from the recipe, not taken from the run: before the first stage runs, the network a later
    stage trains does not exist yet (a fold or a prune in between changes it).
    """
    import torch

    from distillsr.nn.reparam import deploy

    model = recipe.model
    with torch.device("meta"):
        network = model.zoo_entry().build(model.scale, **model.kwargs)
        return deploy(network) if folded else network
