"""The model object the rest of distillsr works with: a network plus its contract.

A raw ``nn.Module`` does not say what scale it upscales by, what value range it expects (E-RFDN
was trained on 0-255, most others on 0-1), how many channels it takes, how small an input it can
run on, which dtypes it computes in, or how it may be tiled. :class:`SRModel` carries those facts
and is the one place that applies them, so training, export and inference never keep copies:

* **value range** — :func:`unit_range_call` (callers always speak [0, 1]; a 0-255 network sees
  ``x * 255`` and its output is divided back). Training wraps networks with it
  (:class:`~distillsr.training.loop.ScaledInput`), export bakes it into the graph
  (:class:`~distillsr.inference.export.graph.ImageGraph`);
* **size** — :func:`padded_to_minimum`: an input smaller than the network's minimum (ESA's strided
  pooling needs 15 px) is padded up to it and the output cropped back, rather than refused;
* **dtypes** — :attr:`SRModel.dtypes`, the compute dtypes the network is known to run in;
* **tiling** — :attr:`SRModel.tiling`, a :class:`TilingHint` read from the network's layers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.errors import DistillsrError

#: Compute dtypes a convolutional SR network runs in: float32, float64 (exact checks such as folding),
#: and the reduced precisions that CUDA autocast uses.
DEFAULT_DTYPES: tuple[torch.dtype, ...] = (torch.float32, torch.float64, torch.float16, torch.bfloat16)

#: How a too-small input is grown to the minimum: edge replication. Reflection cannot grow a side
#: to more than twice its length minus one (a 4-px image never reaches 15), and zeros would put a
#: black frame into what ESA max-pools and what CCA / dynamic branches average over the image.
#: Replication works from a single pixel and invents no new structure.
PAD_MODE = "replicate"


def unit_range_call(network: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, input_range: float) -> torch.Tensor:
    """Run ``network`` (trained on 0-``input_range`` values) on ``x`` in [0, 1]; the result is in [0, 1].

    The one copy of this arithmetic: :class:`SRModel`, the training wrapper and the exported graph
    all call it, so a model behaves identically to the float rounding wherever it runs.
    """
    if input_range != 1.0:
        return network(x * input_range) / input_range
    return network(x)


def padded_to_minimum(
    forward: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, min_size: int, scale: int
) -> torch.Tensor:
    """``forward(x)``, with a side shorter than ``min_size`` first padded to it and the output cropped.

    Padding goes on the bottom and the right only, so the top-left origin, and with it the grid
    that strided layers (ESA: period 6) sample, stays where it is; the crop then keeps exactly the
    ``scale`` x input area. See :data:`PAD_MODE` for why the padding replicates the edges.
    """
    height, width = x.shape[-2:]
    if min(height, width) >= min_size:
        return forward(x)
    padded = F.pad(x, (0, max(0, min_size - width), 0, max(0, min_size - height)), mode=PAD_MODE)
    return forward(padded)[..., : height * scale, : width * scale]


@dataclass(frozen=True)
class TilingHint:
    """What tiled inference must respect to reproduce the untiled output.

    * ``min_size`` — every window a tile hands the network must be at least this large, so the
      context around a tile is never smaller than it;
    * ``align`` — windows start on multiples of this (the period of strided grids: 6 for ESA),
      so a tile samples the same grid as the whole image;
    * ``pools_globally`` — some layer averages over the whole feature map (CCA, DCD): tiles then
      need a first pass that gathers whole-image statistics; a model without such layers is
      *local*, and one pass with enough context is exact.

    No preferred tile side is given: the right side depends on the device's free memory, which
    the upscaler measures (``tile="auto"``).
    """

    min_size: int = 1
    align: int = 1
    pools_globally: bool = False

    @property
    def local(self) -> bool:
        return not self.pools_globally

    def passes(self, requested: int) -> int:
        """Passes worth running: the requested number for a globally pooling model, else one."""
        return requested if self.pools_globally else 1

    def pad(self, requested: int) -> int:
        """Context per side: the requested pad, but never less than the minimum window."""
        return max(requested, self.min_size)


def tiling_hint_of(network: nn.Module | None, min_size: int = 1) -> TilingHint:
    """The :class:`TilingHint` of a network, read from what its layers declare.

    Layers declare ``GRID`` (the period of their strided sampling) and ``pools_globally``; a
    backend without an inspectable network (an ONNX graph) gets only its ``min_size``.
    """
    if network is None:
        return TilingHint(min_size=min_size)
    align, pools = 1, False
    for module in network.modules():
        grid = getattr(module, "GRID", None)
        if isinstance(grid, int) and grid > 1:
            align = math.lcm(align, grid)
        pools = pools or bool(getattr(module, "pools_globally", False))
    return TilingHint(min_size=min_size, align=align, pools_globally=pools)


@dataclass
class SRModel:
    """A network with its scale, input value range, channel count, minimum size and dtypes.

    Calling it takes and returns ``(N, C, H, W)`` tensors in [0, 1]; scaling to the network's own
    range, and padding inputs smaller than ``min_size``, happen here, once. The output always
    has ``scale`` times the input's height and width.
    """

    network: nn.Module
    name: str
    scale: int
    input_range: float = 1.0
    in_channels: int | None = 3  # None: any number of channels (e.g. bicubic)
    metadata: dict = field(default_factory=dict)
    min_size: int = 1  # smallest input side the network runs on (ESA needs 15 px); smaller ones are padded
    dtypes: tuple[torch.dtype, ...] = DEFAULT_DTYPES

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return padded_to_minimum(self.forward_unit_range, x, self.min_size, self.scale)

    def forward_unit_range(self, x: torch.Tensor) -> torch.Tensor:
        """The network on [0, 1] values, without the input checks or the padding."""
        return unit_range_call(self.network, x, self.input_range)

    def check_input(self, x: torch.Tensor) -> None:
        """One-line errors for what no padding can fix: the layout, the channels, the dtype."""
        if x.ndim != 4:
            raise DistillsrError(f"{self.name} expects an (N, C, H, W) tensor, got shape {tuple(x.shape)}")
        if self.in_channels is not None and x.shape[1] != self.in_channels:
            raise DistillsrError(f"{self.name} takes {self.in_channels} channels, got {x.shape[1]}")
        if min(x.shape[-2:]) < 1:
            raise DistillsrError(f"{self.name} got an empty image of {tuple(x.shape[-2:])} pixels")
        if x.dtype not in self.dtypes:
            names = ", ".join(str(d).removeprefix("torch.") for d in self.dtypes)
            raise DistillsrError(f"{self.name} computes in {names}, not {str(x.dtype).removeprefix('torch.')}")

    @property
    def tiling(self) -> TilingHint:
        """How to tile this model faithfully (read from the network, so it follows folding and pruning)."""
        return tiling_hint_of(self.network, self.min_size)

    def to(self, device: torch.device | str) -> SRModel:
        self.network.to(device)
        return self

    def eval(self) -> SRModel:
        self.network.eval()
        return self

    def set_width(self, width: float) -> SRModel:
        """Run a channel-splitting (CSD) model at ``width``; other models refuse."""
        setter = getattr(self.network, "set_width", None)
        if setter is None:
            raise DistillsrError(f"{self.name} is not a channel-splitting model: it has no widths")
        setter(width)
        return self

    @property
    def device(self) -> torch.device:
        for tensor in self.network.parameters():
            return tensor.device
        return torch.device("cpu")
