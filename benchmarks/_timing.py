"""Interleaved timing and plain-text tables for ``benchmarks/cpu_speed.py``.

On a shared, noisy machine a variant timed in one block can be unlucky as a whole; running the
variants round-robin (and starting each round at the next variant, so none is always first after
a pause) lets a noisy stretch hit all of them alike, and the median drops the outliers.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


@dataclass
class Timed:
    """Seconds of one variant: the warm-up calls (first one separately) and the measured ones."""

    label: str
    warmup: list[float] = field(default_factory=list)
    runs: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else float("nan")

    @property
    def first(self) -> float:
        return self.warmup[0] if self.warmup else float("nan")


def interleaved(
    calls: Sequence[tuple[str, Callable[[], object]]],
    *,
    repeats: int,
    warmup: int = 1,
    after: Callable[[str, object], None] | None = None,
) -> list[Timed]:
    """Time each ``(label, call)`` ``repeats`` times, round-robin, after ``warmup`` calls each.

    ``after(label, result)`` sees every result (warm-up included) outside the timed region,
    e.g. to keep an output for a comparison without holding all of them.
    """
    results = [Timed(label) for label, _ in calls]
    for _ in range(warmup):
        for (label, call), timed in zip(calls, results):
            seconds, out = timed_call(call)
            timed.warmup.append(seconds)
            if after is not None:
                after(label, out)
    for round_index in range(repeats):
        for offset in range(len(calls)):
            index = (round_index + offset) % len(calls)
            label, call = calls[index]
            seconds, out = timed_call(call)
            results[index].runs.append(seconds)
            if after is not None:
                after(label, out)
            del out
    return results


def timed_call(call: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = call()
    return time.perf_counter() - start, out


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], title: str | None = None) -> str:
    """A Markdown table (readable as plain text too); floats are printed as given by the caller."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    lines = [] if title is None else [f"\n### {title}\n"]
    lines.append("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells:
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths)) + " |")
    return "\n".join(lines)


def fmt(value: float | None, digits: int = 3) -> str:
    """A number for a table cell; '-' for a missing one."""
    if value is None or math.isnan(value):
        return "-"
    return f"{value:.{digits}f}"
