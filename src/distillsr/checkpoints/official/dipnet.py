"""Recognise xiumu00/DIPNet checkpoints (``DIPNet.pth``, ``team34_EDIPv1.pth``) by key layout.

The official module names are already distillsr's, so conversion is only a read of the
hyperparameters from tensor shapes followed by the exact check every family runs
(:func:`~.conversion.check_layout`): the recognised configuration is built on the meta device and
its keys and shapes must equal the checkpoint's, or the tensors that differ are named.

EDIPv1 differs from DIPNet in its widths (32 mid channels) and its trunk biases (``conv_1``,
``conv_2``, the upsampler). A file with EDIPv1's widths and biases is named ``edipv1`` at any
scale, any other ``dipnet`` with the widths it has (one constructor builds both).

The layout is RLFN's too (``bytedance/RLFN``; DIPNet was built on it), and there the two families
part in what no tensor shows: RLFN takes 0-255 input, DIPNet 0-1. Every RLFN conv has a bias and no
released DIPNet has block biases, so a file with biases in the trunk *and* the blocks is RLFN-shaped:
it is refused as :class:`~.conversion.AmbiguousLayout` with both readings (:mod:`.rlfn` builds the
RLFN one), and the user names the model (``-m rlfn`` / ``-m dipnet``). The released RLFN and DIPNet
files are recognised by their sha256 before any layout is read (:mod:`.known`). A layout without
the trunk or the block biases is DIPNet's alone.
"""

from __future__ import annotations

import re

import torch

from distillsr.checkpoints.official import rlfn
from distillsr.checkpoints.official.conversion import (
    AmbiguousLayout,
    Conversion,
    agrees_with_defaults,
    check_layout,
    upsampler_scale,
    zoo_name,
)

REQUIRED = (
    "conv_1.weight",
    "block_1.c1_r.weight",
    "block_1.c5.weight",
    "block_1.esa.conv1.weight",
    "conv_2.weight",
    "upsampler.0.weight",
)
_BLOCK = re.compile(r"block_(\d+)\.")
#: The zoo names one DIPNet constructor builds from the layout's kwargs; the last is the general one.
DIPNET_NAMES = ("edipv1", "dipnet")


def _count_blocks(state_dict: dict[str, torch.Tensor]) -> int:
    """The highest ``block_<i>`` index: a block with a tensor missing still counts, so the check names that tensor."""
    return max((int(m.group(1)) for key in state_dict if (m := _BLOCK.match(key))), default=0)


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


def _describe(model: str, scale: int, kwargs: dict) -> str:
    """A human description of the recognised configuration (the release's file name when it is one)."""
    released = scale == 4 and kwargs["in_channels"] == 3 and not kwargs["block_bias"]
    if released and model == "dipnet" and agrees_with_defaults("dipnet", kwargs):
        return "DIPNet.pth (xiumu00/DIPNet), DIPNet x4"
    if released and model == "edipv1":
        return "team34_EDIPv1.pth (xiumu00/DIPNet), EDIPv1 x4"
    widths = (
        f"{kwargs['num_blocks']} blocks, {kwargs['channels']}/{kwargs['mid_channels']} channels, "
        f"ESA {kwargs['esa_channels']}, trunk bias {kwargs['bias']}, block bias {kwargs['block_bias']}"
    )
    return f"DIPNet-family layout ({widths}), x{scale}"


def detect(state_dict: dict[str, torch.Tensor]) -> Conversion | None:
    """A :class:`Conversion` for a DIPNet / EDIPv1 state dict; None for any other layout.

    The state dict has passed the shared checks (:func:`~.registry.shared_checks`: a non-empty dict of
    tensors, no ``module.`` prefix) and holds :data:`REQUIRED`.

    None when the layout's names are absent or the shapes that carry the hyperparameters cannot be
    read; :class:`~.conversion.LayoutMismatch` when they are read but the tensors do not fit;
    :class:`~.conversion.AmbiguousLayout` when they fit and are RLFN-shaped (see the module docstring).
    """
    if any("conv_max" in key or "conv3_" in key for key in state_dict):
        return None  # full ESA: RFDN-style, not DIPNet's light variant
    config = _read_config(state_dict)
    if config is None or config["num_blocks"] < 1:
        return None
    scale = config.pop("scale")
    model = zoo_name(DIPNET_NAMES, config)
    if not rlfn.fits(config):
        layout = _describe(model, scale, config)
        check_layout(state_dict, model, scale, config, layout)
        return Conversion(
            model=model, scale=scale, kwargs=config, state_dict=dict(state_dict), layout=layout, input_range=1.0
        )
    # RLFN-shaped: both readings build the same network; it is checked (and named in a mismatch) as RLFN's
    layout = rlfn.describe(scale, config)
    as_rlfn = rlfn.conversion(state_dict, scale, config, layout)
    check_layout(state_dict, as_rlfn.model, scale, as_rlfn.kwargs, layout)
    as_dipnet = Conversion(
        model=model, scale=scale, kwargs=config, state_dict=dict(state_dict), layout=layout, input_range=1.0
    )
    choices = ((rlfn.NAMES, as_rlfn), (DIPNET_NAMES, as_dipnet))
    raise AmbiguousLayout(layout, choices, "the input range the weights were trained on")
