"""DIPNet / EDIPv1 / the RRRB student: exact deploy, official key layouts, sizes, golden output."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from support import official_weights, read_key_file, require_shared, state_dict_shapes
from support.models import FOLD_TOLERANCE, param_count, randomise_parameters

from distillsr.checkpoints.official import dipnet as layout
from distillsr.checkpoints.official.registry import read_as
from distillsr.models.dipnet import DIPNet
from distillsr.nn.reparam import deploy, is_deployed


def detect(state):
    """The layout's reading as the registry asks it (after the shared state-dict checks)."""
    return read_as(layout, state)

# --- the RRRB student -----------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("block_bias", [False, True])
def test_student_deploys_to_plain_model(dtype: torch.dtype, block_bias: bool) -> None:
    widths = dict(channels=12, mid_channels=12, esa_channels=4, num_blocks=2, block_bias=block_bias)
    student = randomise_parameters(DIPNet(scale=3, block="rrrb", expansion=24, **widths), seed=7).to(dtype).eval()
    x = torch.rand(1, 3, 17, 19, dtype=dtype, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = student(x)
    deployed = deploy(copy.deepcopy(student))
    assert is_deployed(deployed)
    assert state_dict_shapes(deployed) == state_dict_shapes(DIPNet(scale=3, **widths))
    with torch.no_grad():
        error = (deployed(x) - expected).abs().max().item()
    assert error <= FOLD_TOLERANCE[dtype], error


def test_factsheet_student_deploys_to_48_channel_dipnet() -> None:
    student = randomise_parameters(DIPNet(channels=48, mid_channels=48, block="rrrb"), seed=11, std=0.02).eval()
    x = torch.rand(1, 3, 17, 21, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = student(x)
    deployed = deploy(copy.deepcopy(student))
    assert state_dict_shapes(deployed) == state_dict_shapes(DIPNet(channels=48, mid_channels=48))
    with torch.no_grad():
        error = (deployed(x) - expected).abs().max().item()
    assert error <= 1e-5, error


def test_rrrb_student_needs_equal_widths() -> None:
    with pytest.raises(ValueError, match="in == out"):
        DIPNet(block="rrrb")  # 44 -> 38 cannot carry an identity branch


# --- official layouts and sizes -------------------------------------------------------------


def test_dipnet_matches_official_key_layout() -> None:
    expected = read_key_file(require_shared("reference", "keys", "dipnet_DIPNet.pth.txt"))
    assert state_dict_shapes(DIPNet()) == expected


def test_edipv1_matches_official_key_layout() -> None:
    expected = read_key_file(require_shared("reference", "keys", "dipnet_EDIPv1.pth.txt"))
    assert state_dict_shapes(DIPNet(mid_channels=32, bias=True)) == expected


@pytest.mark.parametrize(
    "kwargs,counts",
    [
        ({}, {2: 228_996, 3: 234_936, 4: 243_252}),
        ({"mid_channels": 32, "bias": True}, {2: 194_968, 3: 200_923, 4: 209_260}),
    ],
)
def test_param_counts(kwargs: dict, counts: dict[int, int]) -> None:
    for scale, count in counts.items():
        assert param_count(DIPNet(scale=scale, **kwargs)) == count


# --- official checkpoints -------------------------------------------------------------------


def golden_input() -> tuple[torch.Tensor, np.ndarray]:
    golden = np.load(require_shared("reference", "golden", "dipnet_x4.npz"))
    lr = torch.from_numpy(golden["lr"].astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    return lr, golden["sr"]


def load_detected(name: str) -> tuple[DIPNet, str]:
    state = torch.load(official_weights("dipnet", name), map_location="cpu", weights_only=True)
    conversion = detect(state)
    assert conversion is not None
    assert conversion.input_range == 1.0
    model = DIPNet(scale=conversion.scale, **conversion.kwargs)
    model.load_state_dict(conversion.state_dict, strict=True)
    return model.eval(), conversion.model


def test_dipnet_reproduces_golden_output() -> None:
    model, name = load_detected("DIPNet.pth")
    assert name == "dipnet"
    lr, sr = golden_input()
    with torch.no_grad():
        out = model(lr)[0].numpy()
    assert out.shape == sr.shape
    assert np.abs(out - sr).max() <= 2e-5


def test_edipv1_loads_and_agrees_with_dipnet() -> None:
    model, name = load_detected("EDIPv1.pth")
    assert name == "edipv1"
    lr, sr = golden_input()
    with torch.no_grad():
        out = model(lr)[0].numpy()
    mse = np.mean((np.clip(out, 0, 1) - np.clip(sr, 0, 1)) ** 2)
    assert 10 * np.log10(1.0 / mse) > 30.0
