"""Recognise DIPNet-slim-v2 checkpoints (``team15_DIPNet_slim_v2.pt`` of the NTIRE 2025 kit).

The official module names are distillsr's (:mod:`distillsr.models.dipnet_slim`): DIPNet's layout
with every 3x3 conv of the trunk, blocks, upsampler and ESA's ``conv3`` a folded Conv3XC
(``<name>.eval_conv``), and a 1x1 ``conv_2``. The ``eval_conv`` names keep it apart from DIPNet's
and RLFN's layout (``conv_1.weight``), ``c5`` and ``esa`` from SPAN's. Widths come from the conv
shapes, the blocks from the ``block_<i>`` names, the scale from the pixel-shuffle width.
"""

from __future__ import annotations

import re

import torch

from distillsr.checkpoints.official.conversion import (
    Conversion,
    are_conv_weights,
    check_layout,
    upsampler_scale,
)

REQUIRED = (
    "conv_1.eval_conv.weight",
    "block_1.c1_r.eval_conv.weight",
    "block_1.c5.weight",
    "block_1.esa.conv1.weight",
    "block_1.esa.conv3.eval_conv.weight",
    "conv_2.weight",
    "upsampler.0.eval_conv.weight",
)
_BLOCK = re.compile(r"block_(\d+)\.")


def detect(sd: dict[str, torch.Tensor]) -> Conversion | None:
    """A DIPNet-slim-v2 layout; None for any other.

    The state dict has passed the shared checks (:func:`~.registry.shared_checks`: a non-empty dict of
    tensors, no ``module.`` prefix) and holds :data:`REQUIRED`.

    None when the layout's names are absent or the shapes that carry the hyperparameters cannot be
    read; :class:`~.conversion.LayoutMismatch` when they are read but the tensors do not fit.
    """
    names = ("conv_1.eval_conv.weight", "block_1.c1_r.eval_conv.weight", "block_1.esa.conv1.weight",
             "upsampler.0.eval_conv.weight")
    if not are_conv_weights(sd, *names):
        return None
    channels, in_channels = (int(d) for d in sd["conv_1.eval_conv.weight"].shape[:2])
    scale = upsampler_scale(sd["upsampler.0.eval_conv.weight"].shape[0], in_channels)
    if scale is None:
        return None
    kwargs = {
        "in_channels": in_channels,
        "channels": channels,
        "mid_channels": int(sd["block_1.c1_r.eval_conv.weight"].shape[0]),
        "esa_channels": int(sd["block_1.esa.conv1.weight"].shape[0]),
        "num_blocks": max(int(m.group(1)) for key in sd if (m := _BLOCK.match(key))),
        "deploy": True,
    }
    signature = (scale, in_channels, channels, kwargs["mid_channels"], kwargs["esa_channels"], kwargs["num_blocks"])
    layout = (
        "team15_DIPNet_slim_v2.pt (NTIRE 2025 kit), DIPNet-slim-v2 x4" if signature == (4, 3, 32, 32, 16, 4)
        else (f"DIPNet-slim-v2 layout: {kwargs['num_blocks']} blocks, {channels}/{kwargs['mid_channels']} channels, "
              f"ESA {kwargs['esa_channels']}, x{scale}")
    )
    check_layout(sd, "dipnet-slim-v2", scale, kwargs, layout)
    return Conversion(model="dipnet-slim-v2", scale=scale, kwargs=kwargs, state_dict=sd, layout=layout, input_range=1.0)
