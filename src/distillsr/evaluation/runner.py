"""Score a model on benchmark sets under a named protocol."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from distillsr.data.benchmark import BenchmarkSet
from distillsr.errors import DistillsrError
from distillsr.imaging.pixels import from_float
from distillsr.imaging.write import write_image
from distillsr.inference.predict import predict
from distillsr.metrics.protocols import Protocol, Score, mean_score, score
from distillsr.models.sr_model import SRModel
from distillsr.nn.slimmable import width


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
    benchmark: BenchmarkSet,
    protocol: Protocol,
    *,
    self_ensemble: bool = False,
    save_dir: Path | None = None,
    progress: bool = True,
    precision: str = "fp32",
    width_for: Callable[[object], float] | None = None,
) -> SetResult:
    """Upscale every LR image of ``benchmark`` and score it against its HR image, computing in ``precision``.

    ``width_for`` (dynamic inference, :mod:`distillsr.inference.dynamic`): the width a slimmable
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
