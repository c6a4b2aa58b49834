"""RLFN (Kong et al., CVPRW 2022; ByteESR, NTIRE 2022 efficient SR, first in runtime).

A residual local feature network: ``conv_1`` -> RLFBs (three activated 3x3 convs with a residual,
a 1x1, the light ESA) -> ``conv_2`` + long skip -> conv + PixelShuffle. Every conv has a bias.
Three published configurations (``bytedance/RLFN``, ``model/rlfn.py``, ``rlfn_s.py``,
``rlfn_ntire.py``):

* **RLFN**: 6 blocks x 52 channels (``rlfn_x2.pth``, ``rlfn_x4.pth``);
* **RLFN-S**: 6 blocks x 48 channels (``rlfn_s_x2.pth``, ``rlfn_s_x4.pth``);
* **RLFN-NTIRE** (``RLFN_Prune``, the challenge entry): 4 blocks, 46 trunk / 48 mid channels.

The official test code feeds **0-255** pixels and divides the output by 255 (``test_demo.py``:
``uint2tensor4(img) * 255``), so the weights expect that range.

DIPNet (:mod:`distillsr.models.dipnet`) was built on RLFN: its RRFB *is* the RLFB, with the biases
of the block convs dropped. So RLFN is the DIPNet network with every bias on, and the key layouts
are the same; what a state dict cannot show is the input range (0-255 here, 0-1 for DIPNet), which
is why a bare file in this layout is recognised by its sha256 or named by the user
(:mod:`distillsr.checkpoints.official.dipnet`).
"""

from __future__ import annotations

from distillsr.models.dipnet import DIPNet


class RLFN(DIPNet):
    """RLFN: ``num_blocks`` RLFBs of ``channels`` (``mid_channels`` inside the blocks), ESA
    ``esa_channels``; every conv has a bias. Module names are the official ones (``conv_1``,
    ``block_<i>.c1_r`` .. ``c3_r``, ``c5``, ``esa.*``, ``conv_2``, ``upsampler.0``), so the official
    files load with ``strict=True``; ``scale`` sets the pixel-shuffle width.
    """

    def __init__(
        self,
        scale: int = 4,
        in_channels: int = 3,
        channels: int = 52,
        mid_channels: int | None = None,
        esa_channels: int = 16,
        num_blocks: int = 6,
    ) -> None:
        super().__init__(
            scale=scale,
            in_channels=in_channels,
            channels=channels,
            mid_channels=channels if mid_channels is None else mid_channels,
            esa_channels=esa_channels,
            num_blocks=num_blocks,
            bias=True,
            block_bias=True,
        )
