"""The width policy of dynamic inference: thresholds on a difficulty score, and where they are stored.

Dynamic-CSD's rule (``dynamic_test.py``): with the narrower widths sorted narrowest first and one
threshold each, an input runs at the first width whose threshold its score exceeds, else at full
width. Thresholds never increase along the list, so an easier input (higher score) never runs
wider than a harder one.

A calibrated checkpoint carries its policy in its metadata, under ``provenance["dynamic"]``
(:data:`POLICY_KEY`)::

    {"score": "bicubic-psnr", "widths": [0.25, 0.5, 0.75], "thresholds": [41.2, 37.9, 33.0],
     "calibration": {...how it was found: folder, target, achieved MACs fraction and PSNR drop...}}

A threshold of ``null`` means "no input is easy enough" (plus infinity, which JSON cannot hold).
Provenance is the free-form part of :class:`~distillsr.checkpoints.format.CheckpointInfo`, so
older readers load such a checkpoint unchanged; ``convert`` keeps the policy with the weights, and
``prune`` (which changes the network) files the old provenance under ``source``, so a stale policy
is never applied to pruned weights.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from distillsr.errors import DistillsrError
from distillsr.inference.width_policy.scores import DEFAULT_SCORE

if TYPE_CHECKING:
    from distillsr.models.sr_model import SRModel

POLICY_KEY = "dynamic"
FULL_WIDTH = 1.0


@dataclass(frozen=True)
class WidthPolicy:
    """Narrower widths (narrowest first) with one threshold each; anything else runs at full width."""

    widths: tuple[float, ...]
    thresholds: tuple[float, ...]
    score: str = DEFAULT_SCORE
    calibration: dict = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        widths = tuple(float(w) for w in self.widths)
        thresholds = tuple(float(t) for t in self.thresholds)
        if len(widths) != len(thresholds):
            raise DistillsrError(f"a width policy needs one threshold per width: {widths} vs {thresholds}")
        if any(not 0.0 < w < FULL_WIDTH for w in widths) or list(widths) != sorted(set(widths)):
            raise DistillsrError(f"policy widths must be distinct, below 1 and sorted narrowest first, got {widths}")
        if any(math.isnan(t) for t in thresholds) or any(a < b for a, b in itertools.pairwise(thresholds)):
            raise DistillsrError(f"policy thresholds must not increase from the narrowest width on, got {thresholds}")
        object.__setattr__(self, "widths", widths)
        object.__setattr__(self, "thresholds", thresholds)

    @property
    def all_widths(self) -> tuple[float, ...]:
        """Every width the policy may choose, narrowest first, full width last."""
        return (*self.widths, FULL_WIDTH)

    def width_for(self, score: float) -> float:
        """The width for an input of difficulty ``score`` (higher = easier)."""
        for width, threshold in zip(self.widths, self.thresholds):
            if score > threshold:
                return width
        return FULL_WIDTH

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "widths": list(self.widths),
            "thresholds": [None if math.isinf(t) else t for t in self.thresholds],
            "calibration": dict(self.calibration),
        }

    @classmethod
    def from_dict(cls, data: object, source: str) -> WidthPolicy:
        if not isinstance(data, dict) or not {"widths", "thresholds"} <= set(data):
            raise DistillsrError(f"{source}: its dynamic-width policy is malformed (needs widths and thresholds)")
        try:
            thresholds = tuple(math.inf if t is None else float(t) for t in data["thresholds"])
            return cls(tuple(data["widths"]), thresholds, str(data.get("score", DEFAULT_SCORE)),
                       dict(data.get("calibration") or {}))
        except (TypeError, ValueError) as error:
            raise DistillsrError(f"{source}: its dynamic-width policy is malformed ({error})") from None


def policy_of(model: SRModel) -> WidthPolicy:
    """The calibrated policy a model's checkpoint carries, checked against the model's widths.

    A model without one is a one-line error that says how to make one.
    """
    metadata = getattr(model, "metadata", None) or {}  # an ONNX backend has neither metadata nor a network
    network = getattr(model, "network", None)
    source = metadata.get("weights") or model.name
    allowed = getattr(network, "widths", None)
    if allowed is None or not hasattr(network, "set_width"):
        raise DistillsrError(
            f"{model.name} is not a channel-splitting model: --dynamic needs a slimmable (CSD) checkpoint"
        )
    stored = (metadata.get("provenance") or {}).get(POLICY_KEY)
    if stored is None:
        raise DistillsrError(
            f"{source} has no dynamic-width thresholds: run distillsr calibrate -w {source} --data DIR "
            "(--budget B | --max-drop DB) -o OUT.safetensors, then use OUT.safetensors"
        )
    policy = WidthPolicy.from_dict(stored, str(source))
    unknown = [w for w in policy.widths if w not in allowed]
    if unknown:
        raise DistillsrError(f"{source}: its dynamic policy uses width(s) {unknown} the model does not run at {tuple(allowed)}")
    return policy
