"""Thresholds for dynamic inference, found on a folder of images for a MACs budget or a PSNR loss.

Two steps, so the expensive one runs once:

1. :func:`measure` runs every image at every width once and keeps, per image, its difficulty
   score, its LR pixels and its PSNR at each width (the ``classic`` protocol: Y, border = scale),
   plus each width's MACs per pixel: a :class:`CalibrationTable`.
2. :func:`search` finds thresholds on the table alone. Under the policy's rule an easier image
   never runs wider than a harder one, so with the images sorted easiest first a policy is a set
   of cut points ``c_1 <= ... <= c_{K-1}`` (the first ``c_1`` images run at the narrowest width, the
   next ``c_2 - c_1`` at the second...). Cuts can only fall between different scores (a threshold
   cannot split a tie). Every monotone combination of candidate cuts is scored with prefix sums;
   when the folder has too many images for that (more than ``MAX_POLICIES`` combinations), the
   candidates are thinned to evenly spaced quantiles of the score order, always keeping "none"
   and "all". Each threshold is then the midpoint between the scores on either side of its cut.

The objectives:

* ``budget=B``: the average MACs (pixel-weighted, i.e. total MACs over the folder) must be at most
  ``B`` of full width's and at least ``(1 - tolerance) B``; among those policies, the highest mean
  PSNR. If no policy lands in that band (a folder of few, equal images), the feasible policy that
  spends most is taken and the result says the band was missed.
* ``max_drop=D``: mean PSNR at most ``D`` dB below full width's; among those, the fewest MACs.

PSNRs are capped at :data:`PSNR_CAP` so an image reproduced exactly (a flat one: infinite PSNR) does
not make every average infinite.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from distillsr.errors import DistillsrError
from distillsr.inference.width_policy.policy import FULL_WIDTH, WidthPolicy
from distillsr.inference.width_policy.scores import DEFAULT_SCORE, DifficultyScore

if TYPE_CHECKING:
    from distillsr.data.eval_sets import EvalSet, Sample
    from distillsr.models.sr_model import SRModel

PSNR_CAP = 100.0
DEFAULT_TOLERANCE = 0.05
MAX_POLICIES = 300_000


@dataclass
class CalibrationTable:
    """Every calibration image at every width: score, pixels, PSNR; and each width's MACs per pixel."""

    names: list[str]
    scores: np.ndarray  # (N,) higher = easier
    pixels: np.ndarray  # (N,) LR pixels
    widths: tuple[float, ...]  # narrowest first, full width last
    psnr: np.ndarray  # (N, K) capped at PSNR_CAP
    rates: np.ndarray  # (K,) MACs per LR pixel

    def __post_init__(self) -> None:
        if not self.names:
            raise DistillsrError("calibration needs at least one image")
        if list(self.widths) != sorted(set(self.widths)) or self.widths[-1] != FULL_WIDTH:
            raise DistillsrError(f"calibration widths must be sorted and end at full width, got {self.widths}")

    def achieved(self, chosen: np.ndarray) -> tuple[float, float, float]:
        """(MACs fraction of full width, mean PSNR drop in dB, mean width) when image i runs at ``widths[chosen[i]]``."""
        chosen = np.asarray(chosen, dtype=int)
        rows = np.arange(len(self.names))
        macs = float((self.pixels * self.rates[chosen]).sum())
        full = float((self.pixels * self.rates[-1]).sum())
        drop = float(self.psnr[:, -1].mean() - self.psnr[rows, chosen].mean())
        return macs / full, drop, float(np.asarray(self.widths)[chosen].mean())

    def chosen_by(self, policy: WidthPolicy) -> np.ndarray:
        """The width index each image gets under ``policy``."""
        index = {w: k for k, w in enumerate(self.widths)}
        return np.array([index[policy.width_for(float(s))] for s in self.scores], dtype=int)


@dataclass(frozen=True)
class Calibration:
    """The policy found, and what it achieves on the calibration images."""

    policy: WidthPolicy
    chosen: np.ndarray  # width index per image
    macs_fraction: float
    psnr_drop: float
    mean_width: float
    met: bool  # whether the requested budget band or maximum drop was met
    note: str = ""


def measure(
    model: SRModel,
    samples: Iterable[Sample],
    widths: Iterable[float],
    score: DifficultyScore,
    *,
    protocol: str = "classic",
    progress: bool = False,
    total: int | None = None,
) -> CalibrationTable:
    """Run every sample at every width once (fp32, as evaluation does) and tabulate the results.

    Samples are read one at a time (``total``: their number, for the progress bar).
    """
    from distillsr.console import progress_bar
    from distillsr.inference.width_policy.costs import macs_per_pixel
    from distillsr.inference.predict import predict
    from distillsr.metrics.protocols import score as score_image
    from distillsr.nn.slimmable import width as at_width

    ordered = tuple(sorted({float(w) for w in widths}))
    names, scores, pixels, rows = [], [], [], []
    for sample in progress_bar(samples, enabled=progress, total=total, unit="img", leave=False):
        row = []
        for value in ordered:
            with at_width(model.network, value):
                sr = predict(model, sample.lr)
            row.append(min(score_image(sr, sample.hr, protocol, model.scale).psnr, PSNR_CAP))
        names.append(sample.name)
        scores.append(score(sample.lr))
        pixels.append(sample.lr.shape[0] * sample.lr.shape[1])
        rows.append(row)
    rates = macs_per_pixel(model, ordered)
    return CalibrationTable(
        names, np.array(scores, dtype=np.float64), np.array(pixels, dtype=np.float64), ordered,
        np.array(rows, dtype=np.float64).reshape(len(names), len(ordered)),
        np.array([rates[w] for w in ordered], dtype=np.float64),
    )


def measure_sets(model: SRModel, sets: Sequence[EvalSet], score: DifficultyScore, *, progress: bool = False) -> CalibrationTable:
    """:func:`measure` on every image of ``sets`` (folders read as ``eval`` reads them) at every width of ``model``."""
    total = sum(len(s) for s in sets)
    return measure(model, itertools.chain.from_iterable(sets), model.network.widths, score, progress=progress, total=total)


def _candidate_cuts(sorted_scores: np.ndarray, groups: int) -> np.ndarray:
    """Cut positions a threshold can realise (between different scores, plus 0 and N), thinned so that
    the monotone combinations of ``groups`` cuts stay within :data:`MAX_POLICIES`."""
    n = len(sorted_scores)
    inner = [c for c in range(1, n) if sorted_scores[c - 1] > sorted_scores[c]]
    cuts = np.array([0, *inner, n])
    limit = len(cuts)
    while limit > 2 and math.comb(limit + groups - 1, groups) > MAX_POLICIES:
        limit -= 1
    if limit < len(cuts):
        cuts = cuts[np.unique(np.round(np.linspace(0, len(cuts) - 1, limit)).astype(int))]
    return cuts


def _threshold_at(sorted_scores: np.ndarray, cut: int) -> float:
    """A threshold that the first ``cut`` scores (sorted, easiest first) exceed and the rest do not."""
    n = len(sorted_scores)
    if cut == 0:
        return math.inf
    above = float(sorted_scores[cut - 1])
    if cut == n:
        return above - 1.0 if math.isfinite(above) else 1e300
    below = float(sorted_scores[cut])
    if not math.isfinite(above):
        return below + 1.0
    middle = (above + below) / 2
    return middle if above > middle else below  # adjacent floats: the rule is "score > threshold"


def search(
    table: CalibrationTable,
    *,
    budget: float | None = None,
    max_drop: float | None = None,
    tolerance: float = DEFAULT_TOLERANCE,
    score_name: str | None = None,
) -> Calibration:
    """Thresholds meeting ``budget`` (MACs fraction) or ``max_drop`` (dB), searched on ``table``."""
    if (budget is None) == (max_drop is None):
        raise DistillsrError("calibration needs exactly one target: a MACs budget or a maximum PSNR drop")
    if budget is not None and not 0.0 < budget <= 1.0:
        raise DistillsrError(f"the MACs budget is a fraction of full width in (0, 1], got {budget}")
    if max_drop is not None and max_drop < 0:
        raise DistillsrError(f"the maximum PSNR drop must be at least 0 dB, got {max_drop}")
    n, k = len(table.names), len(table.widths)
    order = np.argsort(-table.scores, kind="stable")  # easiest first
    s = table.scores[order]
    zero = np.zeros((1, k))
    psnr_prefix = np.vstack([zero, np.cumsum(table.psnr[order], axis=0)])  # (N+1, K)
    macs_prefix = np.vstack([zero, np.cumsum(table.pixels[order, None] * table.rates[None, :], axis=0)])
    candidates = _candidate_cuts(s, k - 1)
    combos = np.array(list(itertools.combinations_with_replacement(candidates, k - 1)), dtype=int).reshape(-1, k - 1)
    bounds = np.hstack([np.zeros((len(combos), 1), int), combos, np.full((len(combos), 1), n)])  # (P, K+1)
    total_psnr = sum(psnr_prefix[bounds[:, j + 1], j] - psnr_prefix[bounds[:, j], j] for j in range(k))
    total_macs = sum(macs_prefix[bounds[:, j + 1], j] - macs_prefix[bounds[:, j], j] for j in range(k))
    fraction = total_macs / macs_prefix[n, -1]
    drop = (psnr_prefix[n, -1] - total_psnr) / n
    met, note = True, ""
    eps = 1e-9
    if budget is not None:
        feasible = fraction <= budget + eps
        if not feasible.any():
            raise DistillsrError(
                f"a MACs budget of {budget:g} is below what running every image at the narrowest width costs "
                f"({fraction.min():.3f} of full width)"
            )
        band = feasible & (fraction >= budget * (1 - tolerance) - eps)
        if band.any():
            pick = int(np.flatnonzero(band)[np.lexsort((fraction[band], -total_psnr[band]))[0]])
        else:
            pick = int(np.flatnonzero(feasible)[np.argmax(fraction[feasible])])
            met = False
            note = (f"no threshold set spends within {tolerance:.0%} below the budget on these {n} images; "
                    f"the closest under it spends {fraction[pick]:.3f}: calibrate on more images")
        target = {"budget": budget, "tolerance": tolerance}
    else:
        feasible = drop <= max_drop + eps  # all at full width (drop 0) is always feasible
        pick = int(np.flatnonzero(feasible)[np.lexsort((-total_psnr[feasible], fraction[feasible]))[0]])
        target = {"max_drop": max_drop}
    cuts = bounds[pick, 1:k]
    thresholds = tuple(_threshold_at(s, int(c)) for c in cuts)
    achieved = {"macs_fraction": float(fraction[pick]), "psnr_drop": float(drop[pick])}
    policy = WidthPolicy(
        table.widths[:-1], thresholds, score_name or DEFAULT_SCORE,
        calibration={"images": n, "target": target, **achieved,
                     "search": f"exhaustive over {len(combos)} monotone cut sets ({len(candidates)} candidate cuts)"},
    )
    chosen = table.chosen_by(policy)
    fraction_check, drop_check, mean_width = table.achieved(chosen)
    if not (math.isclose(fraction_check, fraction[pick], rel_tol=1e-9, abs_tol=1e-12)
            and math.isclose(drop_check, drop[pick], rel_tol=1e-9, abs_tol=1e-9)):
        raise AssertionError("the thresholds do not reproduce the searched assignment")  # a bug, not a user error
    return Calibration(policy, chosen, fraction_check, drop_check, mean_width, met, note)
