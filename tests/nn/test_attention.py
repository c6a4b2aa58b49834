"""distillsr.nn.attention: CCA's contrast and gating by hand, ESA's shapes, keys and whole-image mask."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from support import read_key_file, require_shared

from distillsr.nn.attention import (
    CCA,
    ESA,
    _esa_low_resolution_size,
    contrast,
    upsample_like_whole_image,
)
from distillsr.nn.global_stats import PoolingRecorder, attached_recorder


def _sigmoid(v: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-v))


def _random(*shape: int, seed: int = 0) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


# --- CCA -------------------------------------------------------------------------------------------


def test_contrast_is_mean_plus_population_std():
    x = _random(2, 4, 5, 6)
    data = x.numpy()
    expected = data.mean(axis=(2, 3)) + data.std(axis=(2, 3), ddof=0)
    result = contrast(x)
    assert result.shape == (2, 4, 1, 1)
    np.testing.assert_allclose(result.numpy()[..., 0, 0], expected, rtol=1e-12)


def test_contrast_of_a_constant_channel_is_the_constant_with_a_finite_gradient():
    x = torch.full((1, 2, 3, 3), 0.7, dtype=torch.float64, requires_grad=True)
    result = contrast(x)
    assert torch.allclose(result, torch.full((1, 2, 1, 1), 0.7, dtype=torch.float64), atol=1e-12)
    result.sum().backward()
    assert torch.isfinite(x.grad).all()


def test_contrast_uses_a_recorders_whole_image_moments():
    site = CCA(2, reduction=1)
    mean = torch.tensor([1.0, -2.0], dtype=torch.float64)
    second = torch.tensor([5.0, 13.0], dtype=torch.float64)  # variances 4 and 9
    with attached_recorder(site, PoolingRecorder(inject={id(site): (mean, second)})):
        result = contrast(_random(1, 2, 4, 4), site)
    assert result[0, :, 0, 0].tolist() == [1.0 + 2.0, -2.0 + 3.0]


def test_cca_gates_each_channel_by_the_mlp_of_its_contrast():
    torch.manual_seed(0)
    cca = CCA(8, reduction=4).double()
    x = _random(2, 8, 5, 7, seed=1)
    w1, b1 = cca.conv_du[0].weight.detach().numpy()[:, :, 0, 0], cca.conv_du[0].bias.detach().numpy()
    w2, b2 = cca.conv_du[2].weight.detach().numpy()[:, :, 0, 0], cca.conv_du[2].bias.detach().numpy()
    data = x.numpy()
    stats = data.mean(axis=(2, 3)) + data.std(axis=(2, 3))  # (N, C)
    gate = _sigmoid(np.maximum(stats @ w1.T + b1, 0) @ w2.T + b2)
    expected = data * gate[:, :, None, None]
    with torch.no_grad():
        np.testing.assert_allclose(cca(x).numpy(), expected, rtol=1e-10, atol=1e-12)


def test_cca_layout_is_imdns():
    # IMDN_x4.pth: IMDB1.cca.conv_du.0.weight [4,64,1,1], .2.weight [64,4,1,1] (64 channels, reduction 16)
    shapes = {k: tuple(v.shape) for k, v in CCA(64).state_dict().items()}
    assert shapes == {
        "conv_du.0.weight": (4, 64, 1, 1), "conv_du.0.bias": (4,),
        "conv_du.2.weight": (64, 4, 1, 1), "conv_du.2.bias": (64,),
    }
    assert CCA(4, reduction=16).conv_du[0].out_channels == 1, "tiny test models keep one hidden channel"
    assert CCA.pools_globally


# --- ESA -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("light", [False, True], ids=["full", "light"])
def test_esa_keeps_the_shape_and_scales_by_a_mask_in_0_1(light):
    torch.manual_seed(0)
    esa = ESA(8, 4, light=light).double()
    x = _random(2, 8, 17, 23)
    with torch.no_grad():
        out = esa(x)
    assert out.shape == x.shape
    ratio = out / x
    assert bool(((ratio > 0) & (ratio < 1)).all()), "sigmoid mask: same sign, smaller magnitude"


def test_esa_keys_are_the_official_ones_in_order():
    rfdn = read_key_file(require_shared("reference", "keys", "rfdn_RFDN_AIM.pth.txt"))
    expected = [(k.removeprefix("B1.esa."), v) for k, v in rfdn.items() if k.startswith("B1.esa.")]
    assert [(k, tuple(v.shape)) for k, v in ESA(50, 12).state_dict().items()] == expected
    dipnet = read_key_file(require_shared("reference", "keys", "dipnet_DIPNet.pth.txt"))
    expected = [(k.removeprefix("block_1.esa."), v) for k, v in dipnet.items() if k.startswith("block_1.esa.")]
    assert [(k, tuple(v.shape)) for k, v in ESA(44, 16, light=True).state_dict().items()] == expected


def test_esa_mask_depends_on_the_whole_image():
    """A change in the far corner reaches the opposite corner: the mask is pooled at about 1/6 size."""
    torch.manual_seed(3)
    esa = ESA(4, 4).double()
    x = _random(1, 4, 30, 30)
    changed = x.clone()
    changed[..., 22:, 22:] += 20.0
    with torch.no_grad():
        before, after = esa(x), esa(changed)
    assert not torch.allclose(before[..., :4, :4], after[..., :4, :4], atol=1e-9)
    conv = torch.nn.Conv2d(4, 4, 3, padding=1).double()
    with torch.no_grad():  # control: a local layer does not see it
        assert torch.equal(conv(x)[..., :4, :4], conv(changed)[..., :4, :4])


@pytest.mark.parametrize("length", range(15, 47))
def test_low_resolution_size_is_that_of_conv_then_pool(length):
    pooled = F.max_pool2d(F.conv2d(torch.zeros(1, 1, length, length), torch.zeros(1, 1, 3, 3), stride=2), 7, stride=3)
    assert _esa_low_resolution_size(length) == pooled.shape[-1]


def test_whole_image_geometry_is_plain_bilinear_interpolation():
    height, width = 39, 52
    low = _random(1, 3, _esa_low_resolution_size(height), _esa_low_resolution_size(width)).float()
    assert low.shape[-2:] == (5, 7)
    expected = F.interpolate(low, size=(height, width), mode="bilinear", align_corners=False)
    result = upsample_like_whole_image(low, (height, width), (0, 0, height, width), ESA.GRID)
    assert torch.allclose(result, expected, atol=1e-6)


def _inside(start: int, length: int, full: int) -> slice:
    """Output positions of a tile whose bilinear taps (whole-image arithmetic) fall on the tile's own cells."""
    full_low = _esa_low_resolution_size(full)
    first = [int(max((p + 0.5) * full_low / full - 0.5, 0.0)) for p in range(start, start + length)]
    begin = next(i for i, index in enumerate(first) if index >= start // ESA.GRID)
    return slice(begin, length)


@pytest.mark.parametrize("top,left", [(0, 0), (6, 12), (12, 0), (18, 6)])
def test_a_tile_samples_where_the_whole_image_would(top, left):
    """A tile on the 6-pixel grid, given the whole image's low-res cells from its own offset, reproduces the crop."""
    full_h, full_w = 45, 52
    low = _random(1, 2, _esa_low_resolution_size(full_h), _esa_low_resolution_size(full_w)).float()
    whole = F.interpolate(low, size=(full_h, full_w), mode="bilinear", align_corners=False)
    tile_h, tile_w = 24, 30
    tile_low = low[..., top // ESA.GRID :, left // ESA.GRID :]
    result = upsample_like_whole_image(tile_low, (tile_h, tile_w), (top, left, full_h, full_w), ESA.GRID)
    rows, cols = _inside(top, tile_h, full_h), _inside(left, tile_w, full_w)
    assert rows.start < 12 and cols.start < 12, "most of the tile is compared"
    crop = whole[..., top : top + tile_h, left : left + tile_w]
    assert torch.allclose(result[..., rows, cols], crop[..., rows, cols], atol=1e-6)
    naive = F.interpolate(tile_low, size=(tile_h, tile_w), mode="bilinear", align_corners=False)
    assert not torch.allclose(naive[..., rows, cols], crop[..., rows, cols], atol=1e-3), "a tile's own stretch differs"


def test_esa_given_its_own_whole_image_geometry_is_unchanged():
    torch.manual_seed(1)
    esa = ESA(4, 3).double()
    x = _random(1, 4, 31, 26)
    with torch.no_grad():
        plain = esa(x)
        with attached_recorder(esa, PoolingRecorder(geometry=(0, 0, 31, 26))):
            aware = esa(x)
    assert torch.allclose(aware, plain, atol=1e-12)
