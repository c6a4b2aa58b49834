"""Recognise EFDN checkpoints in the deploy layout (``team00_EFDN.pth`` of the NTIRE 2025 kit).

The official module names are distillsr's (:mod:`distillsr.models.efdn`). Channels and the input
channels come from ``head``, the scale from the pixel-shuffle width of ``tail.0``; the four cells
and their wiring are fixed by the architecture, so a file with another number of cells is refused
by the layout check (:func:`~.conversion.check_layout`), naming the tensors. Only the deploy form
is an official layout: a train-form (EDBB) network is saved as a distillsr checkpoint, whose
metadata names it.
"""

from __future__ import annotations

import torch

from distillsr.checkpoints.official.conversion import (
    Conversion,
    are_conv_weights,
    check_layout,
    upsampler_scale,
)

REQUIRED = (
    "head.weight",
    "cells.0.conv1.conv1x1.weight",
    "cells.0.conv2.rep_conv.weight",
    "cells.0.fuse.weight",
    "cells.0.att.conv1.weight",
    "local_fuse.0.weight",
    "tail.0.weight",
)


def detect(sd: dict[str, torch.Tensor]) -> Conversion | None:
    """An EFDN deploy layout: ``head``, ``cells.<i>`` (``conv1``..``conv3``, ``fuse``, ``att``, ``branch``),

    The state dict has passed the shared checks (:func:`~.registry.shared_checks`: a non-empty dict of
    tensors, no ``module.`` prefix) and holds :data:`REQUIRED`.
    ``local_fuse.<i>``, ``tail.0``.

    None when the layout's names are absent or the shapes that carry the hyperparameters cannot be
    read; :class:`~.conversion.LayoutMismatch` when they are read but the tensors do not fit.
    """
    if not are_conv_weights(sd, "head.weight", "tail.0.weight"):
        return None
    channels, in_channels = (int(d) for d in sd["head.weight"].shape[:2])
    scale = upsampler_scale(sd["tail.0.weight"].shape[0], in_channels)
    if scale is None:
        return None
    kwargs = {"in_channels": in_channels, "channels": channels, "deploy": True}
    released = (scale, in_channels, channels) == (4, 3, 48)
    layout = (
        "team00_EFDN.pth (NTIRE 2025 kit), EFDN x4" if released
        else f"EFDN deploy layout (NTIRE 2025 kit): 4 cells x {channels} channels, x{scale}"
    )
    check_layout(sd, "efdn", scale, kwargs, layout)
    return Conversion(model="efdn", scale=scale, kwargs=kwargs, state_dict=sd, layout=layout, input_range=1.0)
