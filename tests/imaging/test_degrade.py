"""BI, BD, DN degradations: checked against SciPy's filtering and the definitions' statistics."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from scipy import ndimage

from distillsr.errors import DistillsrError
from distillsr.imaging.degrade import (
    BicubicDown,
    BlurDown,
    NoisyDown,
    get_degradation,
    modcrop,
)
from distillsr.imaging.resize import imresize


@pytest.fixture
def photo(rng) -> np.ndarray:
    # smooth structure plus texture, so blur and noise both matter
    y, x = np.mgrid[0:48, 0:60]
    base = 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0)
    return np.clip(base[..., None] + rng.normal(0, 20, (48, 60, 3)), 0, 255).astype(np.uint8)


def _matlab_gaussian(size: int, sigma: float) -> np.ndarray:
    """fspecial('gaussian', size, sigma) written out in 2-D, independently of our separable code."""
    r = (size - 1) / 2
    y, x = np.mgrid[-r : r + 1, -r : r + 1]
    h = np.exp(-(x * x + y * y) / (2 * sigma * sigma))
    return h / h.sum()


def test_bi_is_matlab_bicubic(photo):
    np.testing.assert_array_equal(BicubicDown(3)(photo), imresize(photo, 1 / 3))


@pytest.mark.parametrize("scale,offset", [(2, 1), (3, 1), (4, 2)])
def test_bd_matches_scipy_blur_then_matlab_nearest(photo, scale, offset):
    """MATLAB 'nearest' x1/s picks pixel s*i + offset (1, 1, 2 for s = 2, 3, 4), as derived by hand."""
    hr = modcrop(photo, 12)
    kernel = _matlab_gaussian(7, 1.6)
    blurred = np.stack(
        [ndimage.correlate(hr[..., c].astype(np.float64), kernel, mode="nearest") for c in range(3)], axis=-1
    )
    blurred = np.clip(np.floor(blurred + 0.5), 0, 255).astype(np.uint8)
    expected = blurred[offset::scale, offset::scale]
    ours = BlurDown(scale)(hr)
    assert ours.shape == expected.shape
    # separable vs 2-D summation may differ in the last bit and flip a rounding at exactly .5
    assert np.abs(ours.astype(int) - expected).max() <= 1
    assert (ours != expected).mean() < 1e-3


def test_dn_noise_statistics_and_determinism(photo):
    hr = np.full((300, 300), 128, np.uint8)
    dn = NoisyDown(3)
    lr = dn(hr).astype(np.float64)
    noise = lr - 128
    assert abs(noise.std() - 30) < 1.0
    assert abs(noise.mean()) < 1.0
    np.testing.assert_array_equal(dn(hr), dn(hr))  # same image, same seed, same noise
    assert (NoisyDown(3, seed=1)(hr) != dn(hr)).any()
    other = hr.copy()
    other[0, 0] = 127
    assert not np.array_equal(dn(other)[10:, 10:], dn(hr)[10:, 10:])  # another image, another field
    # saturates instead of wrapping around
    assert dn(np.full((30, 30), 250, np.uint8)).max() == 255


def test_degradations_are_picklable_and_named(photo):
    for degradation in (BicubicDown(2), BlurDown(3), NoisyDown(3, seed=7)):
        clone = pickle.loads(pickle.dumps(degradation))
        assert clone == degradation
        hr = modcrop(photo, degradation.scale)
        np.testing.assert_array_equal(clone(hr), degradation(hr))
    keys = {BicubicDown(3).cache_key, BlurDown(3).cache_key, NoisyDown(3).cache_key, NoisyDown(3, seed=1).cache_key}
    assert len(keys) == 4
    assert get_degradation("dn", 3, seed=5) == NoisyDown(3, seed=5)
    assert get_degradation("BD", 2) == BlurDown(2)


def test_uint16_and_grey_inputs_keep_their_type():
    hr16 = (np.arange(36 * 36).reshape(36, 36) * 50).astype(np.uint16)
    for degradation in (BicubicDown(3), BlurDown(3), NoisyDown(3)):
        lr = degradation(hr16)
        assert lr.dtype == np.uint16 and lr.shape == (12, 12)


def test_bad_inputs():
    with pytest.raises(DistillsrError, match="multiple of the scale"):
        BicubicDown(3)(np.zeros((10, 9), np.uint8))
    with pytest.raises(DistillsrError, match="unknown degradation"):
        get_degradation("XX", 4)
    with pytest.raises(DistillsrError, match="smaller than the scale"):
        modcrop(np.zeros((3, 8)), 4)
    with pytest.raises(DistillsrError, match="positive integer"):
        BicubicDown(0)
