"""The official layouts distillsr recognises, tried in order (an explicit list, no scanning).

Known official files are recognised by their sha256 before any of these is asked
(:mod:`.known`, called by :func:`distillsr.checkpoints.weights_file.read_weights`). What every
detector needs of a state dict — a non-empty dict of tensors without DataParallel's ``module.``
prefix, holding the layout's own names — is checked here, once (:func:`shared_checks`, and each
layout's ``REQUIRED`` names), so a detector only reads its family's shapes.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from types import ModuleType

import torch

from distillsr.checkpoints.official.conversion import AmbiguousLayout, Conversion, LayoutMismatch, strip_prefix

Detector = Callable[[dict[str, torch.Tensor]], "Conversion | None"]


def layouts() -> tuple[ModuleType, ...]:
    """The layout modules, in the order they are asked (each has ``REQUIRED`` names and ``detect``)."""
    # Imported on use: each family module is small, but none is needed until a .pth is loaded.
    from distillsr.checkpoints.official import ddistill, dipnet, dipnet_slim, efdn, imdn, rfdn, span

    return (ddistill, dipnet, imdn, rfdn, efdn, span, dipnet_slim)


def shared_checks(state_dict: object) -> dict[str, torch.Tensor] | None:
    """The state dict every detector may assume: a non-empty dict of tensors, ``module.`` prefix
    stripped; None for anything else (no layout could recognise it)."""
    if not isinstance(state_dict, dict) or not state_dict:
        return None
    if not all(isinstance(value, torch.Tensor) for value in state_dict.values()):
        return None
    return strip_prefix(state_dict)


def _if_present(layout: ModuleType, state_dict: dict[str, torch.Tensor]) -> Conversion | None:
    """The layout's detector, asked only when its own names are all there (the state dict is checked)."""
    if not set(layout.REQUIRED) <= set(state_dict):
        return None
    return layout.detect(state_dict)


def read_as(layout: ModuleType, state_dict: object) -> Conversion | None:
    """One layout's reading of any object, as :func:`detect_official` would ask it (tests, tools)."""
    state = shared_checks(state_dict)
    return None if state is None else _if_present(layout, state)


def _detectors() -> tuple[Detector, ...]:
    return tuple(partial(_if_present, layout) for layout in layouts())


def detect_official(state_dict: dict[str, torch.Tensor]) -> Conversion | None:
    """The first family that recognises ``state_dict``; None when no family's names are there.

    A family whose names are there but whose tensors do not fit raises
    :class:`~.conversion.LayoutMismatch` naming them, and a layout two families share raises
    :class:`~.conversion.AmbiguousLayout` with both readings; the other families are still asked
    first, so one family's near miss never hides another's exact match. An ambiguity outranks a
    mismatch: its tensors fit, only the reading is left to the user.
    """
    state = shared_checks(state_dict)  # once, not once per detector
    if state is None:
        return None
    mismatch: LayoutMismatch | None = None
    ambiguity: AmbiguousLayout | None = None
    for detect in _detectors():
        try:
            conversion = detect(state)
        except AmbiguousLayout as error:
            ambiguity = ambiguity or error
            continue
        except LayoutMismatch as error:
            mismatch = mismatch or error
            continue
        if conversion is not None:
            return conversion
    if ambiguity is not None:
        raise ambiguity
    if mismatch is not None:
        raise mismatch
    return None
