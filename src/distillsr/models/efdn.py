"""EFDN (Wang, CVPRW 2022): the edge-enhanced feature distillation network, the NTIRE 2025/2026
efficient-SR baseline (``Amazingren/NTIRE2025_ESR``, ``models/team00_EFDN.py``).

``head`` (3x3) -> four cells -> local 1x1 fusions -> long skip -> ``tail`` (3x3 + PixelShuffle),
output clamped to [0, 1] as in the official code. A cell is a distillation chain:

* ``conv1``: 1x1 + PReLU; ``conv2``, ``conv3``: 3x3 + PReLU (EDBBs when training);
* four 1x1 taps (``branch.0`` .. ``branch.3``, to half width) of the input and the three outputs,
  concatenated, fused by a 1x1 (``fuse``), re-weighted by the full ESA (``att``), plus the input.

The cells are wired as in the official forward: cell 2 takes cell 1's output, cell 3 the fusion of
cells 1 and 2, cell 4 the fusion of cells 2 and 3, and the last fusion joins cells 2 and 4 (cell 2's
output feeds all three fusions). The four cells and that wiring are the architecture, so they are
not hyperparameters.

The train form (``deploy=False``) makes ``conv2`` and ``conv3`` of every cell an
:class:`~distillsr.nn.edbb.EDBB`; :func:`distillsr.nn.reparam.deploy` folds it into the deploy form,
key for key the official ``team00_EFDN.pth`` layout. Input range 0-1.
"""

from __future__ import annotations

import torch
from torch import nn

from distillsr.nn.attention import ESA
from distillsr.nn.edbb import edge_conv3x3
from distillsr.nn.upsample import pixel_shuffle_tail

NUM_CELLS = 4


class Conv1x1PReLU(nn.Module):
    """A 1x1 conv and a per-channel PReLU (the official ``conv`` module: ``conv1x1``, ``act``)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.conv1x1 = nn.Conv2d(channels, channels, 1)
        self.act = nn.PReLU(num_parameters=channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.conv1x1(x))


class Cell(nn.Module):
    """EFDN's cell: 1x1 -> 3x3 -> 3x3 (each activated), four half-width taps fused, ESA, residual."""

    def __init__(self, channels: int, *, deploy: bool = True) -> None:
        super().__init__()
        half = channels // 2
        self.conv1 = Conv1x1PReLU(channels)
        self.conv2 = edge_conv3x3(channels, channels, deploy=deploy)
        self.conv3 = edge_conv3x3(channels, channels, deploy=deploy)
        self.fuse = nn.Conv2d(4 * half, channels, 1)
        self.att = ESA(channels, channels // 4)
        self.branch = nn.ModuleList(nn.Conv2d(channels, half, 1) for _ in range(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = self.conv1(x)
        out2 = self.conv2(out1)
        out3 = self.conv3(out2)
        taps = [branch(h) for branch, h in zip(self.branch, (x, out1, out2, out3))]
        return self.att(self.fuse(torch.cat(taps, dim=1))) + x


class EFDN(nn.Module):
    """EFDN with ``channels`` features (48 in the released model); ``deploy`` picks the form of the
    cells' 3x3 convs (plain + PReLU, or EDBB)."""

    def __init__(self, scale: int = 4, in_channels: int = 3, channels: int = 48, deploy: bool = True) -> None:
        super().__init__()
        if channels < 4:
            raise ValueError(f"EFDN needs at least 4 channels (its ESA works at a quarter width), got {channels}")
        self.scale = scale
        self.head = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.cells = nn.ModuleList(Cell(channels, deploy=deploy) for _ in range(NUM_CELLS))
        self.local_fuse = nn.ModuleList(nn.Conv2d(2 * channels, channels, 1) for _ in range(NUM_CELLS - 1))
        self.tail = pixel_shuffle_tail(channels, in_channels, scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shallow = self.head(x)
        out1 = self.cells[0](shallow)
        out2 = self.cells[1](out1)
        fused = self.local_fuse[0](torch.cat([out1, out2], dim=1))
        out3 = self.cells[2](fused)
        fused = self.local_fuse[1](torch.cat([out2, out3], dim=1))
        out4 = self.cells[3](fused)
        fused = self.local_fuse[2](torch.cat([out2, out4], dim=1))
        return self.tail(fused + shallow).clamp(0, 1)
