"""distillsr.nn.global_stats: per-tile core sums add up to the whole image's moments, injected on the next pass."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from distillsr.nn.attention import CCA, ESA
from distillsr.nn.global_stats import (
    RECORDER_ATTRIBUTE,
    PoolingRecorder,
    attached_recorder,
    pooling_sites,
    spatial_moments,
    tile_aware_sites,
    tile_geometry,
)


class Site(nn.Module):
    pools_globally = True


def _image(n: int = 1, c: int = 3, h: int = 10, w: int = 12, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, c, h, w, generator=torch.Generator().manual_seed(seed)) * 4 - 1


# (top, left, height, width) cores that partition a 10x12 image, and the larger tile inputs around them.
CORES = [(0, 0, 4, 7), (0, 7, 4, 5), (4, 0, 6, 7), (4, 7, 6, 5)]


def _tile_inputs(x: torch.Tensor, pad: int = 2):
    """Each core with ``pad`` pixels of context (clipped), and the core's position inside that tile."""
    height, width = x.shape[-2:]
    for top, left, h, w in CORES:
        t0, l0 = max(top - pad, 0), max(left - pad, 0)
        t1, l1 = min(top + h + pad, height), min(left + w + pad, width)
        yield x[..., t0:t1, l0:l1], (top - t0, left - l0, h, w)


def test_without_a_recorder_it_is_the_mean_and_mean_of_squares():
    x = _image(n=2)
    mean, second = spatial_moments(Site(), x, squares=True)
    data = x.numpy().astype(np.float64)
    assert mean.shape == second.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(mean.numpy()[..., 0, 0], data.mean(axis=(2, 3)), rtol=1e-6)
    np.testing.assert_allclose(second.numpy()[..., 0, 0], (data**2).mean(axis=(2, 3)), rtol=1e-6)
    assert spatial_moments(Site(), x)[1] is None


def test_core_sums_over_the_tiles_are_the_whole_images_moments():
    x = _image()
    site = Site()
    recorder = PoolingRecorder()
    with attached_recorder(site, recorder):
        for tile, core in _tile_inputs(x):
            recorder.core, recorder.input_size = core, tuple(tile.shape[-2:])
            mean, _ = spatial_moments(site, tile, squares=True)
            assert torch.allclose(mean, tile.mean(dim=(2, 3), keepdim=True)), "nothing injected yet: the tile's own"
    whole = recorder.whole_image_moments()
    assert list(whole) == [id(site)]
    mean, second = whole[id(site)]
    data = x.numpy().astype(np.float64)[0]
    assert mean.dtype == torch.float64 and mean.shape == (3,)
    np.testing.assert_allclose(mean.numpy(), data.mean(axis=(1, 2)), rtol=1e-12)
    np.testing.assert_allclose(second.numpy(), (data**2).mean(axis=(1, 2)), rtol=1e-12)


def test_injected_moments_replace_the_tiles_own():
    site = Site()
    mean = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    second = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    recorder = PoolingRecorder(inject={id(site): (mean, second)})
    x = _image(n=1)
    with attached_recorder(site, recorder):
        got_mean, got_second = spatial_moments(site, x, squares=True)
        assert spatial_moments(site, x)[1] is None
    assert got_mean.dtype == x.dtype and got_mean.shape == got_second.shape == (1, 3, 1, 1)
    assert torch.equal(got_mean[0, :, 0, 0], mean.float()) and torch.equal(got_second[0, :, 0, 0], second.float())


def test_injected_moments_serve_a_batch():
    site = Site()
    mean = torch.tensor([0.1, 0.2, 0.3], dtype=torch.float64)
    with attached_recorder(site, PoolingRecorder(inject={id(site): (mean, None)})):
        got_mean, _ = spatial_moments(site, _image(n=2))
    assert got_mean.shape == (2, 3, 1, 1) and torch.equal(got_mean[1, :, 0, 0], mean.float())


def test_a_site_pooling_at_another_resolution_is_refused():
    site = Site()
    recorder = PoolingRecorder(core=(0, 0, 4, 4), input_size=(8, 8))
    with attached_recorder(site, recorder), pytest.raises(RuntimeError, match=r"Site pools a \(4, 4\) map inside a \(8, 8\) tile"):
        spatial_moments(site, torch.zeros(1, 3, 4, 4))


def test_means_only_keep_no_second_moment():
    site = Site()
    recorder = PoolingRecorder(core=(0, 0, 2, 2))
    with attached_recorder(site, recorder):
        spatial_moments(site, torch.ones(1, 2, 3, 3))
        spatial_moments(site, torch.full((1, 2, 3, 3), 3.0))
    mean, second = recorder.whole_image_moments()[id(site)]
    assert mean.tolist() == [2.0, 2.0] and second is None


class _Model(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(4, 4, 3, padding=1)
        self.esa = ESA(4, 2)
        self.cca = CCA(4, reduction=2)


def test_sites_are_found_by_their_flags():
    model = _Model()
    assert pooling_sites(model) == [model.cca]
    assert tile_aware_sites(model) == [model.esa, model.cca]


def test_the_recorder_is_attached_to_every_site_and_always_detached():
    model = _Model()
    recorder = PoolingRecorder(geometry=(6, 12, 30, 40))
    assert tile_geometry(model.esa) is None
    with pytest.raises(ValueError), attached_recorder(model, recorder) as attached:
        assert attached is recorder
        assert getattr(model.esa, RECORDER_ATTRIBUTE) is recorder and getattr(model.cca, RECORDER_ATTRIBUTE) is recorder
        assert not hasattr(model.conv, RECORDER_ATTRIBUTE)
        assert tile_geometry(model.esa) == (6, 12, 30, 40)
        raise ValueError("a failing tile")
    assert not any(hasattr(m, RECORDER_ATTRIBUTE) for m in model.modules())
    assert tile_geometry(model.cca) is None


def test_a_second_pass_with_injected_moments_makes_tiled_cca_exact():
    """CCA is pointwise given its per-channel statistics, so with whole-image moments each tile's core is exact."""
    torch.manual_seed(0)
    cca = CCA(3, reduction=1).double()
    x = _image().double()
    with torch.no_grad():
        whole = cca(x)
        first_pass = PoolingRecorder()
        with attached_recorder(cca, first_pass):
            for tile, core in _tile_inputs(x):
                first_pass.core, first_pass.input_size = core, tuple(tile.shape[-2:])
                cca(tile)
        second_pass = PoolingRecorder(inject=first_pass.whole_image_moments())
        for (tile, (top, left, h, w)), (t, l, _, _) in zip(_tile_inputs(x), CORES):
            expected = whole[..., t : t + h, l : l + w]
            naive = cca(tile)[..., top : top + h, left : left + w]  # no recorder: the tile's own statistics
            assert not torch.allclose(naive, expected, atol=1e-6), "tiling without the statistics is wrong"
            with attached_recorder(cca, second_pass):
                exact = cca(tile)[..., top : top + h, left : left + w]
            assert torch.allclose(exact, expected, atol=1e-12)
