"""The members of a recipe's tagged unions (stage kinds, loss types), handed to the reader as data.

The engine reads recipes but must not know the stage kinds that plug into it: those live above it
(:mod:`distillsr.compression`), and the one table that lists them all is above both
(:mod:`distillsr.stages`). So the reader (:mod:`.io`) and the reference (:mod:`.reference`) take a
:class:`RecipeKinds` argument instead of importing a table, and nothing in ``training/`` names a
compression class.

A stage config class carries its own tag (``kind``) and names its runner, so a stage table is just
a sequence of classes; a loss class may serve several tags (``l1``, ``l2`` and ``charbonnier`` are
one :class:`~.losses.PixelLossConfig`), so the loss table maps tag -> class.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from distillsr.config.schema import TaggedUnion
from distillsr.errors import DistillsrError
from distillsr.training.recipe.losses import LossConfig
from distillsr.training.recipe.stages import StageConfig


@dataclass(frozen=True)
class RecipeKinds:
    """Stage kind -> its options class, loss type -> its options class; the first stage kind is the default."""

    stages: Mapping[str, type[StageConfig]]
    losses: Mapping[str, type[LossConfig]]

    @classmethod
    def of(cls, stages: Iterable[type[StageConfig]], losses: Mapping[str, type[LossConfig]]) -> RecipeKinds:
        """The kinds of a table of stage classes (each keyed by its ``kind``) and a loss table, checked."""
        table: dict[str, type[StageConfig]] = {}
        for config in stages:
            if not (isinstance(config, type) and issubclass(config, StageConfig)):
                raise DistillsrError(f"the stage table lists {config!r}, which is not a StageConfig subclass")
            if not config.kind:
                raise DistillsrError(f"stage config {config.__name__} has no `kind`")
            if config.kind in table:
                raise DistillsrError(
                    f"stage kind {config.kind!r} is listed twice ({table[config.kind].__name__}, {config.__name__})"
                )
            table[config.kind] = config
        if not table:
            raise DistillsrError("the stage table is empty")
        for tag, loss in losses.items():
            if not (isinstance(loss, type) and issubclass(loss, LossConfig)):
                raise DistillsrError(f"loss type {tag!r} is {loss!r}, not a LossConfig subclass")
        return cls(MappingProxyType(table), MappingProxyType(dict(losses)))

    @property
    def unions(self) -> tuple[TaggedUnion, ...]:
        """What the generic reader needs: the stage union (default: the first kind) and the loss union."""
        return (
            TaggedUnion(StageConfig, "kind", self.stages, next(iter(self.stages)), "stage kind"),
            TaggedUnion(LossConfig, "type", self.losses, None, "loss type"),
        )

    def union_for(self, cls: Any) -> TaggedUnion | None:
        """The tagged union whose base is ``cls``, if it is one."""
        return next((union for union in self.unions if cls is union.base), None)
