"""Recognise icandle/DDistill-SR checkpoints, deploy (``*_inference.pth``) or train-time form.

The official module names are distillsr's, so conversion is a read of the hyperparameters from
tensor shapes followed by the exact check every family runs (:func:`~.conversion.check_layout`):
the implied :class:`~distillsr.models.ddistill.DDistillSR` is built on the meta device and its keys
and shapes must equal the checkpoint's, or the tensors that differ are named. The first gate is
the dynamic branch (``dy_branch``), which no RFDN / IMDN / DIPNet checkpoint has although they
share names such as ``fea_conv``, ``B1.c1_r`` and ``esa.conv1``.
"""

from __future__ import annotations

import re

import torch

from distillsr.checkpoints.official.conversion import (
    Conversion,
    check_layout,
    upsampler_scale,
)

_DYNAMIC = "B1.c1_r.unit.dy_branch.q.weight"
REQUIRED = (_DYNAMIC,)  # the names the shared checks look for before this detector is asked
_DEPLOY = "B1.c1_r.unit.dbb_reparam.weight"
_TRAIN = "B1.c1_r.unit.dbb_origin.conv.weight"
_UPSAMPLER = re.compile(r"upsamplerx(\d+)\.0\.weight")
_BLOCK = re.compile(r"B(\d+)\.")

# (in_channels, channels, num_blocks, fusion_rank, scale) of the released checkpoint.
_RELEASED = (3, 56, 4, 16, 4)


def _count_blocks(state_dict: dict[str, torch.Tensor]) -> int:
    """The highest ``B<i>`` index: a block with a tensor missing still counts, so the check names that tensor."""
    return max((int(m.group(1)) for key in state_dict if (m := _BLOCK.match(key))), default=0)


def _read_config(state_dict: dict[str, torch.Tensor]) -> dict | None:
    """Constructor kwargs implied by the key names and shapes, or None when they do not fit."""
    if "fea_conv.weight" not in state_dict:
        return None
    deploy = _DEPLOY in state_dict
    if deploy == (_TRAIN in state_dict):
        return None  # neither form, or a mixture of both
    scales = [int(m.group(1)) for key in state_dict if (m := _UPSAMPLER.fullmatch(key))]
    if len(scales) != 1:
        return None
    scale = scales[0]
    fea_conv, q, tail = state_dict["fea_conv.weight"], state_dict[_DYNAMIC], state_dict[f"upsamplerx{scale}.0.weight"]
    if fea_conv.dim() != 4 or q.dim() != 4 or tail.dim() != 4:
        return None
    channels, in_channels = (int(d) for d in fea_conv.shape[:2])
    if upsampler_scale(tail.shape[0], in_channels) != scale:
        return None  # the name and the pixel-shuffle width disagree
    return {
        "scale": scale,
        "in_channels": in_channels,
        "channels": channels,
        "num_blocks": _count_blocks(state_dict),
        "fusion_rank": int(q.shape[0]),
        "deploy": deploy,
    }


def _describe(kwargs: dict) -> str:
    form = "deploy" if kwargs["deploy"] else "train-time"
    signature = (kwargs["in_channels"], kwargs["channels"], kwargs["num_blocks"], kwargs["fusion_rank"], kwargs["scale"])
    if kwargs["deploy"] and signature == _RELEASED:
        return "DDistill-SR deploy (icandle/DDistill-SR), DDistill-SRx4_inference.pth configuration"
    return (
        f"DDistill-SR {form} (icandle/DDistill-SR): {kwargs['num_blocks']} blocks x {kwargs['channels']} channels, "
        f"L = {kwargs['fusion_rank']}, x{kwargs['scale']}"
    )


def detect(state_dict: dict[str, torch.Tensor]) -> Conversion | None:
    """A :class:`Conversion` for a DDistill-SR state dict (either form); None for any other layout.

    The state dict has passed the shared checks (:func:`~.registry.shared_checks`: a non-empty dict of
    tensors, no ``module.`` prefix) and holds :data:`REQUIRED`.

    None when the layout's names are absent or the shapes that carry the hyperparameters cannot be
    read; :class:`~.conversion.LayoutMismatch` when they are read but the tensors do not fit.
    """
    config = _read_config(state_dict)
    if config is None or config["num_blocks"] < 1:
        return None
    layout = _describe(config)
    scale = config.pop("scale")
    check_layout(state_dict, "ddistill-sr", scale, config, layout)
    return Conversion(
        model="ddistill-sr",
        scale=scale,
        kwargs=config,
        state_dict=dict(state_dict),
        layout=layout,
        input_range=1.0,
    )
