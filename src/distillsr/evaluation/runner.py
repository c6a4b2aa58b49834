"""Score a model on benchmark sets under a named protocol: the one loop ``eval`` (fixed or dynamic
width), :func:`distillsr.evaluate`, ``bench`` and the pruning validators run.

:func:`evaluate_folders` is the loop over folders; :func:`evaluate_set` the loop over one set's
images. A width policy (dynamic inference, :class:`~distillsr.inference.width_policy.costs.DynamicWidths`)
is an optional argument of both, not a second loop: it picks each image's width and counts the
MACs, and each set's result carries what it spent.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from distillsr.console import get_logger
from distillsr.data.eval_sets import EvalSet, eval_sets
from distillsr.errors import DistillsrError
from distillsr.imaging.pixels import from_float
from distillsr.imaging.write import write_image
from distillsr.inference.predict import predict
from distillsr.metrics.protocols import Protocol, Score, mean_score, score
from distillsr.models.sr_model import SRModel
from distillsr.nn.slimmable import width

if TYPE_CHECKING:
    from distillsr.inference.width_policy.costs import DynamicSummary, DynamicWidths

log = get_logger(__name__)


@dataclass
class ImageResult:
    name: str
    score: Score
    width: float | None = None  # the width a slimmable model ran at (dynamic inference)


@dataclass
class SetResult:
    """One benchmark set's scores: per image and the mean papers print."""

    dataset: str
    images: list[ImageResult] = field(default_factory=list)
    precision: str = "fp32"  # what the model computed in: every score says so
    spent: DynamicSummary | None = None  # the widths a width policy chose here and their MACs (dynamic runs)

    @property
    def mean(self) -> Score:
        return mean_score([r.score for r in self.images])

    def to_dict(self) -> dict:
        mean = self.mean
        return {
            "dataset": self.dataset,
            "images": len(self.images),
            "protocol": mean.protocol,
            "precision": self.precision,
            "psnr": mean.psnr,
            "ssim": mean.ssim,
            "per_image": [
                {"name": r.name, "psnr": r.score.psnr, "ssim": r.score.ssim}
                | ({} if r.width is None else {"width": r.width})
                for r in self.images
            ],
        }


def evaluate_set(
    model: SRModel,
    benchmark: EvalSet,
    protocol: Protocol,
    *,
    self_ensemble: bool = False,
    save_dir: Path | None = None,
    progress: bool = True,
    precision: str = "fp32",
    width_for: Callable[[object], float] | None = None,
) -> SetResult:
    """Upscale every LR image of ``benchmark`` and score it against its HR image, computing in ``precision``.

    ``width_for`` (dynamic inference, :mod:`distillsr.inference.width_policy`): the width a slimmable
    model runs each image at, chosen from its LR image; each result records it.
    """
    from distillsr.console import progress_bar
    from distillsr.inference.fast_path import precision_for

    precision = precision_for(model, precision, model.device) if precision != "fp32" else "fp32"
    result = SetResult(benchmark.name, precision=precision)
    samples: Iterable = progress_bar(
        benchmark, enabled=progress, total=len(benchmark), desc=benchmark.name, unit="img", leave=False
    )
    inputs = {path.resolve() for pair in benchmark.pairs for path in (pair.hr_path, pair.lr_path) if path}
    for pair, sample in zip(benchmark.pairs, samples):
        chosen = None if width_for is None else width_for(sample.lr)
        with contextlib.nullcontext() if chosen is None else width(model.network, chosen):
            sr = predict(model, sample.lr, self_ensemble=self_ensemble, precision=precision)
        try:
            scored = score(sr, sample.hr, protocol, benchmark.scale)
        except DistillsrError as error:  # e.g. too small for SSIM's window: say which image
            raise DistillsrError(f"{pair.hr_path}: {error}") from None
        result.images.append(ImageResult(sample.name, scored, chosen))
        if save_dir is not None:
            target = save_dir / benchmark.name / f"{sample.name}.png"
            if target.resolve() in inputs:
                raise DistillsrError(f"refusing to overwrite input image {target} with an SR image; choose another --save-images folder")
            write_image(target, from_float(sr, sample.hr.dtype))
    return result


def evaluate_folders(
    model: SRModel,
    folders: Sequence[str | Path],
    protocol: Protocol,
    *,
    degradation: str = "BI",
    seed: int = 0,
    self_ensemble: bool = False,
    save_dir: Path | None = None,
    cache_dir: str | Path | None = None,
    cache: bool = True,
    progress: bool = False,
    precision: str = "fp32",
    policy: DynamicWidths | None = None,
) -> list[SetResult]:
    """One :class:`SetResult` per benchmark folder, LR made by ``degradation`` (or read where stored).

    ``policy``: choose each image's width (a slimmable model's calibrated thresholds); its count
    starts afresh for each folder, and the folder's result holds what it spent (``.spent``).
    """
    results = []
    for benchmark in eval_sets(folders, model.scale, degradation=degradation, seed=seed,
                                    cache_dir=cache_dir, cache=cache):
        source = "stored LR" if benchmark.uses_stored_lr else f"LR made by {benchmark.degradation.name}"
        log.info(f"{benchmark.name}: {len(benchmark)} images from {benchmark.hr_dir} ({source})")
        if policy is not None:
            policy.reset()
        result = evaluate_set(model, benchmark, protocol, self_ensemble=self_ensemble, save_dir=save_dir,
                              progress=progress, precision=precision, width_for=policy)
        if policy is not None:
            result.spent = policy.summary()
        results.append(result)
    return results
