"""Recognise IMDN checkpoints (``Zheng222/IMDN``'s ``IMDN_x{2,3,4}.pth``, keys prefixed ``module.``)."""

from __future__ import annotations

import re

import torch

from distillsr.checkpoints.official.conversion import (
    Conversion,
    are_conv_weights,
    strip_prefix,
    upsampler_scale,
)


def detect(state_dict: dict[str, torch.Tensor]) -> Conversion | None:
    """An IMDN layout: ``fea_conv``, blocks ``IMDB<i>`` with ``c1``..``c5`` and ``cca``, ``c.0``."""
    sd = strip_prefix(state_dict)
    if not {"fea_conv.weight", "IMDB1.c1.weight", "IMDB1.cca.conv_du.0.weight", "upsampler.0.weight"} <= set(sd):
        return None
    if not are_conv_weights(sd, "fea_conv.weight", "IMDB1.cca.conv_du.0.weight", "upsampler.0.weight"):
        return None
    num_blocks = max(int(m.group(1)) for key in sd if (m := re.match(r"IMDB(\d+)\.", key)))
    channels, in_channels = sd["fea_conv.weight"].shape[:2]
    scale = upsampler_scale(sd["upsampler.0.weight"].shape[0], in_channels)
    if scale is None:
        return None
    return Conversion(
        model="imdn",
        scale=scale,
        kwargs={"in_channels": int(in_channels), "channels": int(channels), "num_blocks": num_blocks},
        state_dict=sd,
        layout=f"IMDN layout (Zheng222/IMDN): {num_blocks} blocks x {channels} channels, x{scale}",
        input_range=1.0,
    )
