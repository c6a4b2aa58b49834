"""The LR input size a cost is quoted at, as users write it (``3x256x256``, ``256x256``) or as a tuple."""

from __future__ import annotations

from collections.abc import Sequence

from distillsr.errors import DistillsrError


def parse_input_shape(size: str | Sequence[int]) -> tuple[int, int, int, int]:
    """``3x256x256`` or ``(3, 256, 256)`` (C x H x W), ``256x256`` or ``(256, 256)`` (3 channels) -> ``(1, C, H, W)``."""
    if isinstance(size, str):
        try:
            parts = [int(p) for p in size.lower().split("x")]
        except ValueError:
            parts = []
    else:
        parts = [int(p) for p in size] if all(isinstance(p, int) and not isinstance(p, bool) for p in size) else []
    if len(parts) == 2:
        parts = [3, *parts]
    if len(parts) != 3 or min(parts) < 1:
        raise DistillsrError(f"input size must look like 3x256x256 or 256x256, got {size!r}")
    return (1, parts[0], parts[1], parts[2])
