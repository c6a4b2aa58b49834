"""Loss terms of a training stage: a tagged union on ``type`` (its members are listed in :mod:`distillsr.stages`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import ClassVar, Literal

from distillsr.config.schema import doc
from distillsr.training.recipe.checks import positive, require


@dataclass(frozen=True, kw_only=True)
class LossConfig:
    """Base of a loss term. Its ``type`` picks the subclass from the recipe's loss types (:class:`~.kinds.RecipeKinds`)."""

    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({})  # other spellings of a type -> ours
    needs_teacher: ClassVar[bool] = False  # only a stage with a teacher (kind: distill) can compute it

    weight: float = field(default=1.0, metadata=doc("factor of this term in the total loss", aliases=("loss_weight",)))

    def __post_init__(self) -> None:
        require(self.weight >= 0, "weight", f"must be zero or more, got {self.weight}")


PIXEL_LOSS_EPS = 1e-3


@dataclass(frozen=True, kw_only=True)
class PixelLossConfig(LossConfig):
    """A distance between SR and HR pixels; the basic term of every SR recipe."""

    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType(
        {"l1loss": "l1", "mse": "l2", "mseloss": "l2", "charbonnierloss": "charbonnier"}
    )

    type: Literal["l1", "l2", "charbonnier"] = field(metadata=doc("l1, l2 (mean squared error) or charbonnier"))
    eps: float = field(
        default=PIXEL_LOSS_EPS, metadata=doc("charbonnier only: epsilon of sqrt(d^2 + eps^2) on the [0, 1] scale")
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        positive(self.eps, "eps")
        require(
            self.type == "charbonnier" or self.eps == PIXEL_LOSS_EPS,
            "eps",
            f"applies only to charbonnier, not {self.type}",
        )
