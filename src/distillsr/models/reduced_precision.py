"""What reduced precision costs each model with a card: measured, shipped with the package, shown to users.

``reduced_precision.json`` (written by ``scripts/measure_reduced_precision.py``) holds each
shipped and official model's Set5 PSNR in fp32 and with bf16 autocast. ``distillsr zoo`` and
``distillsr upscale --help`` show the loss, so a user choosing between the default (bf16 where the
CPU has it) and ``--fp32`` knows the price; the tests re-measure it. Reading it needs no torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

TABLE = Path(__file__).with_name("reduced_precision.json")


@dataclass(frozen=True)
class PrecisionCost:
    """Set5 PSNR (classic) in fp32 and at a reduced precision."""

    precision: str
    psnr_fp32: float
    psnr: float
    delta_db: float


@lru_cache(maxsize=1)
def _table() -> dict:
    try:
        return json.loads(TABLE.read_text())
    except (OSError, ValueError):
        return {}


def card_keys() -> list[str]:
    """The models measured (``"builtin x4"``, ``"e-rfdn x4"``, ...)."""
    return list(_table().get("models", {}))


def measured_on() -> dict:
    return dict(_table().get("measured_on", {}))


def precision_cost(name: str, scale: int, precision: str = "bf16") -> PrecisionCost | None:
    """The measured cost of ``precision`` for model ``name`` at ``scale`` (official or built-in weights)."""
    entry = _table().get("models", {}).get(f"{name} x{scale}", {}).get(precision)
    if entry is None:
        return None
    return PrecisionCost(precision, entry["set5_psnr_fp32"], entry[f"set5_psnr_{precision}"], entry["delta_db"])


def describe_cost(name: str, scale: int, precision: str = "bf16") -> str | None:
    """``"-0.006 dB Set5 PSNR"``, or None when unmeasured."""
    cost = precision_cost(name, scale, precision)
    return None if cost is None else f"{cost.delta_db:+.3f} dB Set5 PSNR"
