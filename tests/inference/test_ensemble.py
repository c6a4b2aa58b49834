"""distillsr.inference.ensemble: the x8 geometric self-ensemble, checked against NumPy by hand."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from distillsr.inference.ensemble import (
    DIHEDRAL_VIEWS,
    dihedral,
    inverse_dihedral,
    self_ensemble,
)
from distillsr.models.bicubic import BicubicUpsampler


def numpy_view(x: np.ndarray, view: int) -> np.ndarray:
    """The docstring's definition: ``view % 4`` counter-clockwise quarter turns, then a left-right flip if ``view >= 4``."""
    y = np.rot90(x, view % 4, axes=(-2, -1))
    return y[..., ::-1] if view >= 4 else y


def numpy_unview(y: np.ndarray, view: int) -> np.ndarray:
    if view >= 4:
        y = y[..., ::-1]
    return np.rot90(y, -(view % 4), axes=(-2, -1))


def _asymmetric(height: int = 3, width: int = 5) -> torch.Tensor:
    return torch.arange(2 * height * width, dtype=torch.float64).reshape(1, 2, height, width)


def test_the_eight_views_are_the_dihedral_group():
    x = _asymmetric()
    views = [dihedral(x, v) for v in range(DIHEDRAL_VIEWS)]
    for v, view in enumerate(views):
        np.testing.assert_array_equal(view.numpy(), numpy_view(x.numpy(), v))
    assert len({tuple(v.flatten().tolist()) for v in views}) == 8, "eight distinct views"
    assert [tuple(v.shape[-2:]) for v in views] == [(3, 5), (5, 3)] * 4


@pytest.mark.parametrize("view", range(8))
def test_inverse_undoes_each_view(view):
    x = _asymmetric()
    assert torch.equal(inverse_dihedral(dihedral(x, view), view), x)


def test_a_model_equivariant_to_flips_and_turns_is_unchanged():
    """A 1x1 conv mixes channels only, so every view gives the same answer."""
    conv = torch.nn.Conv2d(3, 3, 1).double()
    x = torch.rand(2, 3, 6, 7, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.allclose(self_ensemble(conv, x), conv(x), atol=1e-12)


def test_float_bicubic_is_equivariant_too():
    """MATLAB's kernel and mirror boundary are symmetric, so the ensemble of float bicubic is bicubic."""
    upsampler = BicubicUpsampler(3, emulate_uint8=False)
    x = torch.rand(1, 3, 5, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    assert torch.allclose(self_ensemble(upsampler, x), upsampler(x), atol=1e-12)


class Lopsided(torch.nn.Module):
    """Not equivariant: a fixed 3x3 kernel with no symmetry, then a 2x nearest upscale."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("kernel", torch.arange(1.0, 10.0, dtype=torch.float64).reshape(1, 1, 3, 3))
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return F.interpolate(F.conv2d(x, self.kernel, padding=1), scale_factor=2, mode="nearest")


def test_a_lopsided_model_gets_the_mean_of_its_eight_transformed_runs():
    model = Lopsided()
    x = torch.rand(1, 1, 4, 6, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    result = self_ensemble(model, x)
    assert model.calls == 8
    runs = [numpy_unview(model(torch.from_numpy(numpy_view(x.numpy(), v).copy())).numpy(), v) for v in range(8)]
    expected = np.mean(runs, axis=0)
    assert result.shape == (1, 1, 8, 12)
    np.testing.assert_allclose(result.numpy(), expected, atol=1e-12)
    assert not np.allclose(expected, model(x).numpy()), "the ensemble really changes this model's output"


def test_gradients_flow_through_the_ensemble():
    x = torch.rand(1, 1, 4, 4, dtype=torch.float64, requires_grad=True)
    self_ensemble(Lopsided(), x).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
