"""A stage's ``init:`` weights: fine-tune from a distillsr checkpoint or an official ``.pth``.

Files are read by :func:`distillsr.checkpoints.weights_file.read_weights`, the same reader ``eval`` and
``upscale`` use, so an official file is recognised by its key layout and converted to distillsr's.
``strict: true`` (the default) needs every tensor to fit, as everywhere in distillsr; ``strict:
false`` is for the deliberate cases (a x2 body under a x4 tail, a wider or narrower variant): it
loads the tensors whose name and shape fit and says in one line which were skipped, so nothing is
dropped silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import torch
from torch import nn

from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from distillsr.training.stages.context import StageContext


@dataclass
class InitReport:
    """What a non-strict load took and left."""

    loaded: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # the model's tensors the file lacks (kept as they were)
    unexpected: list[str] = field(default_factory=list)  # the file's tensors the model lacks
    mismatched: list[str] = field(default_factory=list)  # in both, shapes differ ("name [file] vs [model]")

    @property
    def skipped(self) -> bool:
        return bool(self.missing or self.unexpected or self.mismatched)


def _shape(tensor: torch.Tensor) -> str:
    return "[" + ",".join(str(d) for d in tensor.shape) + "]"


def _listed(names: list[str], limit: int = 4) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def load_fitting(network: nn.Module, state_dict: dict[str, torch.Tensor]) -> InitReport:
    """Copy into ``network`` every tensor of ``state_dict`` whose name and shape fit; report the rest."""
    expected = network.state_dict()
    report = InitReport()
    fitting = {}
    for name, tensor in state_dict.items():
        if name not in expected:
            report.unexpected.append(name)
        elif tensor.shape != expected[name].shape:
            report.mismatched.append(f"{name} {_shape(tensor)} vs {_shape(expected[name])}")
        else:
            fitting[name] = tensor
    report.missing = [name for name in expected if name not in state_dict]
    report.loaded = list(fitting)
    network.load_state_dict(fitting, strict=False)
    return report


def describe_skipped(report: InitReport) -> str:
    parts = []
    if report.missing:
        parts.append(f"{len(report.missing)} missing ({_listed(report.missing)})")
    if report.unexpected:
        parts.append(f"{len(report.unexpected)} unexpected ({_listed(report.unexpected)})")
    if report.mismatched:
        parts.append(f"{len(report.mismatched)} mis-shaped, file vs model ({_listed(report.mismatched)})")
    return "; ".join(parts)


def load_initial_weights(
    context: StageContext, network: nn.Module, path: str, *, strict: bool, where: str, scale: int | None = None
) -> InitReport | None:
    """Load ``path`` into ``network`` (the stage's starting weights); ``where`` names the recipe key in errors.

    Returns the report of a non-strict load (None for a strict one). The file's input range must
    be the model's: weights trained on 0-255 inputs are wrong on 0-1 ones however well they fit.
    ``scale`` (the stage's ``init_scale``) says the file is a model of another scale whose
    pixel-shuffle upsampler is resampled to the recipe's (:mod:`distillsr.nn.rescale_upsampler`).
    """
    from distillsr.checkpoints.weights_file import load_state_dict_strictly, read_weights
    from distillsr.nn.rescale_upsampler import rescale_state_for_scale

    recipe = context.recipe
    entry = context.entry
    file_scale = scale or recipe.model.scale
    try:
        loaded = read_weights(path, model=entry.name, scale=file_scale)
        if scale is not None and loaded.info.scale != scale:
            raise DistillsrError(f"{path} is a x{loaded.info.scale} model, not x{scale} as init_scale says")
        if file_scale != recipe.model.scale:
            state, resampled = rescale_state_for_scale(
                loaded.state_dict, network.state_dict(), file_scale, recipe.model.scale
            )
            loaded = replace(loaded, state_dict=state)
            if context.process.is_main:
                context.logger.info(
                    f"{where}: resampled {', '.join(resampled)} from x{file_scale} to x{recipe.model.scale}"
                )
    except DistillsrError as error:
        raise DistillsrError(f"{where}: {error}") from None
    if loaded.info.input_range != entry.input_range:
        raise DistillsrError(
            f"{where}: {path} was trained on inputs in 0-{loaded.info.input_range:g}, but {entry.name} takes "
            f"0-{entry.input_range:g}"
        )
    tensors = {name: tensor.to(context.device) for name, tensor in loaded.state_dict.items()}
    if strict:
        try:
            load_state_dict_strictly(network, tensors, f"{entry.name} x{recipe.model.scale} as this stage builds it")
        except DistillsrError as error:
            raise DistillsrError(f"{where}: {error} (strict: false loads what fits)") from None
        if context.process.is_main:
            context.logger.info(f"{where}: started from {path} ({len(tensors)} tensors)")
        return None
    report = load_fitting(network, tensors)
    if not report.loaded:
        raise DistillsrError(f"{where}: no tensor of {path} fits {entry.name} x{recipe.model.scale} ({describe_skipped(report)})")
    if context.process.is_main:
        skipped = f"; skipped {describe_skipped(report)}" if report.skipped else ""
        context.logger.info(f"{where}: started from {path}, {len(report.loaded)} of {len(tensors)} tensors loaded{skipped}")
    return report
