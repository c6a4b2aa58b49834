"""Recognise RFDN-family checkpoints (``njulj/RFDN``'s ``RFDN_AIM.pth`` and RFDN-layout variants)."""

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
    """An RFDN layout: ``fea_conv``, blocks ``B<i>`` with ``c1_d``/``c1_r``, ``c.0``, ``LR_conv``."""
    sd = strip_prefix(state_dict)
    if not {"fea_conv.weight", "B1.c1_d.weight", "B1.c1_r.weight", "c.0.weight", "upsampler.0.weight"} <= set(sd):
        return None
    if any(".dy_branch." in key or "dbb_" in key for key in sd):
        return None  # DDistill-SR reuses these names
    if not are_conv_weights(sd, "fea_conv.weight", "c.0.weight", "upsampler.0.weight"):
        return None
    num_blocks = max(int(m.group(1)) for key in sd if (m := re.match(r"B(\d+)\.", key)))
    channels = sd["fea_conv.weight"].shape[0]
    in_channels = sd["fea_conv.weight"].shape[1]
    scale = upsampler_scale(sd["upsampler.0.weight"].shape[0], in_channels)
    if scale is None:
        return None
    attention = "esa" if "B1.esa.conv1.weight" in sd else "cca" if "B1.cca.conv_du.0.weight" in sd else None
    if attention is None:
        return None
    kwargs: dict = {"in_channels": in_channels, "channels": channels, "num_blocks": num_blocks, "attention": attention}
    if attention == "cca":
        kwargs["cca_reduction"] = channels // sd["B1.cca.conv_du.0.weight"].shape[0]
    # The released E-RFDN (4 x 50, ESA) has no block residual; the layout cannot tell, so the
    # zoo entry's default for the recognised configuration decides.
    is_e_rfdn = attention == "esa"
    name = "e-rfdn" if is_e_rfdn else "rfdn"
    return Conversion(
        model=name,
        scale=scale,
        kwargs=kwargs,
        state_dict=sd,
        layout=f"RFDN layout (njulj/RFDN): {num_blocks} blocks x {channels} channels, {attention.upper()}, x{scale}",
        input_range=255.0 if is_e_rfdn else 1.0,
    )
