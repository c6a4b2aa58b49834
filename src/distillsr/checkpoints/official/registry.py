"""The official layouts distillsr recognises, tried in order (an explicit list, no scanning).

Known official files are recognised by their sha256 before any of these is asked
(:mod:`.known`, called by :func:`distillsr.checkpoints.weights_file.read_weights`).
"""

from __future__ import annotations

import torch

from distillsr.checkpoints.official.conversion import AmbiguousLayout, Conversion, LayoutMismatch


def _detectors():
    # Imported on use: each family module is small, but none is needed until a .pth is loaded.
    from distillsr.checkpoints.official import ddistill, dipnet, dipnet_slim, efdn, imdn, rfdn, span

    return (ddistill.detect, dipnet.detect, imdn.detect, rfdn.detect, efdn.detect, span.detect, dipnet_slim.detect)


def detect_official(state_dict: dict[str, torch.Tensor]) -> Conversion | None:
    """The first family that recognises ``state_dict``; None when no family's names are there.

    A family whose names are there but whose tensors do not fit raises
    :class:`~.conversion.LayoutMismatch` naming them, and a layout two families share raises
    :class:`~.conversion.AmbiguousLayout` with both readings; the other families are still asked
    first, so one family's near miss never hides another's exact match. An ambiguity outranks a
    mismatch: its tensors fit, only the reading is left to the user.
    """
    mismatch: LayoutMismatch | None = None
    ambiguity: AmbiguousLayout | None = None
    for detect in _detectors():
        try:
            conversion = detect(state_dict)
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
