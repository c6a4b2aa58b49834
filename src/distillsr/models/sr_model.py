"""The model object the rest of distillsr works with: a network plus its contract.

A raw ``nn.Module`` does not say what scale it upscales by, what value range it expects (E-RFDN
was trained on 0-255, most others on 0-1) or how many channels it takes. :class:`SRModel` carries
those facts so that callers always pass images in [0, 1] and never guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn

from distillsr.errors import DistillsrError


@dataclass
class SRModel:
    """A network with its scale, input value range and channel count.

    Calling it takes and returns ``(N, C, H, W)`` tensors in [0, 1]; scaling to the network's own
    range happens here, once.
    """

    network: nn.Module
    name: str
    scale: int
    input_range: float = 1.0
    in_channels: int | None = 3  # None: any number of channels (e.g. bicubic)
    metadata: dict = field(default_factory=dict)
    min_size: int = 1  # smallest input side the network accepts (ESA needs 15 px)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4:
            raise DistillsrError(f"{self.name} expects an (N, C, H, W) tensor, got shape {tuple(x.shape)}")
        if self.in_channels is not None and x.shape[1] != self.in_channels:
            raise DistillsrError(f"{self.name} takes {self.in_channels} channels, got {x.shape[1]}")
        if min(x.shape[-2:]) < self.min_size:
            raise DistillsrError(
                f"{self.name} needs inputs of at least {self.min_size}x{self.min_size} pixels, got {tuple(x.shape[-2:])}"
            )
        if self.input_range != 1.0:
            return self.network(x * self.input_range) / self.input_range
        return self.network(x)

    def to(self, device: torch.device | str) -> "SRModel":
        self.network.to(device)
        return self

    def eval(self) -> "SRModel":
        self.network.eval()
        return self

    def set_width(self, width: float) -> "SRModel":
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
