"""What dynamic inference spends: MACs per input pixel at each width, and a chooser that keeps count.

**MACs per width.** :func:`~distillsr.efficiency.ops.count_ops` counts at the aten level, so a
slimmable conv's sliced kernel is counted at its active size (a test checks this against the
active channels). The convolutions of these fully convolutional models cost a fixed amount per
input pixel, so each width's MACs are counted once on a ``side x side`` input and scaled by the
pixels each image or tile has. (Terms that do not grow with the image, such as RCAN's channel
attention on pooled 1x1 maps, are spread over the counting input; they are well under 0.1% of a
64 x 64 forward.)

**The chooser.** :class:`DynamicWidths` is the ``width_for`` hook of the evaluation runner (one
call per image) and of the :class:`~distillsr.inference.upscaler.Upscaler` (one call per tile
window, context included, since that is what runs at the chosen width). Each call scores the
input, picks the width and records the MACs that input costs at that width and at full width, so
the reported fraction is exactly "MACs spent / MACs the same forwards cost at full width".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from distillsr.inference.width_policy.policy import FULL_WIDTH, WidthPolicy, policy_of
from distillsr.inference.width_policy.scores import DifficultyScore, make_score

if TYPE_CHECKING:
    from distillsr.models.sr_model import SRModel

COUNTING_SIDE = 64


def macs_per_pixel(model: SRModel, widths: Iterable[float], side: int = COUNTING_SIDE) -> dict[float, float]:
    """MACs of one forward per input pixel at each width, counted on a ``side x side`` input."""
    from distillsr.efficiency.ops import count_ops
    from distillsr.nn.slimmable import width as at_width

    side = max(side, model.min_size)
    channels = model.in_channels or 3
    rates = {}
    for value in widths:
        with at_width(model.network, value):
            counted = count_ops(model.network, (1, channels, side, side), device=model.device)
        rates[float(value)] = counted.macs / (side * side)
    return rates


def pixels_of(lr: Any) -> int:
    """Pixels of an ``HxW[xC]`` array or an ``(N, C, H, W)`` tensor."""
    shape = tuple(lr.shape)
    return int(shape[-2] * shape[-1]) if hasattr(lr, "detach") else int(shape[0] * shape[1])


@dataclass(frozen=True)
class DynamicSummary:
    """The widths chosen for a run's images or tiles and the MACs they cost."""

    decisions: int
    mean_width: float  # over decisions (images for eval, tiles for upscale), unweighted
    macs: float  # spent
    full_macs: float  # what the same forwards cost at full width
    counts: dict[float, int] = field(default_factory=dict)  # decisions per width

    @property
    def fraction(self) -> float:
        """MACs spent as a fraction of full width's (1.0 when nothing ran)."""
        return self.macs / self.full_macs if self.full_macs else 1.0

    def describe(self, unit: str) -> str:
        spread = ", ".join(f"{w:g}: {n}" for w, n in sorted(self.counts.items()))
        plural = unit if self.decisions == 1 else unit + "s"
        return (
            f"mean width {self.mean_width:.3f} over {self.decisions} {plural} ({spread}) | "
            f"MACs {self.fraction:.3f} of full width ({self.macs / 1e9:.3f} G of {self.full_macs / 1e9:.3f} G)"
        )

    def to_dict(self) -> dict:
        return {
            "decisions": self.decisions,
            "mean_width": self.mean_width,
            "macs": self.macs,
            "full_width_macs": self.full_macs,
            "macs_fraction": self.fraction,
            "widths": {f"{w:g}": n for w, n in sorted(self.counts.items())},
        }


class DynamicWidths:
    """Score an input, choose its width by ``policy``, and record what it costs (a ``width_for`` hook)."""

    def __init__(self, policy: WidthPolicy, score: DifficultyScore, rates: dict[float, float]) -> None:
        missing = [w for w in policy.all_widths if w not in rates]
        if missing:
            raise ValueError(f"no MACs rate for width(s) {missing}")
        self.policy = policy
        self.score = score
        self.rates = rates
        self.choices: list[tuple[float, int]] = []  # (width, input pixels) per decision

    def __call__(self, lr: Any) -> float:
        value = self.policy.width_for(self.score(lr))
        self.choices.append((value, pixels_of(lr)))
        return value

    def reset(self) -> None:
        self.choices.clear()

    def summary(self) -> DynamicSummary:
        count = len(self.choices)
        return DynamicSummary(
            decisions=count,
            mean_width=sum(w for w, _ in self.choices) / count if count else FULL_WIDTH,
            macs=sum(self.rates[w] * p for w, p in self.choices),
            full_macs=sum(self.rates[FULL_WIDTH] * p for _, p in self.choices),
            counts=dict(Counter(w for w, _ in self.choices)),
        )


def dynamic_widths(model: SRModel) -> DynamicWidths:
    """The chooser for a calibrated model: its stored policy, its score, its MACs per width."""
    policy = policy_of(model)
    return DynamicWidths(policy, make_score(policy.score, model.scale), macs_per_pixel(model, policy.all_widths))
