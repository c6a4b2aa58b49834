"""``kind: csd`` and ``kind: pro-csd``: a training stage that runs one slimmable network at several widths.

Each step runs the network on the batch's LR at every branch width (the student first, then the
teachers) and hands the loss terms the student's SR as ``sr``, every branch's SR in
``extras["branches"]`` and the positive (the narrowest teacher's SR, detached) in
``extras["positive"]``. The terms are the stage's ``losses`` on the student, the same terms
times ``teacher_weight`` on each teacher branch (named ``<loss>_w<width>`` in the logs), and
:class:`~.loss.ContrastiveLoss` times ``contrastive_weight / 255`` (left out, VGG and all, at 0).

Why ``/ 255``: ``contrastive_weight`` is CSD's lambda (200 in the README command), and in CSD's code
it weighs the contrastive ratio against an L1 computed on 0-255 pixels (the EDSR framework's
``rgb_range 255``). distillsr's pixel losses are on [0, 1], 255 times smaller, while the ratio has
no unit; so the same balance between the terms, which is all Adam sees, is lambda / 255 here.
Taken literally, 200 would make the contrastive term 255 times stronger than in the paper.

All branches run inside *one* forward of the module the loop trains: the stage owns a
parameter-free :class:`Branches` module, so :class:`~distillsr.training.loop.WithOwnedModules`
wraps the network and DistributedDataParallel sees one forward per backward (two forwards of a
DDP module before one backward are an error). Everything else is the ``train`` stage's: optimizer,
schedule, EMA, AMP, resume, states.

Between steps the network rests at the student width, so the loop's validation, ``best.safetensors``
and the EMA copy are the student's, as in CSD's trainer (``self.test(self.stu_width_mult)``); each
validation check then also scores every teacher width (console lines and log columns suffixed
``_w<width>``) without competing for the best model (:meth:`CSDStage.validator`, the train
stage's validation hook). Model files hold the full-width weights and name the widths trained
(``widths`` in their model kwargs, :func:`trained_widths`; :meth:`CSDStage.model_kwargs`, so the
stage's own ``best``/``last`` files and, through its result, every later one say so): a loaded file
runs at those and refuses the others. The options are :mod:`.config`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from distillsr.compression.contrastive.config import SelfDistillStageConfig
from distillsr.compression.contrastive.loss import POSITIVE, ContrastiveLoss
from distillsr.errors import DistillsrError
from distillsr.nn.slimmable import FULL_WIDTH, SlimmableNetwork, width
from distillsr.training.loop import StepRecipe, bare_network
from distillsr.training.losses import PixelLoss, StepOutputs
from distillsr.training.stages.base import StageResult
from distillsr.training.stages.context import StageContext
from distillsr.training.stages.train import TrainStage

BRANCHES = "branches"
CSD_PIXEL_RANGE = 255.0
"""The pixel scale of the L1 that CSD's lambda is relative to (see the module doc)."""


def width_tag(value: float) -> str:
    """How logs name a width: ``w1``, ``w0.75``, ``w0.25``."""
    return f"w{value:g}"


def trained_widths(earlier: Sequence[float] | None, branches: Sequence[float]) -> list[float]:
    """The widths a model file offers after this stage: its branches and those of earlier csd stages, widest first.

    A slimmable architecture can run at more widths than a recipe trained (``csd`` trains 1.0 and the
    student only); the files describe the network with ``widths`` set to the trained ones, so loading
    one builds a network that refuses an untrained width (``--width``, calibration, ``--dynamic``)
    instead of running a branch no step ever shaped. The network in memory keeps every width, for
    later stages.
    """
    return sorted({float(w) for w in (*(earlier or ()), *branches)}, reverse=True)


class Branches(nn.Module):
    """The widths a step runs, as a (parameter-free) module the stage owns; see the module doc for why."""

    def __init__(self, widths: Sequence[float]) -> None:
        super().__init__()
        self.widths = tuple(float(w) for w in widths)

    def extra_repr(self) -> str:
        return f"widths={self.widths}"


@dataclasses.dataclass
class BranchLoss:
    """A pixel loss on one teacher branch's SR (``extras["branches"][width]``) against HR."""

    pixel: PixelLoss
    width: float
    weight: float

    @property
    def name(self) -> str:
        return f"{self.pixel.name}_{width_tag(self.width)}"

    def __call__(self, outputs: StepOutputs) -> torch.Tensor:
        branch = outputs.extras[BRANCHES][self.width]
        return self.pixel(dataclasses.replace(outputs, sr=branch))


def slimmable_network(network: nn.Module, widths: Sequence[float], model: str) -> SlimmableNetwork:
    """The bare slimmable network, checked to run at every width (the recipe checked it too; a
    network changed by an earlier stage might not)."""
    bare, _ = bare_network(network)
    if not isinstance(bare, SlimmableNetwork):
        raise DistillsrError(f"a csd stage trains a slimmable network, and {model} ({type(bare).__name__}) is not one")
    for value in widths:
        if value not in bare.widths:
            valid = ", ".join(f"{w:g}" for w in bare.widths)
            raise DistillsrError(f"{model} runs at widths {valid}, not {value:g}")
    return bare


def run_branches(network: nn.Module, owned: nn.ModuleDict, lr: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The SR of ``lr`` at every width of ``owned["branches"]``, in its order (``WithOwnedModules``' forward).

    ``network`` may be wrapped (ScaledInput); widths are set on the bare network and restored after.
    """
    bare, _ = bare_network(network)
    outputs = []
    for value in owned[BRANCHES].widths:
        with width(bare, value):
            outputs.append(network(lr))
    return tuple(outputs)


class SelfDistillStep:
    """``forward(model, batch) -> StepOutputs`` for the loop: all branches in one call of ``model``."""

    def __init__(self, widths: Sequence[float], positive: float) -> None:
        self.widths = tuple(widths)
        self.positive = positive

    def __call__(self, model: nn.Module, batch: dict) -> StepOutputs:
        outputs = model(batch["lr"])
        if not isinstance(outputs, tuple) or len(outputs) != len(self.widths):
            raise DistillsrError("the csd stage's model must return one SR per branch width (run_branches)")
        branches = dict(zip(self.widths, outputs))
        extras = {BRANCHES: branches, POSITIVE: branches[self.positive].detach()}
        return StepOutputs(lr=batch["lr"], hr=batch["hr"], sr=outputs[0], extras=extras)


class CSDStage(TrainStage):
    """CSD: teacher and student widths of one network trained jointly, with the contrastive term."""

    def __init__(self) -> None:
        self.contrastive: ContrastiveLoss | None = None

    def owned_modules(self, context: StageContext, config: SelfDistillStageConfig, network: nn.Module) -> dict[str, nn.Module]:
        model = context.recipe.model
        bare = slimmable_network(network, config.branch_widths, f"model {model.name}")
        bare.set_width(config.student_width)  # the resting width: validation, EMA copy, best model
        if config.contrastive_weight > 0:
            self.contrastive = self._contrastive_term(context, config)
        return {BRANCHES: Branches(config.branch_widths)}

    @staticmethod
    def _contrastive_term(context: StageContext, config: SelfDistillStageConfig) -> ContrastiveLoss:
        from distillsr.compression.contrastive.vgg_weights import vgg19_features

        index = next((i for i, stage in enumerate(context.recipe.stages) if stage is config), 0)
        vgg = vgg19_features(config.vgg_weights, config.vgg_sha256, key=f"stages.{index}.vgg_weights")
        return ContrastiveLoss(
            vgg.to(context.device), weight=config.contrastive_weight / CSD_PIXEL_RANGE, num_negatives=config.num_negatives,
            negatives=config.negatives, imagenet_norm=config.imagenet_norm, layer_weights=config.layer_weights,
        )

    def begin(self, context: StageContext, config: SelfDistillStageConfig, network: nn.Module, resume: dict | None) -> None:
        """Sort every channel group by importance (fresh start only), so the narrow widths start from the best channels."""
        if resume is not None or config.reorder == "none":
            return
        from distillsr.compression.pruning.calibration import CalibrationSet, make_criterion
        from distillsr.compression.pruning.reorder import reorder_channels

        bare, _ = bare_network(network)
        calibration = CalibrationSet.from_dataset(context.training_set(lr_patch_size=config.lr_patch_size, in_memory=False),
                                                  source="the recipe's training patches")
        model = context.sr_model(bare)
        with width(bare, FULL_WIDTH):
            criterion = make_criterion(config.reorder, calibration, context.input_range)
            importance = criterion(bare) if criterion is not None else None
            with width(bare, config.student_width):
                before = calibration.model_psnr(model)
            moved = reorder_channels(bare, importance, in_channels=context.entry.in_channels or 3)
            with width(bare, config.student_width):
                after = calibration.model_psnr(model)
        context.logger.info(
            f"reordered {len(moved)} channel groups by {config.reorder}: {width_tag(config.student_width)} on the "
            f"calibration patches {before:.2f} -> {after:.2f} dB (bicubic {calibration.bicubic_psnr:.2f}); full width unchanged"
        )

    def forward(self, network: nn.Module, owned: nn.ModuleDict, lr: torch.Tensor) -> Any:
        return run_branches(network, owned, lr)

    def step_recipe(
        self, context: StageContext, config: SelfDistillStageConfig, network: nn.Module, owned: dict[str, nn.Module]
    ) -> StepRecipe:
        pixels = [PixelLoss(term.type, term.weight, term.eps) for term in config.losses]
        terms: list = list(pixels)
        if config.teacher_weight > 0:
            terms += [BranchLoss(pixel, w, pixel.weight * config.teacher_weight) for w in config.teachers for pixel in pixels]
        if self.contrastive is not None:
            terms.append(self.contrastive)
        return StepRecipe(terms, forward=SelfDistillStep(config.branch_widths, config.positive_width))

    def model_kwargs(self, context: StageContext, config: SelfDistillStageConfig) -> dict[str, Any]:
        """The widths a model file offers from this stage on: these branches and those of earlier csd stages."""
        return {"widths": trained_widths(context.model_kwargs.get("widths"), config.branch_widths)}

    def validator(
        self, context: StageContext, config: SelfDistillStageConfig, label: str, total: int,
        model_kwargs: Mapping[str, Any] | None,
    ) -> Callable[[nn.Module, int], dict] | None:
        """Score the student width (it alone keeps ``best.safetensors``), then every teacher width (``_w<width>``)."""
        student = context.validator(f"{label} {width_tag(config.student_width)}", total, model_kwargs=model_kwargs)
        if student is None:
            return None
        others = {value: context.validator(f"{label} {width_tag(value)}", total, keep_best=False, model_kwargs=model_kwargs)
                  for value in config.teachers}

        def validate(network: nn.Module, iteration: int) -> dict:
            scores = dict(student(network, iteration))  # the resting (student) width
            for value, check in others.items():
                with width(network, value):
                    extra = check(network, iteration)
                scores.update({f"{key}_{width_tag(value)}": score for key, score in extra.items()})
            return scores

        return validate

    def run(
        self, context: StageContext, index: int, config: SelfDistillStageConfig, network: nn.Module, resume: dict | None
    ) -> StageResult:
        widths = ", ".join(width_tag(w) for w in config.branch_widths)
        context.logger.info(f"{config.kind}: branches {widths} (student {width_tag(config.student_width)}, "
                            f"positive {width_tag(config.positive_width)}); validation at every width")
        result = super().run(context, index, config, network, resume)
        bare, _ = bare_network(result.network)
        if isinstance(bare, SlimmableNetwork):
            bare.set_width(FULL_WIDTH)  # later stages and every model file start from the full network
        return result


class ProCSDStage(CSDStage):
    """Pro-CSD: several teacher widths, reconstruction on each, the narrowest teacher as the positive."""
