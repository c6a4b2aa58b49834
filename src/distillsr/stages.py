"""The one table of stage kinds and loss types, and the recipe reader that uses it.

This module sits above the training engine (:mod:`distillsr.training`) and the compression stage
kinds (:mod:`distillsr.compression`) so that neither imports the other's stages: the engine reads
recipes with whatever kinds it is given (:class:`~distillsr.training.recipe.RecipeKinds`) and runs
each stage with the runner its options name; the compression packages keep each stage's options
beside its runner. Only this table names them all.

A new stage kind is one row of :data:`STAGES`: its options class (a
:class:`~distillsr.training.recipe.StageConfig` subclass with a ``kind`` and a ``runner``), whose
runner is a :class:`~distillsr.training.stages.base.StageKind`. A new loss term is one row of
:data:`LOSS_TYPES`. The readers below look the tables up when called, not when imported, so a
test can add a row with ``monkeypatch``.

Torch-free at import: every options class is, so ``distillsr train --print-config`` and reading a
recipe never load the engine.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any

from distillsr.compression.contrastive.config import CSDStageConfig, ProCSDStageConfig
from distillsr.compression.distill.config import DistillStageConfig, FeatureLossConfig, TeacherLossConfig
from distillsr.compression.pruning.config import PruneStageConfig
from distillsr.training.recipe import (
    FieldDoc,
    LossConfig,
    PixelLossConfig,
    RecipeConfig,
    RecipeKinds,
    ReparameterizeStageConfig,
    StageConfig,
    TrainStageConfig,
)
from distillsr.training.recipe import io as _io
from distillsr.training.recipe import reference as _reference

STAGES: tuple[type[StageConfig], ...] = (
    TrainStageConfig,
    ReparameterizeStageConfig,
    DistillStageConfig,
    PruneStageConfig,
    CSDStageConfig,
    ProCSDStageConfig,
)
"""Every stage kind a recipe may use, by its options class; the first is the kind of a stage without ``kind``."""

LOSS_TYPES: Mapping[str, type[LossConfig]] = MappingProxyType(
    {
        "l1": PixelLossConfig,
        "l2": PixelLossConfig,
        "charbonnier": PixelLossConfig,
        "teacher": TeacherLossConfig,
        "features": FeatureLossConfig,
    }
)
"""Loss type -> its options (one class may serve several types). Teacher terms only fit a distill stage."""


def recipe_kinds() -> RecipeKinds:
    """The tables as the reader takes them, read now (a test may have added a row)."""
    return RecipeKinds.of(STAGES, LOSS_TYPES)


def stage_kinds() -> Mapping[str, type[StageConfig]]:
    """Stage kind -> its options class."""
    return recipe_kinds().stages


def load_recipe(path: str | Path, overrides: Iterable[str] = ()) -> RecipeConfig:
    """Read a recipe file strictly, after applying ``--set``-style ``overrides`` (``a.b.c=value``)."""
    return _io.load_recipe(path, overrides, kinds=recipe_kinds())


def parse_recipe(text: str, *, source: str = "<string>", overrides: Iterable[str] = ()) -> RecipeConfig:
    """A validated recipe from YAML text; ``source`` names it in error messages."""
    return _io.parse_recipe(text, kinds=recipe_kinds(), source=source, overrides=overrides)


def recipe_from_dict(data: Any, *, source: str = "<recipe>", overrides: Iterable[str] = ()) -> RecipeConfig:
    """A validated recipe from already-parsed data (overrides applied first)."""
    return _io.recipe_from_dict(data, kinds=recipe_kinds(), source=source, overrides=overrides)


def recipe_to_dict(value: Any) -> Any:
    """Plain data of a recipe or any part of it; stage kinds and loss types written first."""
    return _io.recipe_to_dict(value, kinds=recipe_kinds())


def format_recipe(recipe: RecipeConfig) -> str:
    """The resolved recipe as YAML, defaults included (``--print-config``); it reads back equal."""
    return _io.format_recipe(recipe, kinds=recipe_kinds())


def field_reference() -> list[FieldDoc]:
    """Every recipe key, every stage kind's and loss type's options included, with type, default and help."""
    return _reference.field_reference(recipe_kinds())
