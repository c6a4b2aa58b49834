"""Recognise RFDN-family checkpoints (``njulj/RFDN``'s ``RFDN_AIM.pth`` and RFDN-layout variants).

The official module names are distillsr's. The hyperparameters are read from tensor shapes
(channels from ``fea_conv``, blocks from the ``B<i>`` names, scale from the pixel-shuffle width,
attention from the names in ``B1``, the CCA reduction from its squeeze width), then the whole state
dict is checked against the network they build (:func:`~.conversion.check_layout`).

One hyperparameter is not in the tensors: the block residual (``x + RFDB(x)``) adds no weights.
It is set from the attention, explicitly, as the two published configurations have it: ESA without
the residual (E-RFDN, the released ``RFDN_AIM.pth``; the author in ``njulj/RFDN`` issue #3), CCA
with it (the paper's RFDN / RFDN-L, methods.md §1.2). An ESA network trained *with* the residual,
saved as a bare state dict, cannot be told apart: save it as a distillsr checkpoint, whose
metadata carries ``block_residual``.
"""

from __future__ import annotations

import re

import torch

from distillsr.checkpoints.official.conversion import (
    Conversion,
    LayoutMismatch,
    are_conv_weights,
    check_layout,
    upsampler_scale,
    zoo_name,
)

REQUIRED = ("fea_conv.weight", "B1.c1_d.weight", "B1.c1_r.weight", "c.0.weight", "upsampler.0.weight")
_ESA = "B1.esa.conv1.weight"
_CCA = "B1.cca.conv_du.0.weight"
_BLOCK = re.compile(r"B(\d+)\.")
DEFAULT_CCA_REDUCTION = 4  # the paper RFDN's (zoo ``rfdn`` / ``rfdn-l``)


def _cca_reduction(channels: int, squeeze: torch.Tensor) -> int:
    """A reduction ``r`` with ``max(1, channels // r)`` equal to the CCA squeeze width.

    Several ``r`` give the same width (and so the same network); the paper's 4 is preferred when it
    fits, so a paper-shaped file reads back with the kwargs it was built with. A squeeze tensor that
    is not a conv weight, or a width no ``r`` gives, keeps 4: the layout check then names the tensor.
    """
    if squeeze.dim() != 4:
        return DEFAULT_CCA_REDUCTION
    hidden = int(squeeze.shape[0])
    if max(1, channels // DEFAULT_CCA_REDUCTION) == hidden:
        return DEFAULT_CCA_REDUCTION
    if hidden >= 1 and channels // hidden >= 1 and max(1, channels // (channels // hidden)) == hidden:
        return channels // hidden
    return DEFAULT_CCA_REDUCTION


def detect(sd: dict[str, torch.Tensor]) -> Conversion | None:
    """An RFDN layout: ``fea_conv``, blocks ``B<i>`` with ``c1_d``/``c1_r``, ``c.0``, ``LR_conv``.

    The state dict has passed the shared checks (:func:`~.registry.shared_checks`: a non-empty dict of
    tensors, no ``module.`` prefix) and holds :data:`REQUIRED`.

    None when the layout's names are absent or the shapes that carry the hyperparameters cannot be
    read; :class:`~.conversion.LayoutMismatch` when they are read but the tensors do not fit.
    """
    if any(".dy_branch." in key or "dbb_" in key for key in sd):
        return None  # DDistill-SR reuses these names
    if not are_conv_weights(sd, "fea_conv.weight", "c.0.weight", "upsampler.0.weight"):
        return None
    num_blocks = max(int(m.group(1)) for key in sd if (m := _BLOCK.match(key)))
    channels, in_channels = (int(d) for d in sd["fea_conv.weight"].shape[:2])
    scale = upsampler_scale(sd["upsampler.0.weight"].shape[0], in_channels)
    if scale is None:
        return None
    layout = f"RFDN layout (njulj/RFDN): {num_blocks} blocks x {channels} channels"
    if _ESA in sd:
        attention = "esa"
    elif _CCA in sd:
        attention = "cca"
    else:
        raise LayoutMismatch(f"recognised as {layout}, but block B1 has no attention tensors ({_ESA} or {_CCA})")
    kwargs: dict = {
        "in_channels": in_channels,
        "channels": channels,
        "num_blocks": num_blocks,
        "attention": attention,
        "block_residual": attention == "cca",  # not in the tensors: see the module docstring
    }
    if attention == "cca":
        kwargs["cca_reduction"] = _cca_reduction(channels, sd[_CCA])
    name = zoo_name(("e-rfdn",) if attention == "esa" else ("rfdn-l", "rfdn"), kwargs)
    residual = "block residual" if kwargs["block_residual"] else "no block residual"
    layout = f"{layout}, {attention.upper()}, {residual}, x{scale}"
    check_layout(sd, name, scale, kwargs, layout)
    from distillsr.models.zoo import get_entry

    return Conversion(
        model=name,
        scale=scale,
        kwargs=kwargs,
        state_dict=sd,
        layout=layout,
        input_range=get_entry(name).input_range,  # E-RFDN was trained on 0-255 inputs (methods.md §0)
    )
