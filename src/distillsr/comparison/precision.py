"""A model running at a named precision, through the same fast path ``distillsr upscale`` uses.

Used for the timings: fp32 is the model exactly as ``distillsr profile`` times it (NCHW, eager);
bf16 and fp16 go through :mod:`distillsr.inference.fast_path` (autocast, channels-last on the
CPU), so a reduced-precision runtime is the one a user of ``upscale --precision`` gets. (Scores
are ``distillsr eval``'s own, at the same precision: :func:`~distillsr.evaluation.runner.evaluate_set`.)
"""

from __future__ import annotations

import copy
import dataclasses

import torch
from torch import nn

from distillsr.inference.fast_path import prepare_network
from distillsr.inference.forward import forward
from distillsr.inference.precision_names import Precision
from distillsr.models.sr_model import SRModel


class FastPathNetwork(nn.Module):
    """A network called under the fast path's autocast and memory layout; its output is float32.

    An ``nn.Module`` (rather than a function) so that the efficiency tools (runtime, memory) time
    it exactly as they time any network.
    """

    def __init__(self, network: nn.Module, precision: Precision, device: torch.device) -> None:
        super().__init__()
        self.network = prepare_network(network, device)
        self.precision = precision
        self.target = device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return forward(self.network, x, self.precision, self.target)


def at_precision(model: SRModel, precision: Precision, device: torch.device) -> SRModel:
    """``model`` on ``device`` computing at ``precision``: itself for fp32, a fast-path copy otherwise.

    The copy has its own network (channels-last is set in place), so ``model`` stays as eval runs it.
    """
    model = model.to(device).eval()
    if precision == "fp32":
        return model
    return dataclasses.replace(model, network=FastPathNetwork(copy.deepcopy(model.network), precision, device))
