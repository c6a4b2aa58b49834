"""PSNR against cost: ``psnr_vs_macs.png`` and ``psnr_vs_latency.png`` (matplotlib, optional).

One panel per dataset; marker area grows with the parameter count; a legend names each model (and
its parameters), since labels beside points collide where models share an architecture. Every
axis says its unit and every title the settings the numbers depend on (scale, protocol,
precision, device, threads, input size). Figures are drawn on matplotlib's object API (no
``pyplot`` state, no GUI backend) and written atomically.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from distillsr.comparison.runner import BenchResult, ModelResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PLOT_HINT = 'plots need matplotlib: pip install "distillsr[plot]"'
MARKERS = "osD^vP*Xhp<>"


def matplotlib_available() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def save_figure(figure: Figure, path: Path, dpi: int = 100) -> None:
    """Render ``figure`` to PNG in memory, then write it atomically."""
    from distillsr.atomic import atomic_write_bytes

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    atomic_write_bytes(path, buffer.getvalue())


def marker_area(params: int) -> float:
    """Marker area in points²: 40 for a parameter-free baseline, +1 per 2,000 parameters."""
    return 40.0 + params / 2000.0


def settings_text(result: BenchResult) -> str:
    env, settings = result.environment, result.settings
    threads = f"{env['threads']} thread{'s' if env['threads'] != 1 else ''}"
    return f"x{settings.scale}, {result.protocol} protocol, {env['precision']}, {env['device']}, {threads}"


def _label_offsets(points: list[tuple[float, float]]) -> list[tuple[int, int]]:
    """Text offsets (points) that keep the labels of nearby markers apart: the higher one above, the lower below.

    Markers closer than 6% of the x range and 15% of the y range are neighbours (DIPNet and a model
    derived from it share their MACs exactly); everything else is labelled to the right.
    """
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    span_x, span_y = (max(xs) - min(xs)) or 1.0, (max(ys) - min(ys)) or 1.0
    offsets = []
    for i, (x, y) in enumerate(points):
        near = [j for j, (u, v) in enumerate(points) if j != i and abs(u - x) < 0.06 * span_x and abs(v - y) < 0.15 * span_y]
        if not near:
            offsets.append((9, -3))
        elif all(y > points[j][1] or (y == points[j][1] and i < j) for j in near):
            offsets.append((9, 6))
        else:
            offsets.append((9, -13))
    return offsets


def _scatter(
    result: BenchResult, x_of: Callable[[ModelResult], float], xlabel: str, what: str,
    errors: Callable[[ModelResult], tuple[float, float]] | None = None,
) -> Figure:
    """One panel per dataset. A parameter-free baseline (bicubic) is named in a corner, not drawn:
    it lies 3-4 dB below every model and would squash the differences between them to nothing."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    datasets = result.datasets
    drawn = [row for row in result.rows if row.model != "bicubic"] or list(result.rows)
    baselines = [row for row in result.rows if row not in drawn]
    figure = Figure(figsize=(5.6 * len(datasets), 4.8), layout="constrained")
    axes = figure.subplots(1, len(datasets), squeeze=False)[0]
    colours = [f"C{i % 10}" for i in range(len(drawn))]
    for axis, dataset in zip(axes, datasets):
        psnrs = [next(s for s in row.scores if s.dataset == dataset).mean.psnr for row in drawn]
        points = [(x_of(row), psnr) for row, psnr in zip(drawn, psnrs)]
        for i, (row, (x, psnr), offset) in enumerate(zip(drawn, points, _label_offsets(points))):
            if errors is not None:
                low, high = errors(row)
                axis.errorbar([x], [psnr], xerr=[[x - low], [high - x]], fmt="none", ecolor=colours[i], alpha=0.6, capsize=3)
            axis.scatter([x], [psnr], s=marker_area(row.costs.params.total), c=colours[i],
                         marker=MARKERS[i % len(MARKERS)], edgecolors="black", linewidths=0.6, alpha=0.8, zorder=3)
            axis.annotate(row.label, (x, psnr), xytext=offset, textcoords="offset points", fontsize=8, zorder=4,
                          bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.75})
        for row in baselines:
            mean = next(s for s in row.scores if s.dataset == dataset).mean
            axis.text(0.98, 0.03, f"{row.label}: {mean.psnr:.2f} dB (below the axis)", transform=axis.transAxes,
                      ha="right", va="bottom", fontsize=8, color="dimgray")
        axis.set_title(dataset)
        axis.set_xlabel(xlabel)
        axis.set_ylabel(f"PSNR [dB] ({result.protocol} protocol)")
        axis.grid(True, alpha=0.3)
        axis.margins(x=0.2, y=0.2)
    handles = [
        Line2D([], [], linestyle="", marker=MARKERS[i % len(MARKERS)], markersize=8, markerfacecolor=colours[i],
               markeredgecolor="black", label=f"{row.label} ({row.costs.params.total / 1e3:.0f} K params)")
        for i, row in enumerate(drawn)
    ]
    figure.legend(handles=handles, loc="outside lower center", ncols=min(3, len(handles)), frameon=False,
                  title="marker area grows with the parameter count")
    figure.suptitle(f"PSNR vs {what} — {', '.join(datasets)}; {settings_text(result)}")
    return figure


def psnr_vs_macs(result: BenchResult) -> Figure:
    size = "x".join(str(s) for s in result.settings.input_shape[1:])
    return _scatter(result, lambda row: row.costs.ops.macs / 1e9, f"MACs [G] per forward at LR {size} (conv, fvcore-style)", "MACs")


def psnr_vs_latency(result: BenchResult) -> Figure:
    size = "x".join(str(s) for s in result.settings.input_shape[1:])

    def spread(row: ModelResult) -> tuple[float, float]:
        runtime = row.costs.runtime
        return (runtime.min_ms, runtime.max_ms) if runtime else (0.0, 0.0)

    return _scatter(
        result, lambda row: row.costs.runtime.median_ms if row.costs.runtime else 0.0,
        f"Runtime [ms] per forward at LR {size} (median; bars: min–max)", "latency", errors=spread,
    )


def write_plots(result: BenchResult, out: Path) -> list[Path]:
    """The two scatter plots in ``out`` (the caller checks :func:`matplotlib_available` first)."""
    written = []
    for name, draw in (("psnr_vs_macs.png", psnr_vs_macs), ("psnr_vs_latency.png", psnr_vs_latency)):
        save_figure(draw(result), out / name)
        written.append(out / name)
    return written

