"""Saying exactly how a state dict does not fit a network: the one wording every loader uses.

Both the strict load (:func:`~distillsr.checkpoints.weights_file.load_state_dict_strictly`) and the
official-layout check (:func:`~distillsr.checkpoints.official.conversion.check_layout`) compare a
file's tensors with the shapes a network expects; they name the same three kinds of problem.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch


def listed(names: list[str], limit: int = 3) -> str:
    """The first ``limit`` names, and how many more there are."""
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def shape_text(shape: tuple[int, ...]) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def misfits(state_dict: Mapping[str, torch.Tensor], expected: Mapping[str, tuple[int, ...]]) -> list[str]:
    """Missing, unexpected and mis-shaped tensors of ``state_dict`` against ``expected`` shapes, one
    phrase per kind (empty when everything fits)."""
    missing = [name for name in expected if name not in state_dict]
    unexpected = [name for name in state_dict if name not in expected]
    mismatched = [
        f"{name} {shape_text(tuple(state_dict[name].shape))} vs {shape_text(tuple(shape))}"
        for name, shape in expected.items()
        if name in state_dict and tuple(state_dict[name].shape) != tuple(shape)
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing tensor(s) ({listed(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s) ({listed(unexpected)})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es) (checkpoint vs model: {listed(mismatched)})")
    return problems
