"""The tagged unions of a recipe: explicit tables, one row per kind.

The tables name their classes, so they live apart from them: the stage and loss modules never
import this one. A new loss is a class in its own module plus one row here; a new stage kind is a
row of :data:`distillsr.training.stages.table.STAGES` (which also names the class that runs it),
from which :data:`STAGE_KINDS` is derived.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from distillsr.config.schema import TaggedUnion
from distillsr.training.recipe.distill import DISTILL_LOSS_TYPES
from distillsr.training.recipe.losses import LossConfig, PixelLossConfig
from distillsr.training.recipe.stages import StageConfig
from distillsr.training.stages.table import STAGES

STAGE_KINDS: Mapping[str, type[StageConfig]] = MappingProxyType({kind: row.config for kind, row in STAGES.items()})
"""Stage kind -> its options, derived from the one table of kinds (:data:`~distillsr.training.stages.table.STAGES`)."""

LOSS_TYPES: Mapping[str, type[LossConfig]] = MappingProxyType(
    {"l1": PixelLossConfig, "l2": PixelLossConfig, "charbonnier": PixelLossConfig, **DISTILL_LOSS_TYPES}
)
"""Loss type -> its options. A new loss term is a :class:`LossConfig` subclass and a row here."""

TAGGED_UNIONS: tuple[TaggedUnion, ...] = (
    TaggedUnion(StageConfig, "kind", STAGE_KINDS, "train", "stage kind"),
    TaggedUnion(LossConfig, "type", LOSS_TYPES, None, "loss type"),
)


def tagged_union(cls: Any) -> TaggedUnion | None:
    """The tagged union whose base is ``cls``, if it is one."""
    for union in TAGGED_UNIONS:
        if cls is union.base:
            return union
    return None
