"""Recognise IMDN checkpoints (``Zheng222/IMDN``'s ``IMDN_x{2,3,4}.pth``, keys prefixed ``module.``).

The module names under the prefix are distillsr's. Channels come from ``fea_conv``, blocks from
the ``IMDB<i>`` names, the scale from the pixel-shuffle width; the distillation rate (1/4) and the
CCA reduction (16) are fixed by the architecture, so a file with other inner widths is refused by
the layout check (:func:`~.conversion.check_layout`), which names the tensors that do not fit.
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

REQUIRED = ("fea_conv.weight", "IMDB1.c1.weight", "IMDB1.cca.conv_du.0.weight", "upsampler.0.weight")
_BLOCK = re.compile(r"IMDB(\d+)\.")


def detect(sd: dict[str, torch.Tensor]) -> Conversion | None:
    """An IMDN layout: ``fea_conv``, blocks ``IMDB<i>`` with ``c1``..``c5`` and ``cca``, ``c.0``.

    The state dict has passed the shared checks (:func:`~.registry.shared_checks`: a non-empty dict of
    tensors, no ``module.`` prefix) and holds :data:`REQUIRED`.

    None when the layout's names are absent or the shapes that carry the hyperparameters cannot be
    read; :class:`~.conversion.LayoutMismatch` when they are read but the tensors do not fit.
    """
    if not are_conv_weights(sd, "fea_conv.weight", "IMDB1.cca.conv_du.0.weight", "upsampler.0.weight"):
        return None
    num_blocks = max(int(m.group(1)) for key in sd if (m := _BLOCK.match(key)))
    channels, in_channels = (int(d) for d in sd["fea_conv.weight"].shape[:2])
    scale = upsampler_scale(sd["upsampler.0.weight"].shape[0], in_channels)
    if scale is None:
        return None
    kwargs = {"in_channels": in_channels, "channels": channels, "num_blocks": num_blocks}
    layout = f"IMDN layout (Zheng222/IMDN): {num_blocks} blocks x {channels} channels, x{scale}"
    check_layout(sd, "imdn", scale, kwargs, layout)
    return Conversion(model="imdn", scale=scale, kwargs=kwargs, state_dict=sd, layout=layout, input_range=1.0)
