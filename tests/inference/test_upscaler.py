"""The upscaler: tiles decided by cost (never for an image that fits), recovery from broken tiles and out-of-memory."""

from __future__ import annotations

import math

import pytest
import torch
from support.images import LocalConvStack, photo, photo_tensor

from distillsr.inference.memory_model import FIXED_ALLOWANCE, SCRATCH_MARGIN
from distillsr.inference.upscaler import Upscaler, plan_tile_shape
from distillsr.models.sr_model import SRModel


def test_reduced_precision_falls_back_on_broken_tiles(monkeypatch):
    """A tile that comes back non-finite is redone in fp32 (simulated: CUDA is not needed)."""
    network = LocalConvStack().eval()
    model = SRModel(network, "local", 2)
    upscaler = Upscaler(model, device="cpu", tile=32)
    upscaler.precision = "fp16"
    calls = []

    def fake_forward(x, precision):
        calls.append(precision)
        out = network(x)
        return out * float("nan") if precision == "fp16" else out

    monkeypatch.setattr(upscaler, "_forward_at", fake_forward)
    with pytest.warns(RuntimeWarning, match="redone in fp32"):
        out = upscaler.upscale_tensor(photo_tensor(photo(40, 40)))
    assert torch.isfinite(out).all() and "fp32" in calls


def test_out_of_memory_shrinks_the_tile(monkeypatch):
    network = LocalConvStack().eval()
    model = SRModel(network, "local", 2)
    upscaler = Upscaler(model, device="cpu", tile=64, pad=4)
    real = upscaler.forward_tile
    sizes = []

    def picky(tile):
        sizes.append(max(tile.shape[-2:]))
        if max(tile.shape[-2:]) > 40:
            raise RuntimeError("CPU out of memory (simulated)")
        return real(tile)

    monkeypatch.setattr(upscaler, "forward_tile", picky)
    with pytest.warns(RuntimeWarning, match="retrying with 32x32-px tiles"):
        out = upscaler.upscale_tensor(photo_tensor(photo(64, 64)))
    assert out.shape == (1, 3, 128, 128)
    assert upscaler.warnings == ["out of memory: retrying with 32x64-px tiles", "out of memory: retrying with 32x32-px tiles"]


def _counting(upscaler, monkeypatch) -> list[tuple[int, int]]:
    windows = []
    real = upscaler.forward_tile

    def counted(tile):
        windows.append(tuple(tile.shape[-2:]))
        return real(tile)

    monkeypatch.setattr(upscaler, "forward_tile", counted)
    return windows


def test_an_image_that_fits_is_never_tiled(monkeypatch):
    """One forward of the whole image, and exactly the model's own output (no blending)."""
    model = SRModel(LocalConvStack().eval(), "local", 2)
    upscaler = Upscaler(model, device="cpu", precision="fp32")
    windows = _counting(upscaler, monkeypatch)
    x = torch.rand(1, 3, 300, 200, generator=torch.Generator().manual_seed(0))
    out = upscaler.upscale_tensor(x)
    assert windows == [(300, 200)]
    with torch.inference_mode():
        assert torch.equal(out, model(x))
    assert upscaler.tile_shape(300, 200, 3) is None


def test_an_image_over_the_budget_is_cut_into_full_width_strips(monkeypatch):
    model = SRModel(LocalConvStack().eval(), "local", 2)
    upscaler = Upscaler(model, device="cpu", precision="fp32", pad=12)  # half the pad covers its radius of 6
    per_pixel = upscaler.forward_memory(3).per_pixel
    monkeypatch.setattr(upscaler, "memory_budget", lambda: int(SCRATCH_MARGIN * per_pixel * 150 * 224) + FIXED_ALLOWANCE + 2)
    assert upscaler.tile_shape(400, 200, 3) == (150 - 24, 200)  # a window is the strip plus 12 rows each side
    windows = _counting(upscaler, monkeypatch)
    x = torch.rand(1, 3, 400, 200, generator=torch.Generator().manual_seed(0))
    out = upscaler.upscale_tensor(x)
    assert [w[1] for w in windows] == [200] * 4 and max(w[0] for w in windows) <= 150  # ceil(400 / 126) strips
    with torch.inference_mode():  # a local model whose receptive field fits half the pad: still exact
        assert torch.allclose(out, model(x), atol=1e-5)


def test_the_tile_plan_prefers_strips_then_squares():
    assert plan_tile_shape(100, 100, 100 * 100, pad=10) is None
    assert plan_tile_shape(1000, 500, 200 * 520, pad=10) == (180, 500)
    side = math.isqrt(10_000) - 20  # too few rows for a strip of 5000 px: the largest square
    assert plan_tile_shape(1000, 5000, 10_000, pad=10) == (side, side)
    assert plan_tile_shape(1000, 5000, 100, pad=10) == (32, 32), "never below the minimum tile"


def test_an_explicit_tile_is_square_and_a_larger_one_means_whole():
    upscaler = Upscaler(SRModel(LocalConvStack().eval(), "local", 2), device="cpu", tile=64)
    assert upscaler.tile_shape(100, 300, 3) == (64, 64)
    assert upscaler.tile_shape(50, 64, 3) is None
    assert Upscaler(SRModel(LocalConvStack().eval(), "local", 2), device="cpu", tile=0).tile_shape(5000, 5000, 3) is None
