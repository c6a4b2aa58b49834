"""The official layouts distillsr recognises, tried in order (an explicit list, no scanning)."""

from __future__ import annotations

import torch

from distillsr.checkpoints.official.conversion import Conversion, LayoutMismatch


def _detectors():
    # Imported on use: each family module is small, but none is needed until a .pth is loaded.
    from distillsr.checkpoints.official import ddistill, dipnet, imdn, rfdn

    return (ddistill.detect, dipnet.detect, imdn.detect, rfdn.detect)


def detect_official(state_dict: dict[str, torch.Tensor]) -> Conversion | None:
    """The first family that recognises ``state_dict``; None when no family's names are there.

    A family whose names are there but whose tensors do not fit raises
    :class:`~.conversion.LayoutMismatch` naming them; the other families are still asked first, so
    one family's near miss never hides another's exact match.
    """
    mismatch: LayoutMismatch | None = None
    for detect in _detectors():
        try:
            conversion = detect(state_dict)
        except LayoutMismatch as error:
            mismatch = mismatch or error
            continue
        if conversion is not None:
            return conversion
    if mismatch is not None:
        raise mismatch
    return None
