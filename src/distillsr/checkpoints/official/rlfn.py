"""The RLFN reading of the RLFB layout (``bytedance/RLFN``: ``rlfn_x{2,4}.pth``, ``rlfn_s_x{2,4}.pth``,
``rlfn_ntire_x4.pth``).

RLFN's files have DIPNet's keys (DIPNet was built on RLFN) with every conv biased, so the layout is
read once, by :mod:`.dipnet`; a file with biases in the trunk *and* in the blocks is RLFN-shaped and
is offered both as RLFN (0-255 input) and as DIPNet (0-1) through
:class:`~.conversion.AmbiguousLayout`: nothing in the tensors says which. This module builds the
RLFN reading: the zoo name the widths fit (``rlfn``, ``rlfn-s``, ``rlfn-ntire``), its kwargs and
its input range. The released files themselves are known by their sha256 (:mod:`.known`).
"""

from __future__ import annotations

import torch

from distillsr.checkpoints.official.conversion import Conversion, zoo_name

#: Every zoo name that builds an RLFN (one constructor); the last is the general one.
NAMES = ("rlfn-s", "rlfn-ntire", "rlfn")


def fits(config: dict) -> bool:
    """Whether the RLFB-layout hyperparameters read by :mod:`.dipnet` are an RLFN's (all convs biased)."""
    return bool(config["bias"] and config["block_bias"])


def kwargs_of(config: dict) -> dict:
    """RLFN's constructor kwargs from the layout's (it has no bias switches: every conv has one)."""
    keys = ("in_channels", "channels", "mid_channels", "esa_channels", "num_blocks")
    return {key: config[key] for key in keys}


def describe(scale: int, kwargs: dict) -> str:
    """The layout as the refusal names it (RLFN and DIPNet readings alike)."""
    return (
        f"RLFB layout ({kwargs['num_blocks']} blocks, {kwargs['channels']}/{kwargs['mid_channels']} channels, "
        f"ESA {kwargs['esa_channels']}, every conv biased), x{scale}"
    )


def conversion(state_dict: dict[str, torch.Tensor], scale: int, config: dict, layout: str) -> Conversion:
    """The RLFN reading of a state dict in the RLFB layout (already checked by the caller)."""
    from distillsr.models.zoo import get_entry

    kwargs = kwargs_of(config)
    model = zoo_name(NAMES, kwargs)
    return Conversion(
        model=model,
        scale=scale,
        kwargs=kwargs,
        state_dict=dict(state_dict),
        layout=layout,
        input_range=get_entry(model).input_range,
    )
