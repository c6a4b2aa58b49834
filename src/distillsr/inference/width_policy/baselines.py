"""What dynamic inference is measured against: fixed widths at the same MACs, and the best possible assignment.

A dynamic run spends some fraction ``f`` of full width's MACs. Two references put its PSNR in context,
both read off a :class:`~.calibration.CalibrationTable` (every image at every width), so no image runs
twice:

* **Fixed widths at the same MACs** (:func:`fixed_width_mix`): the best a *difficulty-blind* schedule
  can do. Running every image at one width k spends ``f_k`` (its MACs per pixel over full width's) and
  gives mean PSNR ``P_k``. Sending each image to width k with probability ``p_k``, whatever the image,
  spends ``sum p_k f_k`` in expectation and scores ``sum p_k P_k``; the best such mixture at a given
  spend lies on the upper concave envelope of the points ``(f_k, P_k)``. A dynamic policy is worth
  having when it beats this line, i.e. when the difficulty score tells widths apart better than a coin.
  At a spend equal to one width's ``f_k`` on the envelope, the line is exactly that fixed width.
* **The oracle** (:func:`oracle_mix`): each image at the width that is best for it under the same total
  MACs, knowing its true PSNR at every width (which no score does): a knapsack over the images, solved
  exactly up to a spend grid. It bounds what any per-image policy could reach.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from distillsr.errors import DistillsrError
from distillsr.inference.width_policy.calibration import CalibrationTable

ORACLE_UNITS = 20_000
"""Spend steps of the oracle's knapsack: costs are rounded down to 1/20000 of the folder's full-width MACs."""


@dataclass(frozen=True)
class Reference:
    """A reference schedule's spend (fraction of full width's MACs) and mean PSNR."""

    macs_fraction: float
    psnr: float


def fixed_width_points(table: CalibrationTable) -> list[Reference]:
    """``(f_k, P_k)`` for every width, narrowest first: each width run on every image of the table."""
    return [
        Reference(float(table.rates[k] / table.rates[-1]), float(table.psnr[:, k].mean()))
        for k in range(len(table.widths))
    ]


def _upper_envelope(points: list[Reference]) -> list[Reference]:
    """The vertices of the upper concave hull of ``points`` (sorted by spend), left to right."""
    hull: list[Reference] = []
    for point in sorted(points, key=lambda p: (p.macs_fraction, p.psnr)):
        while hull and hull[-1].macs_fraction == point.macs_fraction:
            hull.pop()  # same spend: keep the better (later in the sort)
        while len(hull) >= 2:
            a, b = hull[-2], hull[-1]
            cross = (b.macs_fraction - a.macs_fraction) * (point.psnr - a.psnr) - (b.psnr - a.psnr) * (
                point.macs_fraction - a.macs_fraction
            )
            if cross < 0:
                break  # b lies above the chord a-point: keep it
            hull.pop()
        hull.append(point)
    return hull


def fixed_width_mix(table: CalibrationTable, macs_fraction: float) -> Reference:
    """The best difficulty-blind mixture of fixed widths that spends ``macs_fraction`` (see the module doc)."""
    hull = _upper_envelope(fixed_width_points(table))
    low, high = hull[0].macs_fraction, hull[-1].macs_fraction
    if not low - 1e-12 <= macs_fraction <= high + 1e-12:
        raise DistillsrError(
            f"a spend of {macs_fraction:.4f} of full width lies outside what fixed widths span ({low:.4f} to {high:.4f})"
        )
    spends = np.array([p.macs_fraction for p in hull])
    psnrs = np.array([p.psnr for p in hull])
    return Reference(float(macs_fraction), float(np.interp(macs_fraction, spends, psnrs)))


def oracle_mix(table: CalibrationTable, macs_fraction: float, units: int = ORACLE_UNITS) -> Reference:
    """The per-image assignment with the highest mean PSNR that spends ``macs_fraction`` (see the module doc).

    A multiple-choice knapsack solved by dynamic programming over the spend in ``units`` steps of the
    folder's full-width MACs. Each image's cost is rounded *down* to whole steps, so no assignment
    within the target is ever excluded: the result is an upper bound on every policy that spends at
    most the target, and its own spend (reported) exceeds the target by at most ``N / units``.
    """
    narrowest = table.achieved(np.zeros(len(table.names), dtype=int))[0]
    if macs_fraction < narrowest - 1e-12:
        raise DistillsrError(f"a spend of {macs_fraction:.4f} is below the narrowest width's {narrowest:.4f}")
    share = table.pixels / table.pixels.sum()
    cost = np.floor(share[:, None] * (table.rates[None, :] / table.rates[-1]) * units + 1e-9).astype(int)  # (N, K)
    capacity = int(np.floor(macs_fraction * units + 1e-9))
    best = np.zeros(capacity + 1)  # best total PSNR of the images so far within each spend
    picks = np.zeros((len(table.names), capacity + 1), dtype=np.int16)
    for i in range(len(table.names)):
        options = np.full((len(table.widths), capacity + 1), -np.inf)
        for k in range(len(table.widths)):
            c = cost[i, k]
            if c <= capacity:
                options[k, c:] = best[: capacity + 1 - c] + table.psnr[i, k]
        picks[i] = np.argmax(options, axis=0)
        best = options.max(axis=0)
    chosen = np.zeros(len(table.names), dtype=int)
    left = capacity
    for i in reversed(range(len(table.names))):
        chosen[i] = picks[i, left]
        left -= cost[i, chosen[i]]
    spend, drop, _ = table.achieved(chosen)
    return Reference(spend, float(table.psnr[:, -1].mean() - drop))
