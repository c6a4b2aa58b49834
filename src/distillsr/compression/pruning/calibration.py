"""What pruning measures channels on, and the floor no pruned model may fall through.

A pruned model is judged by what it does to images, so pruning always has images at hand: the
user's training folders (``--data``, the recipe's data), else the six crops of real photos shipped
in :mod:`distillsr.data.samples`. Why shipped photos rather than synthetic patterns: the criteria
must see the statistics a trunk channel exists for (smooth shading that carries the image through
a long skip, edges, texture), and noise or gradients would rank channels by what no user feeds
the model. They are public domain / CC0, so they can ship.

:class:`CalibrationSet` holds LR/HR patch pairs made exactly as training makes them (the recipe's
degradation, seeded crops, no flips). It serves the data-aware criteria (:func:`make_criterion`)
and :class:`QualityFloor`, the check after every pruning step: the model's PSNR on those patches
(classic protocol: Y, border = scale, 8-bit output) against MATLAB bicubic's on the same patches.
A model below that floor, or with a non-finite output, is never written.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import torch

from distillsr.compression.pruning.criteria import CRITERIA
from distillsr.compression.pruning.ranking import (
    Criterion,
    activation_importance,
    sensitivity_importance,
    taylor_importance,
)
from distillsr.errors import DistillsrError
from distillsr.models.sr_model import SRModel

CALIBRATION_PATCHES = 16
FORWARD_CHUNK = 8  # patches per forward pass while scoring


class PruneRefused(DistillsrError):
    """A pruning step produced a model that must not be written (below bicubic, or non-finite)."""


@dataclass(frozen=True)
class CalibrationSet:
    """LR/HR patch pairs in [0, 1], ``(N, 3, h, w)`` and ``(N, 3, s*h, s*w)``, and where they came from."""

    lr: torch.Tensor
    hr: torch.Tensor
    scale: int
    source: str

    @classmethod
    def from_dataset(cls, dataset, count: int = CALIBRATION_PATCHES, source: str = "the training images") -> CalibrationSet:
        """``count`` items spread evenly over a :class:`~distillsr.data.training.PairedTrainingSet`
        (a recipe's own, so the patches carry its degradation)."""
        if len(dataset) == 0:
            raise DistillsrError(f"no calibration patches in {source}")
        picks = np.linspace(0, len(dataset) - 1, count).round().astype(int)
        items = [dataset[int(index)] for index in picks]
        return cls(torch.stack([item["lr"] for item in items]), torch.stack([item["hr"] for item in items]),
                   int(dataset.scale), source)

    @classmethod
    def from_folders(
        cls,
        folders: Sequence[str],
        scale: int,
        *,
        degradation: str = "BI",
        count: int = CALIBRATION_PATCHES,
        lr_patch_size: int = 48,
        seed: int = 0,
        source: str | None = None,
    ) -> CalibrationSet:
        """``count`` patches spread evenly over the images of ``folders`` (seeded crops, no flips)."""
        from distillsr.data.training import PairedTrainingSet

        def patches(repeat: int) -> PairedTrainingSet:
            return PairedTrainingSet(list(folders), scale, degradation=degradation, lr_patch_size=lr_patch_size,
                                     augment=False, seed=seed, repeat=repeat)

        images = patches(1)
        if len(images) < count:  # a small folder: every repeat of an image is another crop of it
            images = patches(math.ceil(count / len(images)))
        return cls.from_dataset(images, count, source or ", ".join(str(folder) for folder in folders))

    @classmethod
    def shipped(cls, scale: int, *, degradation: str = "BI") -> CalibrationSet:
        """The six 192x192 photo crops shipped with the package, each one whole patch."""
        from distillsr.data.samples import CALIBRATION_SIDE, calibration_folder

        if CALIBRATION_SIDE % scale:
            raise DistillsrError(f"the shipped calibration images do not divide by x{scale}: give --data DIR")
        folder = calibration_folder()
        count = len(list(folder.glob("*.png")))
        return cls.from_folders([str(folder)], scale, degradation=degradation, count=count,
                                lr_patch_size=CALIBRATION_SIDE // scale, source="the shipped calibration photos")

    def __len__(self) -> int:
        return int(self.lr.shape[0])

    def psnr(self, sr: torch.Tensor) -> float:
        """Mean PSNR of ``sr`` (same shape as ``hr``, in [0, 1]) under the classic protocol; NaN if not finite."""
        from distillsr.metrics.protocols import get_protocol, prepare_for_scoring
        from distillsr.metrics.psnr import psnr

        if not bool(torch.isfinite(sr).all()):
            return math.nan
        protocol = get_protocol("classic")
        values = []
        for made, truth in zip(sr.detach().double().cpu(), self.hr.double()):
            ground = np.round(truth.permute(1, 2, 0).numpy() * 255).astype(np.uint8)
            a, b = prepare_for_scoring(made.permute(1, 2, 0).numpy(), ground, protocol, self.scale)
            values.append(psnr(a, b, 255.0))
        return float(np.mean(values))

    @cached_property
    def bicubic_psnr(self) -> float:
        """MATLAB bicubic's PSNR on these patches: the floor."""
        from distillsr.models.bicubic import BicubicUpsampler

        return self.psnr(BicubicUpsampler(self.scale)(self.lr.double()))

    def model_psnr(self, model: SRModel) -> float:
        """``model``'s PSNR on these patches (eval mode, no gradients; the mode is restored)."""
        network = model.network
        was_training = network.training
        network.eval()
        try:
            with torch.no_grad():
                device = next(iter(network.parameters())).device
                sr = torch.cat([model(chunk.to(device)).float().cpu() for chunk in self.lr.split(FORWARD_CHUNK)])
        finally:
            network.train(was_training)
        return self.psnr(sr)


def make_criterion(name: str, calibration: CalibrationSet | None, input_range: float) -> Criterion | None:
    """The ranking ``criterion(network)`` of :func:`~.iterative.prune_iteratively`; None for L2 norms."""
    if name == "l2":
        return None
    if calibration is None:
        raise DistillsrError(f"the {name} criterion measures channels on images; none were given")
    if name == "activation":
        return functools.partial(activation_importance, batch=calibration.lr * input_range)
    if name == "taylor":
        return functools.partial(taylor_importance, lr=calibration.lr, hr=calibration.hr, input_range=input_range)
    if name == "sensitivity":
        return functools.partial(sensitivity_importance, lr=calibration.lr, input_range=input_range)

    raise DistillsrError(f"unknown pruning criterion {name!r}; choose {', '.join(CRITERIA)}")


class QualityFloor:
    """Refuses a model that is non-finite or below bicubic on the calibration patches.

    ``check(model, what, advice)`` returns the model's PSNR, or raises :class:`PruneRefused` with
    one line that says what happened and (``advice``) what to do.
    """

    def __init__(self, calibration: CalibrationSet) -> None:
        self.calibration = calibration

    @property
    def bicubic(self) -> float:
        return self.calibration.bicubic_psnr

    def check(self, model: SRModel, what: str, advice: str = "prune less, or fine-tune between steps") -> float:
        value = self.calibration.model_psnr(model)
        where = f"on {len(self.calibration)} patches of {self.calibration.source}"
        if math.isnan(value):
            raise PruneRefused(f"{what} produces non-finite values {where}; nothing was written")
        if value < self.bicubic:
            raise PruneRefused(
                f"{what} scores {value:.2f} dB {where}, below bicubic's {self.bicubic:.2f} dB; nothing was written "
                f"({advice})"
            )
        return value
