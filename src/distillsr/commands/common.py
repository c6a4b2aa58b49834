"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse

from distillsr.errors import DistillsrError
from distillsr.writable import describe_os_error  # noqa: F401  (re-exported for the CLI boundary)


def _int_at_least(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected a {what} integer, got {text!r}")
    return value


def positive_int(text: str) -> int:
    return _int_at_least(text, 1, "positive")


def non_negative_int(text: str) -> int:
    return _int_at_least(text, 0, "non-negative")


def parse_input_shape(text: str) -> tuple[int, int, int, int]:
    """``3x256x256`` (C x H x W) or ``256x256`` (H x W, 3 channels) -> ``(1, C, H, W)``."""
    try:
        parts = [int(p) for p in text.lower().split("x")]
    except ValueError:
        parts = []
    if len(parts) == 2:
        parts = [3, *parts]
    if len(parts) != 3 or min(parts) < 1:
        raise DistillsrError(f"input size must look like 3x256x256 or 256x256, got {text!r}")
    return (1, parts[0], parts[1], parts[2])
