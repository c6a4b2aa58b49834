"""Per-tile widths in the upscaler: tiles of different widths blend without seams, and each tile's
width is chosen on the window the engine runs (the whole image when it fits)."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch
from inference.width_policy.toy import SCALE, WIDTHS, photo
from support.models import small_zoo_model

from distillsr.errors import DistillsrError
from distillsr.inference.width_policy.costs import DynamicWidths, macs_per_pixel
from distillsr.inference.width_policy.policy import WidthPolicy
from distillsr.inference.width_policy.scores import BicubicRoundTrip
from support.seams import seam_ratio, tile_borders
from distillsr.inference.tiling import plan_tiles
from distillsr.inference.upscaler import Upscaler
from distillsr.metrics.psnr import psnr
from distillsr.models.zoo import build_model
from distillsr.nn.slimmable import width

TILE, PAD = 32, 24  # half the pad (12 LR px) holds the tiny EDSR's receptive field (about 7.5 LR px)


def as_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image.astype(np.float32) / 255).permute(2, 0, 1)[None].contiguous()


def as_pixels(out: torch.Tensor) -> np.ndarray:
    return out[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255


def whole(model, x: torch.Tensor, value: float) -> torch.Tensor:
    with torch.inference_mode(), width(model.network, value):
        return model(x)


def run_cycling(model, x: torch.Tensor, widths, tile: int) -> tuple[torch.Tensor, list[float]]:
    """Upscale ``x`` tiled, giving the tiles ``widths`` in turn (so neighbouring tiles differ)."""
    cycle, chosen = itertools.cycle(widths), []

    def width_for(window: torch.Tensor) -> float:
        chosen.append(next(cycle))
        return chosen[-1]

    out = Upscaler(model, device="cpu", precision="fp32", tile=tile, pad=PAD, width_for=width_for).upscale_tensor(x)
    return out, chosen


@pytest.mark.parametrize("corner", [(180, 200), (300, 300)])
def test_mixed_width_tiles_blend_without_seams(tiny, corner):
    # the hardest case: the narrowest and the full width side by side, 16-px tiles (5 + 7 borders)
    image = photo(96, 128, *corner)  # the astronaut's face / suit: texture across the tile borders
    x = as_tensor(image)
    tile = 16
    out, chosen = run_cycling(tiny, x, (0.25, 1.0), tile)
    tiles = [t for row in plan_tiles(96, 128, tile, PAD) for t in row]
    assert len(chosen) == len(tiles) == 48 and set(chosen) == {0.25, 1.0}
    outputs = {value: whole(tiny, x, value) for value in (0.25, 1.0)}
    rows, cols = tile_borders(96, tile, SCALE), tile_borders(128, tile, SCALE)

    # the criterion of the tiling tests, against the untiled output at either width (the x2 pixel
    # shuffle of a briefly trained net makes lines at LR-pixel boundaries differ a little everywhere)
    reference = max(seam_ratio(as_pixels(outputs[value]), rows, cols) for value in (0.25, 1.0))
    blended = seam_ratio(as_pixels(out), rows, cols)
    assert blended < 1.1 * reference + 0.05

    # the same tiles pasted without feathering do show seams, so the metric would have seen them
    pasted = torch.empty_like(out)
    for t, value in zip(tiles, chosen):
        core = (slice(None), slice(None), slice(t.core_top * SCALE, t.core_bottom * SCALE),
                slice(t.core_left * SCALE, t.core_right * SCALE))
        pasted[core] = outputs[value][core]
    assert seam_ratio(as_pixels(pasted), rows, cols) > 1.2 * blended


def test_each_tile_is_exact_away_from_its_borders(tiny):
    # beyond half the pad from a neighbour, only the tile's own output has weight: the whole image at its width
    x = as_tensor(photo(96, 128, 180, 200))
    out, chosen = run_cycling(tiny, x, WIDTHS, TILE)
    tiles = [t for row in plan_tiles(96, 128, TILE, PAD) for t in row]
    assert len(chosen) == len(tiles) == 12 and set(chosen) == set(WIDTHS)
    outputs = {value: whole(tiny, x, value) for value in WIDTHS}
    half = PAD // 2
    for t, value in zip(tiles, chosen):
        top = t.core_top + (half if t.core_top > 0 else 0)
        bottom = t.core_bottom - (half if t.core_bottom < 96 else 0)
        left = t.core_left + (half if t.core_left > 0 else 0)
        right = t.core_right - (half if t.core_right < 128 else 0)
        region = (slice(None), slice(None), slice(top * SCALE, bottom * SCALE), slice(left * SCALE, right * SCALE))
        assert torch.allclose(out[region], outputs[value][region], atol=1e-5), (t, value)
    # and where neighbours of different widths overlap, the result lies between their outputs
    low = torch.minimum(torch.minimum(outputs[0.25], outputs[0.5]), torch.minimum(outputs[0.75], outputs[1.0]))
    high = torch.maximum(torch.maximum(outputs[0.25], outputs[0.5]), torch.maximum(outputs[0.75], outputs[1.0]))
    assert bool(((out >= low - 1e-5) & (out <= high + 1e-5)).all())


def test_flat_tiles_run_narrow_and_textured_ones_full(tiny):
    image = photo(64, 128, 180, 200).copy()
    image[:, :64] = 128  # left half flat
    policy = WidthPolicy((0.25,), (100.0,))  # a flat window scores ~300 dB, any texture far below 100
    rates = macs_per_pixel(tiny, policy.all_widths)
    chooser = DynamicWidths(policy, BicubicRoundTrip(SCALE), rates)
    Upscaler(tiny, device="cpu", precision="fp32", tile=TILE, pad=PAD, width_for=chooser).upscale_tensor(as_tensor(image))
    tiles = [t for row in plan_tiles(64, 128, TILE, PAD) for t in row]
    widths = [w for w, _ in chooser.choices]
    for t, value in zip(tiles, widths):
        assert value == (0.25 if t.in_right <= 64 else 1.0), t  # a window reaching into texture runs full
    pixels = [(t.in_bottom - t.in_top) * (t.in_right - t.in_left) for t in tiles]
    assert [p for _, p in chooser.choices] == pixels  # the window the engine runs, context included
    summary = chooser.summary()
    expected = sum(rates[w] * p for w, p in zip(widths, pixels)) / sum(rates[1.0] * p for p in pixels)
    assert summary.fraction == pytest.approx(expected, rel=1e-12) and summary.fraction < 1.0


def test_an_image_that_fits_is_one_tile_with_one_width(tiny):
    calls = []
    upscaler = Upscaler(tiny, device="cpu", precision="fp32", tile="auto",
                        width_for=lambda tile: calls.append(tuple(tile.shape)) or 0.5)
    x = as_tensor(photo(40, 56, 100, 100))
    out = upscaler.upscale_tensor(x)
    assert calls == [(1, 3, 40, 56)]
    assert torch.allclose(out, whole(tiny, x, 0.5), atol=1e-5)
    assert tiny.network.width == 1.0  # the width is restored after the tile


def test_a_globally_pooling_model_runs_one_width_per_image():
    # RCAN's channel attention sums whole-image statistics over its tiles: they must share their channels
    rcan = small_zoo_model("rcan", SCALE)
    calls = []
    upscaler = Upscaler(rcan, device="cpu", precision="fp32", tile=TILE, pad=PAD,
                        width_for=lambda tile: calls.append(tuple(tile.shape)) or 0.5)
    x = as_tensor(photo(96, 128, 180, 200))
    out = upscaler.upscale_tensor(x)
    assert calls == [(1, 3, 96, 128)]
    assert psnr(as_pixels(out), as_pixels(whole(rcan, x, 0.5))) > 40


def test_per_tile_widths_need_a_slimmable_model():
    with pytest.raises(DistillsrError, match="no switchable width"):
        Upscaler(build_model("bicubic", 2), device="cpu", width_for=lambda tile: 0.5)
