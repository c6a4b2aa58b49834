"""Iterative pruning, DIPNet's ``N_p^i = ψ(Φ(N_p^(i-1); r))``: cut a fraction, fine-tune, repeat.

Each step re-derives the channel groups of the current network, removes the weakest ``step``
fraction of every prunable group, lets the caller fine-tune (ψ), and measures. It stops at a
cost target (parameters, or MACs at 3x256x256: the last step removes only what lands on it) or
when the validation PSNR has dropped more than ``max_drop`` dB below the unpruned model's; the
model returned is the last one meeting every constraint. With a
:class:`~.calibration.QualityFloor`, every step's model (after its fine-tuning) is run on the
calibration images and one that is non-finite or below bicubic ends the run with
:class:`~.calibration.PruneRefused`, so no caller can write it.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from distillsr.compression.pruning.calibration import QualityFloor
from distillsr.compression.pruning.costs import CostModel, narrowed
from distillsr.compression.pruning.groups import (
    example_input,
    find_groups,
    prunable_groups,
)
from distillsr.compression.pruning.plan import land_on_target, plan_fraction, ranked
from distillsr.compression.pruning.ranking import Criterion
from distillsr.compression.pruning.surgery import remove_channels
from distillsr.console import get_logger
from distillsr.errors import DistillsrError
from distillsr.models.pruned_widths import layer_widths
from distillsr.models.sr_model import SRModel

log = get_logger(__name__)

GIGA = 1e9
LANDING_TOLERANCE = 0.02  # a cost target counts as met when landed within 2 % below it
MAX_STEPS = 1000  # a guard only: every step removes at least one channel


@dataclass(frozen=True)
class PruneTarget:
    """When to stop: a parameter count, MACs in G at 3x256x256, and/or a PSNR drop in dB."""

    params: int | None = None
    macs: float | None = None
    max_drop: float | None = None

    def __post_init__(self) -> None:
        if self.params is None and self.macs is None and self.max_drop is None:
            raise DistillsrError("a pruning target needs params, macs or max_drop")
        if self.params is not None and self.params < 1:
            raise DistillsrError(f"target params must be positive, got {self.params}")
        if self.macs is not None and self.macs <= 0:
            raise DistillsrError(f"target MACs must be positive, got {self.macs}")
        if self.max_drop is not None and self.max_drop < 0:
            raise DistillsrError(f"max drop must be non-negative, got {self.max_drop}")

    def measure(self, params: int, macs: int) -> float:
        """The quantity the cost target bounds (params, or MACs in G)."""
        return float(params) if self.params is not None else macs / GIGA

    @property
    def bound(self) -> float | None:
        return float(self.params) if self.params is not None else self.macs

    def describe(self) -> str:
        parts = []
        if self.params is not None:
            parts.append(f"{self.params:,} params")
        if self.macs is not None:
            parts.append(f"{self.macs:g} G MACs")
        if self.max_drop is not None:
            parts.append(f"at most {self.max_drop:g} dB PSNR drop")
        return ", ".join(parts)


@dataclass
class PruneStep:
    """One point of the pruning path (step 0 is the unpruned model)."""

    index: int
    fraction: float  # of the prunable channels this step removed (the last step may remove less)
    params: int
    macs: int
    psnr: float | None = None
    widths: dict[str, int] = field(default_factory=dict)  # prunable group -> width after the step
    calibration_psnr: float | None = None  # on the floor's calibration patches, when a floor is set


@dataclass
class PruneResult:
    model: SRModel
    steps: list[PruneStep]
    kept: int  # the step whose model is returned
    stopped: str  # why the loop ended


Finetune = Callable[[SRModel, int], object]
Validate = Callable[[SRModel], float]


def measure_step(
    model: SRModel, index: int, fraction: float, validate: Validate | None, floor: QualityFloor | None = None
) -> PruneStep:
    """The step's costs, group widths and scores; ``floor`` refuses a model below bicubic (raises)."""
    from distillsr.efficiency import count_ops, count_parameters

    network = model.network
    reference = next(iter(network.parameters()))
    shape = (1, model.in_channels or 3, 256, 256)
    network.eval()
    groups = prunable_groups(find_groups(network, example_input(network, model.in_channels or 3, _side(model))))
    return PruneStep(
        index=index,
        fraction=fraction,
        params=count_parameters(network).total,
        macs=count_ops(network, shape, device=reference.device).macs,
        psnr=validate(model) if validate is not None else None,
        widths={group.name: group.width for group in groups},
        calibration_psnr=_check_floor(floor, model, index) if floor is not None else None,
    )


def _check_floor(floor: QualityFloor, model: SRModel, index: int) -> float:
    if index == 0:
        return floor.check(model, f"the unpruned {model.name}", "are these the right weights for this model and scale?")
    return floor.check(model, f"{model.name} after pruning step {index}")


def _side(model: SRModel) -> int:
    return max(32, model.min_size * 2)


def prune_iteratively(
    model: SRModel,
    step: float,
    target: PruneTarget,
    finetune: Finetune | None = None,
    validate: Validate | None = None,
    *,
    criterion: Criterion | None = None,
    on_step: Callable[[PruneStep], None] | None = None,
    floor: QualityFloor | None = None,
) -> PruneResult:
    """Prune a copy of ``model`` step by step until ``target``; ``model`` itself is not changed.

    ``finetune(model, step_index)`` trains the pruned model in place between steps (ψ iterations,
    with or without a teacher: the caller decides). ``validate(model)`` returns a PSNR; it is
    required for ``max_drop``. ``criterion(network)`` gives per-layer channel importance for the
    ranking (default: L2 filter norms; :func:`~.ranking.activation_importance` is the data-aware
    one). ``on_step`` sees every step's record as soon as it is measured. ``floor`` checks every
    step's model (the unpruned one first) and raises :class:`~.calibration.PruneRefused` at the first
    that is non-finite or below bicubic.
    """
    if not 0 < step < 1:
        raise DistillsrError(f"the pruning step must be a fraction in (0, 1), got {step}")
    if target.max_drop is not None and validate is None:
        raise DistillsrError("a maximum PSNR drop needs a validation set")
    network = copy.deepcopy(model.network).eval()
    current = dataclasses.replace(model, network=network, metadata=dict(model.metadata))
    in_channels = model.in_channels or 3
    example = example_input(network, in_channels, _side(model))
    find_groups(network, example, explain=True)  # the debug lines saying what stays whole, once
    costs = CostModel.measure(network, (1, in_channels, 256, 256))
    report = on_step or (lambda record: None)

    steps = [measure_step(current, 0, 0.0, validate, floor)]
    report(steps[0])
    base_psnr = steps[0].psnr
    kept_state = copy.deepcopy(network) if target.max_drop is not None else None
    bound = target.bound
    if bound is not None and target.measure(steps[0].params, steps[0].macs) <= bound:
        return PruneResult(current, steps, 0, "the model already meets the target")
    stopped = ""
    for index in range(1, MAX_STEPS + 1):
        groups = find_groups(network, example)
        prunable = sum(group.width for group in prunable_groups(groups))
        if not prunable:
            why = "-v lists why each group is fixed" if groups else "no layer is a plain conv or linear layer it can slice"
            raise DistillsrError(f"{model.name} has no prunable channel group ({why})")
        importance = criterion(network) if criterion is not None else None
        removal = plan_fraction(network, groups, step, order=ranked(network, groups, importance))
        if not removal:
            stopped = "every prunable group is down to one channel"
            break
        final = False
        if bound is not None:
            after = costs.costs(narrowed(layer_widths(network), removal))
            if target.measure(after.params, after.macs) <= bound:
                removal, _ = land_on_target(network, groups, step, costs, target.measure, bound, importance)
                final = True
        remove_channels(network, removal)
        if finetune is not None:
            finetune(current, index)
            network.eval()
        record = measure_step(current, index, len(removal) / prunable, validate, floor)
        steps.append(record)
        report(record)
        if target.max_drop is not None and base_psnr - record.psnr > target.max_drop:
            network = kept_state
            current = dataclasses.replace(current, network=network)
            stopped = f"step {index} dropped {base_psnr - record.psnr:.3f} dB (> {target.max_drop:g} dB)"
            return PruneResult(current, steps, index - 1, stopped)
        if kept_state is not None:
            kept_state = copy.deepcopy(network)
        if final:
            reached = target.measure(record.params, record.macs)
            if reached < bound * (1 - LANDING_TOLERANCE):
                log.warning(
                    f"landed {1 - reached / bound:.1%} below the target: within one step's limits no smaller "
                    "removal reaches it (a single channel of this model's narrowest groups costs that much)"
                )
            return PruneResult(current, steps, index, "target reached")
    if bound is not None:
        last = steps[-1]
        raise DistillsrError(
            f"cannot prune down to {target.describe()}: {stopped}, at {last.params:,} params, {last.macs / GIGA:.3f} G MACs"
        )
    return PruneResult(current, steps, len(steps) - 1, stopped)
