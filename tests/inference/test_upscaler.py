"""The upscaler's recovery: broken reduced-precision tiles are redone in fp32, out-of-memory shrinks the tile."""

from __future__ import annotations

import pytest
import torch
from support.images import LocalConvStack, photo, photo_tensor

from distillsr.inference.upscaler import Upscaler
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
    with pytest.warns(RuntimeWarning, match="retrying with 32-px tiles"):
        out = upscaler.upscale_tensor(photo_tensor(photo(64, 64)))
    assert out.shape == (1, 3, 128, 128)
