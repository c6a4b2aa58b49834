"""What an export did, for the caller and the ``distillsr export`` report lines."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from distillsr.inference.export.verify import DEFAULT_ATOL


@dataclass(frozen=True)
class ExportReport:
    """What was written and how well it matched PyTorch.

    ``sizes`` and ``max_abs_diff`` are parallel: one ``(batch, height, width)`` verification run
    and its largest absolute difference on [0, 1] outputs. Both are empty when not verified.
    """

    path: Path
    model: str
    scale: int
    opset: int
    source_form: str
    width: float | None
    stored_values: int
    file_bytes: int
    seconds: float
    sizes: tuple[tuple[int, int, int], ...] = ()
    max_abs_diff: tuple[float, ...] = ()
    atol: float = DEFAULT_ATOL
    image_source: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return bool(self.sizes)

    @property
    def worst_diff(self) -> float | None:
        return max(self.max_abs_diff) if self.max_abs_diff else None
