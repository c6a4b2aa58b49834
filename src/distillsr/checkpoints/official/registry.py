"""The official layouts distillsr recognises, tried in order (an explicit list, no scanning)."""

from __future__ import annotations

import torch

from distillsr.checkpoints.official.conversion import Conversion


def _detectors():
    # Imported on use: each family module is small, but none is needed until a .pth is loaded.
    from distillsr.checkpoints.official import ddistill, dipnet, imdn, rfdn

    return (ddistill.detect, dipnet.detect, imdn.detect, rfdn.detect)


def detect_official(state_dict: dict[str, torch.Tensor]) -> Conversion | None:
    """The first family that recognises ``state_dict``, or None."""
    for detect in _detectors():
        conversion = detect(state_dict)
        if conversion is not None:
            return conversion
    return None
