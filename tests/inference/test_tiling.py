"""Tiled inference: exact for local models, faithful for global ones, seamless, memory-streamed."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import official_weights
from support.images import LocalConvStack, photo, photo_tensor

from distillsr.checkpoints.model_loading import load_or_build
from support.seams import seam_ratio, tile_borders
from distillsr.inference.tiling import feather, plan_tiles, run_tiled
from distillsr.inference.upscaler import Upscaler


def _psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = float(((a.clamp(0, 1) - b.clamp(0, 1)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(1 / mse)


def test_plan_covers_the_image_once_with_aligned_context():
    rows = plan_tiles(100, 70, tile=32, pad=10, align=6)
    cores = [(t.core_top, t.core_bottom, t.core_left, t.core_right) for row in rows for t in row]
    covered = np.zeros((100, 70), int)
    for top, bottom, left, right in cores:
        covered[top:bottom, left:right] += 1
    assert (covered == 1).all()
    for row in rows:
        for t in row:
            assert t.in_top % 6 == 0 and t.in_left % 6 == 0
            assert t.core_top - t.in_top >= min(10, t.core_top) and t.in_bottom - t.core_bottom >= min(10, 100 - t.core_bottom)


def test_feather_is_one_on_the_core_and_ramps_on_context():
    w = feather(0, 8, 24, 32, scale=2)
    assert torch.all(w[16:48] == 1)
    assert torch.all(w[:8] == 0) and torch.all(w[-8:] == 0)  # outer half of the context: unused
    assert 0 < w[12] < 1 and 0 < w[51] < 1
    assert torch.all(feather(0, 0, 24, 24, scale=2) == 1)  # image borders are not feathered


def test_local_model_is_exact_when_half_the_pad_covers_the_receptive_field():
    torch.manual_seed(0)
    network = LocalConvStack().eval()
    x = photo_tensor(photo(61, 77))
    with torch.no_grad():
        full = network(x)
        out = torch.zeros_like(full)

        def sink(row, rows):
            out[:, :, row : row + rows.shape[2]] = rows

        run_tiled(network, x, 2, sink, tile=16, pad=12)  # receptive-field radius 6
    assert (out - full).abs().max() < 1e-6
    # and quantised to 8 bit the images are identical
    assert torch.equal((out.clamp(0, 1) * 255).round(), (full.clamp(0, 1) * 255).round())


@pytest.mark.parametrize(
    "family,filename",
    [
        ("rfdn", "RFDN_AIM.pth"),
        ("ddistill_sr", "DDistill-SRx4_inference.pth"),
        ("dipnet", "DIPNet.pth"),
        ("imdn", "IMDN_x4.pth"),
    ],
)
def test_official_models_tile_within_45_db_of_untiled(family, filename):
    """64-px tiles: naive tiling gives 36-47 dB here; whole-image statistics must keep >= 45 dB."""
    model = load_or_build(None, None, str(official_weights(family, filename)))
    image = photo(96, 128)
    x = photo_tensor(image)
    with torch.no_grad():
        full = model(x)
    tiled = Upscaler(model, device="cpu", tile=64).upscale_tensor(x)
    assert tiled.shape == full.shape
    assert _psnr(tiled, full) >= 45.0
    # no seam: jumps across tile borders are like jumps anywhere else
    out = (tiled[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255)
    borders_r, borders_c = tile_borders(96, 64, 4), tile_borders(128, 64, 4)
    assert seam_ratio(out, borders_r, borders_c) < 1.1 * seam_ratio(
        full[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255, borders_r, borders_c
    ) + 0.05


def test_whole_image_statistics_beat_naive_tiling():
    """DDistill-SR pools globally: the second pass must improve markedly over per-tile statistics."""
    model = load_or_build(None, None, str(official_weights("ddistill_sr", "DDistill-SRx4_inference.pth")))
    x = photo_tensor(photo(96, 128))
    with torch.no_grad():
        full = model(x)
    naive = Upscaler(model, device="cpu", precision="fp32", tile=64, passes=1).upscale_tensor(x)
    fixed = Upscaler(model, device="cpu", precision="fp32", tile=64, passes=2).upscale_tensor(x)
    assert _psnr(fixed, full) > _psnr(naive, full) + 5


def test_output_rows_are_streamed_not_accumulated():
    network = LocalConvStack().eval()
    x = photo_tensor(photo(64, 40))
    chunks = []
    with torch.no_grad():
        run_tiled(network, x, 2, lambda row, rows: chunks.append((row, rows.shape[2])), tile=16, pad=6)
    assert len(chunks) == 4  # one strip per tile row, never the whole image at once
    assert max(h for _, h in chunks) < 128
    starts = [r for r, _ in chunks]
    assert starts[0] == 0 and all(r + h == nxt for (r, h), nxt in zip(chunks, starts[1:] + [128]))
