"""Scoring a calibrated model with its per-image widths: what ``distillsr eval --dynamic`` runs.

The same benchmark folders, LR making and protocols as :func:`distillsr.api.evaluate`; the only
difference is the runner's ``width_for`` hook (:class:`~distillsr.inference.dynamic.costs.DynamicWidths`),
which picks each image's width from its LR image and counts the MACs. Calibration reads its
folder through :func:`distillsr.data.benchmark.benchmark_sets` too, so its LR images are made exactly as ``eval`` makes them
(stored ``LR_bicubic/X<s>`` images where a set folder has them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distillsr.evaluation.runner import SetResult
    from distillsr.inference.dynamic.costs import DynamicSummary
    from distillsr.models.sr_model import SRModel


def evaluate_dynamic(
    model: SRModel,
    folders: Sequence[str | Path],
    *,
    protocol: str = "classic",
    degradation: str = "BI",
    seed: int = 0,
    self_ensemble: bool = False,
    save_images: str | Path | None = None,
    cache_dir: str | Path | None = None,
    cache: bool = True,
    progress: bool = False,
    precision: str = "fp32",
) -> list[tuple[SetResult, DynamicSummary]]:
    """PSNR/SSIM per folder with each image at its policy's width, and what the widths cost.

    A model without calibrated thresholds fails before any image is read.
    """
    from distillsr.data.benchmark import benchmark_sets
    from distillsr.evaluation.runner import evaluate_set
    from distillsr.inference.dynamic.costs import dynamic_widths
    from distillsr.metrics.protocols import get_protocol
    from distillsr.writable import check_output_folder

    chooser = dynamic_widths(model)
    scoring = get_protocol(protocol)
    save_dir = None if save_images is None else check_output_folder(save_images, "SR image folder")
    results = []
    for benchmark in benchmark_sets(folders, model.scale, degradation=degradation, seed=seed,
                                    cache_dir=cache_dir, cache=cache):
        chooser.reset()
        result = evaluate_set(model, benchmark, scoring, self_ensemble=self_ensemble, save_dir=save_dir,
                              progress=progress, precision=precision, width_for=chooser)
        results.append((result, chooser.summary()))
    return results
