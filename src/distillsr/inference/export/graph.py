"""The graph that gets traced: what may be exported, and the deploy form with [0, 1] baked in.

* **Deploy form.** The network is deep-copied and :func:`~distillsr.nn.reparam.deploy`-ed before
  tracing, so train-time branches (DBB and its BatchNorms, RRRB) never reach the graph; the
  caller's model is left untouched. Slimmable (CSD) models are exported at their current width,
  and the constant folding keeps only the active weight slices.
* **[0, 1] images.** The input-range scaling that :class:`SRModel` does in Python (E-RFDN and the
  CSD models expect 0-255) is part of the graph, so ONNX users never need to know about it.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.models.sr_model import SRModel, unit_range_call

DEFAULT_OPSET = 17  # runs on onnxruntime >= 1.11, TensorRT 8.6, OpenVINO 2022+
MIN_OPSET = 11  # ESA's bilinear Resize matches PyTorch only from opset 11
MAX_OPSET = 20  # the highest the TorchScript exporter writes
INPUT_NAME = "input"
OUTPUT_NAME = "output"
TRACE_SIZE = 32  # the tracing input's side (at least the model's min_size); shapes stay symbolic

# Models whose forward computes in NumPy from the input size, so no traced graph generalises.
NOT_EXPORTABLE = {
    "bicubic": (
        "MATLAB-bicubic resize weights are computed in NumPy for each input size (imresize_torch), so a "
        "traced graph would only work at one size; use ONNX Resize (mode=cubic) for a bicubic baseline"
    ),
}


class ImageGraph(nn.Module):
    """A network with its input range baked in: [0, 1] images in, [0, 1] images out.

    The arithmetic is exactly :meth:`SRModel.__call__`'s, so the graph matches the PyTorch model
    to float rounding rather than merely approximately.
    """

    def __init__(self, network: nn.Module, input_range: float) -> None:
        super().__init__()
        self.network = network
        self.input_range = float(input_range)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return unit_range_call(self.network, x, self.input_range)


def deployed_graph(model: SRModel) -> ImageGraph:
    """A folded float32 CPU copy of ``model``'s network, wrapped to take [0, 1] images.

    A copy, because :func:`deploy` folds in place and the caller may keep training its model.
    """
    from distillsr.nn.reparam import deploy

    network = copy.deepcopy(model.network).to("cpu", torch.float32)
    return ImageGraph(deploy(network), model.input_range).eval()


def check_exportable(model: SRModel, opset: int, atol: float) -> None:
    """Refuse, in one line, what cannot work, before any copying or tracing is spent on it."""
    if not isinstance(model, SRModel):
        raise DistillsrError(f"export_onnx takes an SRModel (see distillsr.models.zoo.load_model), not {type(model).__name__}")
    reason = NOT_EXPORTABLE.get(model.name)
    if reason is not None:
        raise DistillsrError(f"{model.name} cannot be exported to ONNX: {reason}")
    if not isinstance(opset, int) or isinstance(opset, bool) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise DistillsrError(f"opset must be an integer from {MIN_OPSET} to {MAX_OPSET}, got {opset!r}")
    if not isinstance(atol, (int, float)) or not 0 <= atol < float("inf"):
        raise DistillsrError(f"the tolerance must be a non-negative number, got {atol!r}")


def trace_input(model: SRModel) -> torch.Tensor:
    """A deterministic non-square input, so a height/width mix-up in the trace cannot go unnoticed."""
    side = max(TRACE_SIZE, model.min_size)
    generator = torch.Generator().manual_seed(0)
    return torch.rand(1, model.in_channels or 3, side, side + 8, generator=generator)
