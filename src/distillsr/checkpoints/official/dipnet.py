"""Recognise xiumu00/DIPNet checkpoints (``DIPNet.pth``, ``team34_EDIPv1.pth``) by key layout.

The official module names are already distillsr's, so conversion is only a read of the
hyperparameters from tensor shapes followed by an exact check: the recognised configuration is
instantiated on the meta device and its keys and shapes must equal the checkpoint's. That check
is what keeps RFDN / IMDN / DDistill-SR checkpoints (which share names such as ``c1_r`` and
``esa.conv1``) from being mistaken for DIPNet, without a hand-written list of exclusions.

The layout is the same as RLFN's, so an RLFN-shaped checkpoint (biases inside the blocks, equal
trunk and mid widths) is recognised too, as the DIPNet configuration computing the same function.
"""

from __future__ import annotations

import torch

from distillsr.checkpoints.official.conversion import (
    Conversion,
    strip_prefix,
    upsampler_scale,
)

_REQUIRED = (
    "conv_1.weight",
    "block_1.c1_r.weight",
    "block_1.c5.weight",
    "block_1.esa.conv1.weight",
    "conv_2.weight",
    "upsampler.0.weight",
)

# (channels, mid_channels, esa_channels, num_blocks, bias, block_bias, scale) of the two releases.
_DIPNET = (44, 38, 16, 4, False, False, 4)
_EDIPV1 = (44, 32, 16, 4, True, False, 4)


def _count_blocks(state_dict: dict[str, torch.Tensor]) -> int:
    count = 0
    while f"block_{count + 1}.c1_r.weight" in state_dict:
        count += 1
    return count


def _expected_shapes(kwargs: dict) -> dict[str, tuple[int, ...]]:
    """Keys and shapes of ``DIPNet(**kwargs)``, built on the meta device (no memory, no init cost)."""
    from distillsr.models.dipnet import DIPNet

    with torch.device("meta"):
        model = DIPNet(**kwargs)
    return {name: tuple(tensor.shape) for name, tensor in model.state_dict().items()}


def _read_config(state_dict: dict[str, torch.Tensor]) -> dict | None:
    """Constructor kwargs implied by the shapes, or None when they do not fit the layout."""
    conv_1 = state_dict["conv_1.weight"]
    c1_r = state_dict["block_1.c1_r.weight"]
    esa = state_dict["block_1.esa.conv1.weight"]
    tail = state_dict["upsampler.0.weight"]
    if any(t.dim() != 4 for t in (conv_1, c1_r, esa, tail)):
        return None
    channels, in_channels = conv_1.shape[:2]
    scale = upsampler_scale(tail.shape[0], in_channels)
    if scale is None:
        return None
    return {
        "scale": scale,
        "in_channels": int(in_channels),
        "channels": int(channels),
        "mid_channels": int(c1_r.shape[0]),
        "esa_channels": int(esa.shape[0]),
        "num_blocks": _count_blocks(state_dict),
        "bias": "conv_1.bias" in state_dict,
        "block_bias": "block_1.c1_r.bias" in state_dict,
    }


def _describe(kwargs: dict) -> tuple[str, str]:
    """Zoo name and a human description of the recognised configuration."""
    signature = (
        kwargs["channels"], kwargs["mid_channels"], kwargs["esa_channels"], kwargs["num_blocks"],
        kwargs["bias"], kwargs["block_bias"], kwargs["scale"],
    )
    if kwargs["in_channels"] == 3 and signature == _DIPNET:
        return "dipnet", "DIPNet.pth (xiumu00/DIPNet), DIPNet x4"
    if kwargs["in_channels"] == 3 and signature == _EDIPV1:
        return "edipv1", "team34_EDIPv1.pth (xiumu00/DIPNet), EDIPv1 x4"
    widths = (
        f"{kwargs['num_blocks']} blocks, {kwargs['channels']}/{kwargs['mid_channels']} channels, "
        f"ESA {kwargs['esa_channels']}, trunk bias {kwargs['bias']}, block bias {kwargs['block_bias']}"
    )
    return "dipnet", f"DIPNet-family layout ({widths}), x{kwargs['scale']}"


def detect(state_dict: dict[str, torch.Tensor]) -> Conversion | None:
    """A :class:`Conversion` for a DIPNet / EDIPv1 state dict; None for any other layout."""
    if not isinstance(state_dict, dict) or not state_dict:
        return None
    state_dict = strip_prefix(state_dict)
    if not all(isinstance(value, torch.Tensor) for value in state_dict.values()):
        return None
    if not all(key in state_dict for key in _REQUIRED):
        return None
    if any("conv_max" in key or "conv3_" in key for key in state_dict):
        return None  # full ESA: RFDN-style, not DIPNet's light variant
    config = _read_config(state_dict)
    if config is None or config["num_blocks"] < 1:
        return None
    try:
        expected = _expected_shapes(config)
    except (ValueError, RuntimeError):
        return None
    actual = {name: tuple(tensor.shape) for name, tensor in state_dict.items()}
    if actual != expected:
        return None
    model, layout = _describe(config)
    scale = config.pop("scale")
    return Conversion(
        model=model,
        scale=scale,
        kwargs=config,
        state_dict=dict(state_dict),
        layout=layout,
        input_range=1.0,
    )
