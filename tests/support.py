"""Helpers tests import (``from support import ...``): where ``../shared`` is, and how to do without it;
plus the few fixtures-as-functions several test folders share (random model states, synthetic
images, the hand-counted efficiency model).

Tests that need the real images or official weights call :func:`require_shared`; it skips with
the missing path named, so a user's clone passes without ``../shared``. CI sets
``DISTILLSR_REQUIRE_SHARED=1`` (``.ci/run``), and then a missing path fails the test instead: a
moved or renamed shared file must not turn the reference tests silently into skips.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("DISTILLSR_SHARED", REPO_ROOT.parent / "shared"))
SHARED_DATA = SHARED / "data"
SHARED_REFERENCE = SHARED / "reference"
REQUIRE_SHARED_VARIABLE = "DISTILLSR_REQUIRE_SHARED"


def shared_is_required() -> bool:
    """Whether a missing ``../shared`` path is a failure (CI) rather than a skip (a user's clone)."""
    return os.environ.get(REQUIRE_SHARED_VARIABLE, "").strip().lower() not in ("", "0", "false", "no")


def require_shared(*parts: str) -> Path:
    """The path under ``../shared``, or a clean skip naming what is missing (a failure under CI)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        reason = f"{path} is not available (the ../shared folder of real images and weights is absent)"
        if shared_is_required():
            pytest.fail(f"{reason}; {REQUIRE_SHARED_VARIABLE} is set, so this is an error", pytrace=False)
        pytest.skip(reason)
    return path


def official_weights(family: str, filename: str) -> Path:
    """An official checkpoint under ``../shared/weights/official`` or a clean skip."""
    return require_shared("weights", "official", family, filename)


def read_key_file(path: Path) -> dict[str, tuple[int, ...]]:
    """``name [d1,d2,...]`` lines of a reference key list (``#`` lines are comments)."""
    keys = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, shape = line.split(" ", 1)
        dims = shape.strip().strip("[]")
        keys[name] = tuple(int(d) for d in dims.split(",") if d.strip())
    return keys


def state_dict_shapes(module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in module.state_dict().items()}


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


# --- inference ---------------------------------------------------------------------------------


def photo(height: int = 96, width: int = 128) -> np.ndarray:
    """A real photograph (scikit-image's astronaut, halved), so tiling errors look like they would."""
    from skimage import data

    return np.ascontiguousarray(data.astronaut()[::2, ::2][:height, :width])


def photo_tensor(image: np.ndarray) -> torch.Tensor:
    """HWC uint8 -> 1xCxHxW float32 in [0, 1], written independently of distillsr.imaging.tensors."""
    return torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None].contiguous()


class LocalConvStack(nn.Module):
    """Five 3x3 convs (receptive-field radius 5) and a pixel shuffle: purely local."""

    def __init__(self, scale: int = 2) -> None:
        super().__init__()
        layers = []
        for i in range(5):
            layers += [nn.Conv2d(3 if i == 0 else 8, 8, 3, padding=1), nn.ReLU()]
        self.body = nn.Sequential(*layers, nn.Conv2d(8, 3 * scale * scale, 3, padding=1), nn.PixelShuffle(scale))

    def forward(self, x):
        return self.body(x)


# --- image files -------------------------------------------------------------------------------


def save_image(path: Path, array: np.ndarray) -> None:
    """Write ``array`` with Pillow (independently of distillsr's writer), creating the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path)


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """A textured image whose bicubic downscale is not trivially constant."""
    base = rng.integers(0, 256, (height // 4 + 2, width // 4 + 2, 3), dtype=np.uint8)
    big = np.asarray(Image.fromarray(base).resize((width, height), Image.BILINEAR))
    noise = rng.integers(-20, 21, big.shape)
    return np.clip(big.astype(int) + noise, 0, 255).astype(np.uint8)


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
