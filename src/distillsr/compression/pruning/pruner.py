"""One pruning run, built the same way for ``kind: prune`` and ``distillsr prune``.

Both prune a loaded model step by step with the same tools: a ranking criterion measured on
calibration patches, the bicubic floor on those patches, and ψ (fine-tuning between steps) towards
a teacher — by default the unpruned model itself. They differ only in where the inputs come from:
the stage takes its patches, degradation and validation from its recipe (the
:class:`~distillsr.training.stages.context.StageContext`), the command from its arguments (``--data``,
else the photos shipped with the package). So each caller maps its inputs to :class:`Finetuning`
and a :class:`~.calibration.CalibrationSet`, and everything after that is here, once:
:func:`pruning_tools` builds the criterion, the floor and the fine-tuner (with the self-teacher),
:func:`prune_model` runs the steps to a cost target (:func:`~.iterative.prune_iteratively`) or to
exact group widths.

Neither the trainer nor the command's output format lives here: the stage hands the pruned network
on to the next stage, the command prints its table and writes one file.
"""

from __future__ import annotations

import copy
import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import torch

from distillsr.compression.pruning import finetune as psi  # psi.make_finetuner looked up per call (tests spy on it)
from distillsr.compression.pruning.calibration import CalibrationSet, QualityFloor, make_criterion
from distillsr.compression.pruning.finetune import FinetuneSettings
from distillsr.compression.pruning.iterative import (
    Finetune,
    PruneResult,
    PruneStep,
    PruneTarget,
    Validate,
    measure_step,
    prune_iteratively,
)
from distillsr.compression.pruning.ranking import Criterion
from distillsr.errors import DistillsrError
from distillsr.models.sr_model import SRModel

SELF_TEACHER = "self"
"""Fine-tune towards the unpruned model's own output (DIPNet's enhanced HR, from the model itself)."""


@dataclass(frozen=True)
class Finetuning:
    """ψ after every step: its settings, what it learns from, and on which patches.

    ``teacher``: a frozen model whose SR is the target, :data:`SELF_TEACHER` (a frozen copy of the
    model as it is before the first step), or None (the ground truth). ``patches``: a
    :class:`~distillsr.data.training.PairedTrainingSet` to train on (a recipe's own, with its
    degradation); None makes bicubic patches of ``settings.hr_folders``.
    """

    settings: FinetuneSettings
    teacher: SRModel | Literal["self"] | None = SELF_TEACHER
    patches: Any = None


@dataclass(frozen=True)
class PruningTools:
    """What every step uses: the ranking (None: L2 filter norms), the floor (None: off), ψ (None: none)."""

    calibration: CalibrationSet
    criterion: Criterion | None
    floor: QualityFloor | None
    finetune: Finetune | None


def calibration_patches(folders: Sequence[str] | None, scale: int, *, lr_patch_size: int, seed: int) -> CalibrationSet:
    """Patches of the user's HR ``folders``, else the photos shipped with the package (a run needs no images)."""
    if folders:
        return CalibrationSet.from_folders(folders, scale, lr_patch_size=lr_patch_size, seed=seed)
    return CalibrationSet.shipped(scale)


def frozen_copy(model: SRModel) -> SRModel:
    """``model`` as it is now, copied and in eval mode: the self-teacher, unchanged by the pruning that follows."""
    return dataclasses.replace(model, network=copy.deepcopy(model.network).eval())


def pruning_tools(
    model: SRModel,
    calibration: CalibrationSet,
    *,
    criterion: str,
    bicubic_floor: bool,
    finetuning: Finetuning | None,
    device: torch.device,
) -> PruningTools:
    """The criterion, floor and fine-tuner of a run on ``model`` (before its first step: the self-teacher is copied now)."""
    tuner = None
    if finetuning is not None:
        teacher = frozen_copy(model) if finetuning.teacher == SELF_TEACHER else finetuning.teacher
        tuner = psi.make_finetuner(finetuning.settings, model.scale, device, teacher, dataset=finetuning.patches)
    return PruningTools(
        calibration=calibration,
        criterion=make_criterion(criterion, calibration, model.input_range),
        floor=QualityFloor(calibration) if bicubic_floor else None,
        finetune=tuner,
    )


def prune_model(
    model: SRModel,
    tools: PruningTools,
    *,
    step: float,
    target: PruneTarget | None = None,
    widths: Callable[[list[str]], dict[str, int]] | None = None,
    validate: Validate | None = None,
    on_step: Callable[[PruneStep], None] | None = None,
) -> PruneResult:
    """Prune ``model`` to ``target`` (a copy; see :func:`~.iterative.prune_iteratively`) or to exact group widths.

    ``widths(group_names) -> {group: width}`` resolves the goal once the groups are known; the
    widths are approached in equal parts of at most ``step`` of each group's width per step, and
    ``model``'s own network is narrowed (a stage hands it on).
    """
    if (target is None) == (widths is None):
        raise DistillsrError("a pruning run needs either a target or exact widths")
    if target is not None:
        return prune_iteratively(model, step, target, tools.finetune, validate, criterion=tools.criterion,
                                 on_step=on_step, floor=tools.floor)
    return _prune_to_widths(model, tools, step, widths, validate, on_step or (lambda record: None))


def _prune_to_widths(
    model: SRModel,
    tools: PruningTools,
    step: float,
    widths: Callable[[list[str]], dict[str, int]],
    validate: Validate | None,
    report: Callable[[PruneStep], None],
) -> PruneResult:
    """Exact group widths, approached in equal parts of at most ``step`` of each group's width per step."""
    from distillsr.compression.pruning.groups import example_input, find_groups, prunable_groups
    from distillsr.compression.pruning.plan import prune_to_widths

    network = model.network
    example = example_input(network, model.in_channels or 3, max(32, model.min_size * 2))
    groups = {group.name: group.width for group in prunable_groups(find_groups(network, example))}
    goal = widths(list(groups))
    count = max(math.ceil((groups[name] - width) / (groups[name] * step)) for name, width in goal.items())
    steps = [measure_step(model, 0, 0.0, validate, tools.floor)]
    report(steps[0])
    if count <= 0:  # the goal is the present width (or wider, which plan_widths refuses in one line)
        prune_to_widths(network, goal, example)
        return PruneResult(model, steps, 0, "the model already has these widths")
    for index in range(1, count + 1):
        now = {name: groups[name] - round((groups[name] - width) * index / count) for name, width in goal.items()}
        prune_to_widths(network, now, example, tools.criterion(network) if tools.criterion is not None else None)
        if tools.finetune is not None:
            tools.finetune(model, index)
            network.eval()
        steps.append(measure_step(model, index, 0.0, validate, tools.floor))
        report(steps[-1])
    return PruneResult(model, steps, len(steps) - 1, "the widths are reached")
