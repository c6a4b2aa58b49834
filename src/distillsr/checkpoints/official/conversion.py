"""What a recognised official checkpoint turns into."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Conversion:
    """An official state dict recognised and rewritten into distillsr's layout.

    ``model`` is the zoo name, ``kwargs`` the constructor arguments beyond ``scale`` that the
    tensor shapes imply (they override the zoo entry's defaults), ``state_dict`` the tensors under
    the names distillsr's module expects, and ``layout`` a human description of what was
    recognised (e.g. "RFDN_AIM.pth (njulj/RFDN), E-RFDN x4").
    """

    model: str
    scale: int
    kwargs: dict = field(default_factory=dict)
    state_dict: dict[str, torch.Tensor] = field(default_factory=dict)
    layout: str = ""
    input_range: float = 1.0


def strip_prefix(state_dict: dict[str, torch.Tensor], prefix: str = "module.") -> dict[str, torch.Tensor]:
    """Drop a DataParallel-style prefix when every key carries it."""
    if state_dict and all(key.startswith(prefix) for key in state_dict):
        return {key[len(prefix):]: value for key, value in state_dict.items()}
    return dict(state_dict)


def upsampler_scale(out_channels: int, image_channels: int = 3) -> int | None:
    """The pixel-shuffle scale ``s`` with ``out_channels == image_channels * s * s``, if any."""
    for scale in range(1, 9):
        if image_channels * scale * scale == out_channels:
            return scale
    return None


def are_conv_weights(state_dict: dict[str, torch.Tensor], *names: str) -> bool:
    """Whether each named tensor is 4-D, as a conv weight is: detectors read shapes from them."""
    return all(state_dict[name].dim() == 4 for name in names)
