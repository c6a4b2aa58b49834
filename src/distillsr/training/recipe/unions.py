"""The tagged unions of a recipe: explicit tables, one row per kind.

The tables name their classes, so they live apart from them: the stage and loss modules never
import this one, and a new kind is a class in its own module plus one row here.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from distillsr.config.schema import TaggedUnion
from distillsr.training.recipe.losses import LossConfig, PixelLossConfig
from distillsr.training.recipe.stages import ReparameterizeStageConfig, StageConfig, TrainStageConfig

STAGE_KINDS: Mapping[str, type[StageConfig]] = MappingProxyType(
    {cls.kind: cls for cls in (TrainStageConfig, ReparameterizeStageConfig)}
)
"""Stage kind -> its options. A new stage kind is a :class:`StageConfig` subclass and a row here."""

LOSS_TYPES: Mapping[str, type[LossConfig]] = MappingProxyType(
    {"l1": PixelLossConfig, "l2": PixelLossConfig, "charbonnier": PixelLossConfig}
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
