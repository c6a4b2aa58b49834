"""The options of ``kind: prune``: iterative structured pruning as a stage of a recipe (DIPNet's step 5).

``N_p^i = psi(Phi(N_p^(i-1); r))``: each step removes the weakest channels of every prunable group
(:mod:`distillsr.compression.pruning`), then fine-tunes for ``finetune_iterations`` (psi), with the
teacher's output as target when one is given. The stage stops at a cost target (``target_params``,
``target_macs`` in G at 3x256x256), at a PSNR drop on the first validation folder (``max_drop``),
or at exact group widths (``widths``: group name or glob -> width, e.g. DIPNet's published 44/38
layout), reached in equal parts of at most ``step`` of each group per step.

It needs a folded network (prune after ``reparameterize``: RRRB's identity needs equal widths).
Torch-free, like every stage config (the stage table imports it to read recipes); the stage that
runs these options is :class:`~distillsr.compression.pruning.stage.PruneStage`.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Literal

from distillsr.compression.distill.config import TeacherConfig
from distillsr.compression.pruning.criteria import CRITERIA, DEFAULT_CRITERION
from distillsr.config.schema import doc
from distillsr.training.recipe.checks import positive, require
from distillsr.training.recipe.stages import StageConfig

if TYPE_CHECKING:
    from distillsr.training.recipe.run import RecipeConfig


@dataclass(frozen=True, kw_only=True)
class PruneStageConfig(StageConfig):
    """Iterative L2 filter pruning, fine-tuning between steps, until a target."""

    kind: ClassVar[str] = "prune"
    runner: ClassVar[str | type] = "distillsr.compression.pruning.stage:PruneStage"

    step: float = field(default=0.1, metadata=doc("fraction of each prunable group removed per step (DIPNet: 0.3125)"))
    target_params: int | None = field(default=None, metadata=doc("stop at this many parameters (the last step lands on it)"))
    target_macs: float | None = field(default=None, metadata=doc("stop at this many GMACs at 3x256x256 (met within 2%)"))
    max_drop: float | None = field(
        default=None, metadata=doc("stop before validation PSNR (first data.val folder) drops more than this, in dB")
    )
    widths: dict[str, int] = field(
        default_factory=dict,
        metadata=doc("exact widths per channel group (name or glob, e.g. 'block_*.c1_r': 38); `-v` lists the groups"),
    )
    criterion: Literal["sensitivity", "taylor", "activation", "l2"] = field(
        default=DEFAULT_CRITERION,
        metadata=doc("ranking: sensitivity (the output change, default), taylor (first-order loss change) or "
                     "activation (output RMS), on 16 of the recipe's training patches; l2 (filter norms, DIPNet's choice)"),
    )
    bicubic_floor: bool = field(
        default=True,
        metadata=doc("stop the run when a step's model is non-finite or below bicubic on those patches; false: go on "
                     "(later stages may recover it)"),
    )
    finetune_iterations: int = field(default=0, metadata=doc("psi: fine-tuning iterations after each step; 0 for none"))
    lr: float = field(default=1e-4, metadata=doc("fine-tuning learning rate (Adam, cosine decay within each step)"))
    loss: Literal["l1", "l2"] = field(default="l1", metadata=doc("fine-tuning pixel loss"))
    lr_patch_size: int | None = field(default=None, metadata=doc("fine-tuning LR patch side; null: data.train.lr_patch_size"))
    batch_size: int | None = field(default=None, metadata=doc("fine-tuning batch; null: data.train.batch_size"))
    teacher: TeacherConfig | None = field(
        default=None, metadata=doc("fine-tune against this teacher's output (enhanced HR); null: see self_teacher")
    )
    self_teacher: bool = field(
        default=True,
        metadata=doc("with no teacher, fine-tune against the unpruned network's own output (DIPNet's enhanced HR, "
                     "from the model itself); false: against the ground truth"),
    )

    def __post_init__(self) -> None:
        require(0 < self.step < 1, "step", f"must be a fraction in (0, 1), got {self.step}")
        targets = [t for t in (self.target_params, self.target_macs, self.max_drop) if t is not None]
        require(bool(targets) != bool(self.widths), "target_params",
                "give exactly one kind of target: target_params / target_macs / max_drop, or widths")
        positive(self.target_params, "target_params")
        positive(self.target_macs, "target_macs")
        require(self.max_drop is None or self.max_drop >= 0, "max_drop", f"must be zero or more, got {self.max_drop}")
        for name, width in self.widths.items():
            require(isinstance(width, int) and not isinstance(width, bool) and width >= 1, f"widths.{name}",
                    f"must be a positive integer, got {width!r}")
        require(self.finetune_iterations >= 0, "finetune_iterations", f"must be zero or more, got {self.finetune_iterations}")
        positive(self.lr, "lr")
        positive(self.lr_patch_size, "lr_patch_size")
        positive(self.batch_size, "batch_size")
        require(self.criterion in CRITERIA, "criterion", f"must be one of {', '.join(CRITERIA)}, got {self.criterion!r}")

    def check_in_recipe(self, recipe: RecipeConfig, index: int) -> None:
        require(self.max_drop is None or bool(recipe.data.val.folders), f"stages.{index}.max_drop",
                "needs a validation folder (data.val.folders)")

    def widths_for(self, group_names: list[str]) -> dict[str, int]:
        """The exact target width of every group a ``widths`` key names (globs expanded); unknown keys are errors."""
        from distillsr.errors import DistillsrError

        resolved: dict[str, int] = {}
        for pattern, width in self.widths.items():
            matched = [name for name in group_names if fnmatch.fnmatchcase(name, pattern)]
            if not matched:
                raise DistillsrError(f"prune widths: no channel group matches {pattern!r}; groups: {', '.join(group_names)}")
            resolved.update({name: width for name in matched})
        return resolved
