"""The NTIRE efficient-SR challenge kit's "FLOPs", reproduced rule by rule.

The kit (``utils/model_summary.py`` of the NTIRE ESR starter kits, also in ``xiumu00/DIPNet``)
hooks modules and adds, per call:

* ``Conv2d`` / ``ConvTranspose2d`` — ``k_h * k_w * in_channels * (out_channels // groups)`` per
  output position (no bias term);
* ``ReLU``, ``PReLU``, ``ELU``, ``LeakyReLU``, ``ReLU6`` — the output's element count;
* ``Linear`` — ``batch * in_features * out_features``; ``BatchNorm2d`` — its output's element
  count, twice when affine.

Nothing else is counted (sigmoid, pooling, upsampling, adds and multiplications are free). So the
figure is the conv MACs plus one operation per activated element: E-RFDN 27.1026 G and DIPNet
14.9011 G at 3x256x256, where conv MACs alone (what :func:`~distillsr.efficiency.ops.count_ops`
reports, as fvcore does) are 27.03 G and 14.87 G.

distillsr's networks apply their activations functionally where the official code calls an
activation module; both run the same ``torch.nn.functional`` function, so activations are
counted at that level (a ``TorchFunctionMode``), once per call, whichever way they were written.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from distillsr.efficiency import _setup

#: The activation functions behind the module types the kit counts (one operation per output element).
COUNTED_ACTIVATIONS = frozenset(
    {F.relu, F.relu_, torch.relu, torch.relu_, F.leaky_relu, F.leaky_relu_, F.prelu, F.elu, F.elu_, F.relu6}
)


class _ActivationCounter(TorchFunctionMode):
    """Adds up the output elements of every counted activation call."""

    def __init__(self) -> None:
        super().__init__()
        self.elements = 0

    def __torch_function__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        if func in COUNTED_ACTIVATIONS and isinstance(result, torch.Tensor):
            self.elements += result.numel()
        return result


def _layer_operations(module: nn.Module, output: torch.Tensor) -> int:
    if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
        # a channel-splitting conv at a narrow width uses only its active slice (nn.slimmable)
        active_in = getattr(module, "active_in_channels", None)
        active_out = getattr(module, "active_out_channels", None)
        inputs = active_in() if callable(active_in) else module.in_channels
        outputs = active_out() if callable(active_out) else module.out_channels
        per_position = module.kernel_size[0] * module.kernel_size[1] * inputs * (outputs // module.groups)
        return per_position * output.shape[0] * output.shape[2] * output.shape[3]
    if isinstance(module, nn.Linear):
        return output.numel() // module.out_features * module.in_features * module.out_features
    if isinstance(module, nn.BatchNorm2d):
        return output.numel() * (2 if module.affine else 1)
    return 0


def ntire_flops(
    model: nn.Module, input_shape: Sequence[int] = _setup.DEFAULT_INPUT_SHAPE, *, device: _setup.DeviceLike = "cpu"
) -> int:
    """The kit's FLOPs of one forward pass at ``input_shape`` (default 1x3x256x256, the challenge's)."""
    shape = _setup.validate_shape(input_shape)
    target = _setup.resolve_device(device, allow_meta=True)
    layers = [0]

    def hook(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        layers[0] += _layer_operations(module, output)

    handles = [
        module.register_forward_hook(hook)
        for module in model.modules()
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear, nn.BatchNorm2d))
    ]
    counter = _ActivationCounter()
    try:
        with _setup.prepared(model, target, torch.float32) as ready, torch.no_grad():
            x = _setup.make_input(shape, target, torch.float32)
            with counter:
                _setup.forward(ready, x)
    finally:
        for handle in handles:
            handle.remove()
    return layers[0] + counter.elements
