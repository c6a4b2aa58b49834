"""DIPNet / EDIPv1 / RRRB student: exact folds, official key layouts, sizes, golden output."""

from __future__ import annotations

import copy
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from distillsr.checkpoints.official.dipnet import detect
from distillsr.models.dipnet import DIPNet
from distillsr.nn.reparam import deploy, is_deployed
from distillsr.nn.rrrb import RRRB

SHARED = Path(os.environ.get("DISTILLSR_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))

TOLERANCE = {torch.float32: 1e-5, torch.float64: 1e-10}


def shared_path(*parts: str) -> Path:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is not available (the ../shared folder of reference files and weights is absent)")
    return path


def load_official(name: str) -> dict[str, torch.Tensor]:
    return torch.load(shared_path("weights", "official", "dipnet", name), map_location="cpu", weights_only=True)


def parse_key_list(path: Path) -> dict[str, tuple[int, ...]]:
    shapes = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, shape = line.split(maxsplit=1)
        shapes[name] = tuple(int(d) for d in shape.strip("[]").split(","))
    return shapes


def shapes_of(model: torch.nn.Module) -> dict[str, tuple[int, ...]]:
    return {name: tuple(t.shape) for name, t in model.state_dict().items()}


def randomise(model: torch.nn.Module, seed: int, std: float = 0.1) -> torch.nn.Module:
    """Non-trivial weights and biases everywhere, so no branch of a fold can hide behind zeros."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * std)
    return model


def param_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


# --- RRRB -----------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("channels,expansion", [(4, 8), (8, 32), (16, 8), (16, 32)])
def test_rrrb_fold_is_exact(channels: int, expansion: int, bias: bool, dtype: torch.dtype) -> None:
    block = randomise(RRRB(channels, expansion, bias=bias), seed=channels * 100 + expansion).to(dtype)
    x = torch.randn(2, channels, 7, 11, dtype=dtype, generator=torch.Generator().manual_seed(3))
    folded = block.fold()
    assert isinstance(folded, torch.nn.Conv2d) and not isinstance(folded, RRRB)
    assert folded.weight.shape == (channels, channels, 3, 3)
    assert (folded.bias is not None) == bias
    with torch.no_grad():
        error = (block(x) - folded(x)).abs().max().item()
    assert error <= TOLERANCE[dtype], error


def test_rrrb_default_expansion_is_the_factsheet_width() -> None:
    assert RRRB(48).expand.out_channels == 256


# --- whole student --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("block_bias", [False, True])
def test_student_deploys_to_plain_model(dtype: torch.dtype, block_bias: bool) -> None:
    widths = dict(channels=12, mid_channels=12, esa_channels=4, num_blocks=2, block_bias=block_bias)
    student = randomise(DIPNet(scale=3, block="rrrb", expansion=24, **widths), seed=7).to(dtype).eval()
    x = torch.rand(1, 3, 17, 19, dtype=dtype, generator=torch.Generator().manual_seed(5))
    with torch.no_grad():
        expected = student(x)
    deployed = deploy(copy.deepcopy(student))
    assert is_deployed(deployed)
    assert shapes_of(deployed) == shapes_of(DIPNet(scale=3, **widths))
    with torch.no_grad():
        error = (deployed(x) - expected).abs().max().item()
    assert error <= TOLERANCE[dtype], error


def test_factsheet_student_deploys_to_48_channel_dipnet() -> None:
    student = randomise(DIPNet(channels=48, mid_channels=48, block="rrrb"), seed=11, std=0.02).eval()
    x = torch.rand(1, 3, 17, 21, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = student(x)
    deployed = deploy(copy.deepcopy(student))
    assert shapes_of(deployed) == shapes_of(DIPNet(channels=48, mid_channels=48))
    with torch.no_grad():
        error = (deployed(x) - expected).abs().max().item()
    assert error <= 1e-5, error


def test_rrrb_student_needs_equal_widths() -> None:
    with pytest.raises(ValueError, match="in == out"):
        DIPNet(block="rrrb")  # 44 -> 38 cannot carry an identity branch


# --- official layouts and sizes -------------------------------------------------------------


def test_dipnet_matches_official_key_layout() -> None:
    expected = parse_key_list(shared_path("reference", "keys", "dipnet_DIPNet.pth.txt"))
    assert shapes_of(DIPNet()) == expected


def test_edipv1_matches_official_key_layout() -> None:
    expected = parse_key_list(shared_path("reference", "keys", "dipnet_EDIPv1.pth.txt"))
    assert shapes_of(DIPNet(mid_channels=32, bias=True)) == expected


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
    golden = np.load(shared_path("reference", "golden", "dipnet_x4.npz"))
    lr = torch.from_numpy(golden["lr"].astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    return lr, golden["sr"]


def load_detected(name: str) -> tuple[DIPNet, str]:
    conversion = detect(load_official(name))
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


def test_detect_accepts_a_prefixed_state_dict() -> None:
    state = {f"module.{k}": v for k, v in DIPNet(scale=2).state_dict().items()}
    conversion = detect(state)
    assert conversion is not None and conversion.scale == 2 and conversion.model == "dipnet"


def test_detect_rejects_other_layouts() -> None:
    rfdn = torch.load(shared_path("weights", "official", "rfdn", "RFDN_AIM.pth"), map_location="cpu", weights_only=True)
    assert detect(rfdn) is None
    assert detect({"conv_1.weight": torch.zeros(8, 3, 3, 3), "body.0.weight": torch.zeros(8, 8, 3, 3)}) is None
    assert detect({}) is None
    # a DIPNet dict with one extra or one missing tensor is not an official layout either
    state = DIPNet().state_dict()
    assert detect({**state, "extra.weight": torch.zeros(1)}) is None
    state.pop("block_4.esa.conv4.bias")
    assert detect(state) is None
