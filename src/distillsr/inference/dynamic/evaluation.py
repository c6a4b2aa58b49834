"""Old home of ``evaluate_dynamic``, kept only for ``benchmarks/dynamic_vs_fixed.py`` (another developer's file).

Dynamic evaluation is now the one evaluation loop with a width policy:
``distillsr.evaluate(model, folders, width_policy="calibrated")`` (each result's ``.spent`` holds
what :func:`evaluate_dynamic` returned beside it). This module reaches *up* into the API, which the
layering test allows for this file alone (``tests/test_layers.py``, ``TRANSITIONAL``); delete it
once that benchmark calls :func:`distillsr.api.evaluate`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from distillsr.evaluation.runner import SetResult
    from distillsr.inference.width_policy.costs import DynamicSummary
    from distillsr.models.sr_model import SRModel


def evaluate_dynamic(model: SRModel, folders: Sequence[str | Path], **options) -> list[tuple[SetResult, DynamicSummary]]:
    """``(result, spent)`` per folder: :func:`distillsr.api.evaluate` with the model's calibrated policy."""
    from distillsr.api import evaluate

    results = evaluate(model, folders, device=str(model.device), width_policy="calibrated", **options)
    return [(result, result.spent) for result in results]
