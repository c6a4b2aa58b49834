"""Recognise SPAN checkpoints in the deploy layout of the NTIRE 2025 kit (``team46_span.pth``).

The official module names are distillsr's (:mod:`distillsr.models.span`): every Conv3XC is its
folded ``eval_conv``. Channels come from ``conv_1``, the width of the concatenation's 1x1 from
``conv_cat``, the blocks from the ``block_<i>`` names, the scale from the pixel-shuffle width
(the files are BasicSR's ``{"params", "params_ema"}``; the reader takes ``params_ema``). SPAN
centres its input on the DIV2K mean and multiplies it by 255 inside the network, so the file takes
0-1 pixels; that constant is not in the state dict, and every released SPAN uses it.
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
    "conv_cat.weight",
    "conv_2.eval_conv.weight",
    "upsampler.0.weight",
)
_BLOCK = re.compile(r"block_(\d+)\.")


def detect(sd: dict[str, torch.Tensor]) -> Conversion | None:
    """A SPAN deploy layout: ``conv_1``, ``block_<i>.c{1,2,3}_r`` (``eval_conv``), ``conv_cat``, ``conv_2``, ``upsampler.0``.

    The state dict has passed the shared checks (:func:`~.registry.shared_checks`: a non-empty dict of
    tensors, no ``module.`` prefix) and holds :data:`REQUIRED`.

    None when the layout's names are absent or the shapes that carry the hyperparameters cannot be
    read; :class:`~.conversion.LayoutMismatch` when they are read but the tensors do not fit.
    """
    if not are_conv_weights(sd, "conv_1.eval_conv.weight", "conv_cat.weight", "upsampler.0.weight"):
        return None
    channels, in_channels = (int(d) for d in sd["conv_1.eval_conv.weight"].shape[:2])
    scale = upsampler_scale(sd["upsampler.0.weight"].shape[0], in_channels)
    if scale is None:
        return None
    num_blocks = max(int(m.group(1)) for key in sd if (m := _BLOCK.match(key)))
    kwargs = {
        "in_channels": in_channels,
        "channels": channels,
        "cat_channels": int(sd["conv_cat.weight"].shape[0]),
        "num_blocks": num_blocks,
        "deploy": True,
    }
    released = (scale, in_channels, channels, kwargs["cat_channels"], num_blocks) == (4, 3, 28, 20, 6)
    layout = (
        "team46_span.pth (NTIRE 2025 kit), SPAN x4" if released
        else f"SPAN deploy layout: {num_blocks} blocks x {channels} channels, conv_cat to {kwargs['cat_channels']}, x{scale}"
    )
    check_layout(sd, "span", scale, kwargs, layout)
    return Conversion(model="span", scale=scale, kwargs=kwargs, state_dict=sd, layout=layout, input_range=1.0)
