"""Side-by-side crops: HR, bicubic and each model on the same region of one benchmark image.

The region is chosen automatically, where the models' outputs differ most: the square window
(side :func:`crop_side`) with the largest sum of the per-pixel variance across the models'
outputs (bicubic excluded: it differs from every model everywhere there is texture). With only
one model there is nothing to compare it with, so its window of largest error against HR is shown.
Each panel is labelled with the model's name and its PSNR on the whole image (the table's protocol).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from distillsr.comparison.runner import BenchResult, CropSet

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PANEL_INCHES = 2.3
COLUMNS = 4
CROP_DPI = 85  # eight photographic panels stay under 300 KB


def crop_side(height: int, width: int, scale: int) -> int:
    """24 LR pixels (96 HR pixels at x4): large enough to see structure, small enough to see pixels."""
    return max(1, min(height, width, 24 * scale))


def _window_sums(score: np.ndarray, side: int) -> np.ndarray:
    """Sum of ``score`` over every ``side`` x ``side`` window (integral image), indexed by top-left corner."""
    integral = np.pad(score.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    return integral[side:, side:] - integral[:-side, side:] - integral[side:, :-side] + integral[:-side, :-side]


def choose_region(crop: CropSet, scale: int, border: int = 0) -> tuple[int, int, int]:
    """(top, left, side) of the window where the models differ most (see the module docstring).

    Windows reaching into the ``border`` (the pixels the protocol does not score, where the
    models' zero padding dominates their differences) are not considered, where the image allows.
    """
    height, width = crop.hr.shape[:2]
    side = crop_side(height, width, scale)
    if min(height, width) < side + 2 * border:
        border = 0
    outputs = [panel.image.astype(np.float64).mean(axis=2) for panel in crop.panels if panel.label != "bicubic"]
    if len(outputs) >= 2:
        score = np.stack(outputs).var(axis=0)
    elif outputs:
        score = np.abs(outputs[0] - crop.hr.astype(np.float64).mean(axis=2))
    else:
        score = np.zeros((height, width))
    inner = score[border : height - border, border : width - border]
    sums = _window_sums(inner, side)
    top, left = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(top) + border, int(left) + border, side


def crop_figure(crop: CropSet, result: BenchResult) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from distillsr.comparison.plots import settings_text
    from distillsr.metrics.protocols import get_protocol

    scale = result.settings.scale
    top, left, side = choose_region(crop, scale, get_protocol(result.protocol).border_for(scale))
    window = (slice(top, top + side), slice(left, left + side))
    panels = [("HR (ground truth)", crop.hr, None), *((p.label, p.image, p.psnr) for p in crop.panels)]
    count = len(panels) + 1
    columns = min(COLUMNS, count)
    rows = -(-count // columns)
    figure = Figure(figsize=(PANEL_INCHES * columns, PANEL_INCHES * rows + 0.7), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False).ravel()
    for axis in axes:
        axis.set_axis_off()
    axes[0].imshow(crop.hr, interpolation="lanczos")
    axes[0].add_patch(Rectangle((left - 0.5, top - 0.5), side, side, fill=False, edgecolor="red", linewidth=1.5))
    axes[0].set_title(f"{crop.name}: x {left}–{left + side - 1}, y {top}–{top + side - 1}", fontsize=9)
    for axis, (label, image, psnr) in zip(axes[1:], panels):
        axis.imshow(image[window], interpolation="nearest")
        axis.set_title(label if psnr is None else f"{label}\n{psnr:.2f} dB", fontsize=9)
    figure.suptitle(
        f"{crop.dataset}/{crop.name}, {settings_text(result)}\n"
        f"crop where the models' outputs differ most; PSNR of the whole image",
        fontsize=10,
    )
    return figure


def write_crops(result: BenchResult, out: Path) -> list[Path]:
    """``crops_<image>.png`` per image named by ``--crops`` (the caller checks matplotlib first)."""
    from distillsr.comparison.plots import save_figure

    written = []
    for crop in result.crops:
        path = out / f"crops_{crop.name}.png"
        save_figure(crop_figure(crop, result), path, dpi=CROP_DPI)
        written.append(path)
    return written
