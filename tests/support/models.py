"""Model helpers: seeded random weights, fold tolerances, width checks, small zoo models, the hand-counted efficiency model."""

from __future__ import annotations

import pytest
import torch
from torch import nn

# --- models and folds --------------------------------------------------------------------------

#: How close a folded (deploy-form) model must stay to its train form, per dtype.
FOLD_TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def randomise(model: nn.Module, seed: int, std: float = 0.1) -> nn.Module:
    """Random weights and random BN statistics, so no branch or BN of a fold hides behind defaults."""
    generator = torch.Generator().manual_seed(seed)

    def normal(t: torch.Tensor, scale: float) -> torch.Tensor:
        return torch.randn(t.shape, generator=generator, dtype=torch.float64).to(t.dtype) * scale

    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(normal(parameter, std))
        for module in model.modules():
            if isinstance(module, nn.modules.batchnorm._BatchNorm):
                module.weight.copy_(1.0 + normal(module.weight, 0.3))
                module.bias.copy_(normal(module.bias, 0.3))
                module.running_mean.copy_(normal(module.running_mean, 0.3))
                module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator).to(module.running_var.dtype))
    return model.eval()


def randomise_parameters(model: nn.Module, seed: int, std: float = 0.1) -> nn.Module:
    """Non-trivial weights and biases everywhere, so no branch of a fold can hide behind zeros."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * std)
    return model


def max_diff(a: torch.Tensor | tuple, b: torch.Tensor | tuple) -> float:
    """Largest absolute difference, through the ``(out, res)`` tuples some units return."""
    if isinstance(a, tuple):
        return max(max_diff(x, y) for x, y in zip(a, b))
    return (a - b).abs().max().item()


def lr_image(scale_to: float = 255.0, size: int = 8, seed: int = 1) -> torch.Tensor:
    """A seeded random 1x3xNxN input on the 0-255 scale the CSD models expect."""
    return torch.rand(1, 3, size, size, generator=torch.Generator().manual_seed(seed)) * scale_to



# --- efficiency: a hand-built model whose counts are written out from its layer shapes ---------


def conv_params(cin: int, cout: int, k: int, *, groups: int = 1, bias: bool = True) -> int:
    return cout * (cin // groups) * k * k + (cout if bias else 0)


def conv_macs(cin: int, cout: int, k: int, hout: int, wout: int, *, groups: int = 1) -> int:
    return cout * hout * wout * (cin // groups) * k * k


def tiny_sr() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 8, 3, padding=1),
        nn.ReLU(),
        nn.Conv2d(8, 8, 1),
        nn.ReLU(),
        nn.Conv2d(8, 3 * 4, 3, padding=1),
        nn.PixelShuffle(2),
    )


H, W = 16, 20
TINY_SHAPE = (1, 3, H, W)
TINY_PARAMS = conv_params(3, 8, 3) + conv_params(8, 8, 1) + conv_params(8, 12, 3)
TINY_MACS = conv_macs(3, 8, 3, H, W) + conv_macs(8, 8, 1, H, W) + conv_macs(8, 12, 3, H, W)
TINY_ACTIVATIONS = 8 * H * W + 8 * H * W + 12 * H * W


class FunctionalConv(nn.Module):
    """Owns a weight but convolves with F.conv2d, which module-hook counters would miss."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(4, 3, 3, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.conv2d(x, self.weight, padding=1)


def random_state(model: str, scale: int, *, seed: int = 0) -> dict:
    """A zoo model's freshly initialised state dict (seeded), as a file of one would hold it."""
    import torch

    from distillsr.models.zoo import build_model

    torch.manual_seed(seed)
    return {k: v.clone() for k, v in build_model(model, scale).network.state_dict().items()}


class CallsTheShell:
    """A pickle payload that asks to run os.system on load; a safe loader must never call it."""

    def __reduce__(self):
        import os

        return (os.system, ("echo this must never run",))


def check_published_widths(model, published_millions: dict[float, float]) -> None:
    """A CSD model's active parameters per width equal the published table (millions, as printed)."""
    from distillsr.efficiency.params import count_parameters
    from distillsr.errors import DistillsrError
    from distillsr.nn.slimmable import DEFAULT_WIDTHS, active_parameter_count

    counts = {w: active_parameter_count(model, w) for w in DEFAULT_WIDTHS}
    assert {w: round(n / 1e6, 2) for w, n in counts.items()} == published_millions
    assert counts[1.0] == count_parameters(model).total  # mean shifts are buffers, not parameters
    with pytest.raises(DistillsrError):
        active_parameter_count(model, 0.6)


def check_forward_at_every_width(model, scale: int) -> None:
    """The model runs at every CSD width and upscales by ``scale`` (a 4x4 input, so it stays cheap)."""
    import torch

    from distillsr.nn.slimmable import DEFAULT_WIDTHS, width

    model = model.eval()
    with torch.no_grad():
        for w in DEFAULT_WIDTHS:
            with width(model, w):
                assert model(lr_image(size=4)).shape == (1, 3, 4 * scale, 4 * scale)


def calling_twice(module):
    """A model that applies the same ``module`` twice: counters must count each call, not each layer."""
    from torch import nn

    class Twice(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = module

        def forward(self, x):
            return self.inner(self.inner(x))

    return Twice()



# --- small zoo models: the ONNX export tests and the ONNX backend tests ----------------------------

# Small versions of every zoo model but bicubic (which cannot be exported).
SMALL_ZOO_KWARGS = {
    "e-rfdn": dict(channels=16, num_blocks=1),
    "rfdn": dict(channels=16, num_blocks=1),
    "rfdn-l": dict(channels=16, num_blocks=1),
    "imdn": dict(channels=16, num_blocks=1),
    "imdn-csd": dict(channels=16, num_blocks=1, cca_reduction=4),
    "ddistill-sr": dict(channels=16, num_blocks=1, fusion_rank=4),
    "dipnet": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "edipv1": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "dipnet-student": dict(channels=16, mid_channels=16, esa_channels=8, num_blocks=1, expansion=32),
    "rlfn": dict(channels=16, mid_channels=16, esa_channels=8, num_blocks=1),
    "rlfn-s": dict(channels=16, mid_channels=16, esa_channels=8, num_blocks=1),
    "rlfn-ntire": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "efdn": dict(channels=16),
    "efdn-train": dict(channels=16),
    "span": dict(channels=16, cat_channels=12, num_blocks=1),
    "span-train": dict(channels=16, cat_channels=12, num_blocks=1),
    "dipnet-slim-v2": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "dipnet-slim-v2-train": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "edsr-baseline": dict(num_blocks=1, channels=16),
    "edsr": dict(num_blocks=1, channels=16),
    "rcan": dict(num_groups=1, num_blocks=1, channels=16, reduction=4),
    "carn": dict(channels=16),
}


def small_zoo_model(name: str, scale: int = 2):
    """A seeded small version of the zoo model ``name`` (an SRModel)."""
    from distillsr.models.zoo import build_model

    torch.manual_seed(0)
    return build_model(name, scale, **SMALL_ZOO_KWARGS[name])


def perturb_batchnorm_statistics(model):
    """Non-trivial running statistics, so folding them is actually exercised (the SRModel is returned)."""
    generator = torch.Generator().manual_seed(1)
    for module in model.network.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))
    return model
