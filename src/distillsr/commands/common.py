"""Argument helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from distillsr.errors import DistillsrError


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


def _float_where(text: str, accept, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and accept(value)):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_float(text: str) -> float:
    return _float_where(text, lambda value: value > 0, "a positive number")


def non_negative_float(text: str) -> float:
    return _float_where(text, lambda value: value >= 0, "a non-negative number")


def fraction(text: str) -> float:
    """A number strictly between 0 and 1 (a share of channels, of a budget)."""
    return _float_where(text, lambda value: 0 < value < 1, "a fraction between 0 and 1")


def budget_fraction(text: str) -> float:
    """A share of full width's cost in (0, 1]: 1 is a valid budget (every image may run at full width)."""
    return _float_where(text, lambda value: 0 < value <= 1, "a fraction of full width in (0, 1]")


def dataset_folders(values: list[str]) -> list[Path]:
    """``--data`` values (repeatable, each comma-separated) as folders; at least one is needed."""
    folders = [Path(part) for value in values for part in value.split(",") if part.strip()]
    if not folders:
        raise DistillsrError("--data needs at least one folder")
    return folders
