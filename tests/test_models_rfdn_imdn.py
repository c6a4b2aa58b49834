"""RFDN / E-RFDN and IMDN: exact parameter counts, official key layouts, golden outputs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import official_weights, read_key_file, require_shared, state_dict_shapes

from distillsr.checkpoints.load import read_weights
from distillsr.errors import DistillsrError
from distillsr.models.zoo import get_entry, load_model

# Counts from methods.md (counted from the official classes / published), not from our code.
EXPECTED_PARAMS = {
    ("e-rfdn", 4): 433_448,
    ("rfdn", 2): 534_036,
    ("rfdn", 3): 540_531,
    ("rfdn", 4): 549_624,
    ("rfdn-l", 2): 625_962,
    ("rfdn-l", 3): 632_997,
    ("rfdn-l", 4): 642_846,
    ("imdn", 2): 694_404,
    ("imdn", 3): 703_059,
    ("imdn", 4): 715_176,
}


@pytest.mark.parametrize("name,scale", list(EXPECTED_PARAMS))
def test_parameter_counts(name, scale):
    network = get_entry(name).build(scale)
    assert sum(p.numel() for p in network.parameters()) == EXPECTED_PARAMS[(name, scale)]


def test_e_rfdn_has_the_official_key_layout():
    keys = read_key_file(require_shared("reference", "keys", "rfdn_RFDN_AIM.pth.txt"))
    ours = state_dict_shapes(get_entry("e-rfdn").build(4))
    assert ours == keys
    assert list(ours) == list(keys)  # same order too, so files we write list keys like the official ones


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_imdn_has_the_official_key_layout(scale):
    official = torch.load(official_weights("imdn", f"IMDN_x{scale}.pth"), map_location="cpu", weights_only=True)
    expected = {k.removeprefix("module."): tuple(v.shape) for k, v in official.items()}
    assert state_dict_shapes(get_entry("imdn").build(scale)) == expected


def _golden(name: str) -> dict:
    data = np.load(require_shared("reference", "golden", f"{name}.npz"))
    return {key: data[key] for key in data.files}


def _run_golden(model, golden) -> np.ndarray:
    x = torch.from_numpy(golden["lr"].astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        return model(x)[0].numpy()


@pytest.mark.parametrize(
    "golden_name,family,filename",
    [
        ("e-rfdn_x4", "rfdn", "RFDN_AIM.pth"),
        ("imdn_x2", "imdn", "IMDN_x2.pth"),
        ("imdn_x3", "imdn", "IMDN_x3.pth"),
        ("imdn_x4", "imdn", "IMDN_x4.pth"),
    ],
)
def test_official_weights_reproduce_golden_outputs(golden_name, family, filename):
    """The official code's raw output on a Set5 crop, to ~1e-5 (E-RFDN scales 0-255 internally)."""
    model = load_model(None, None, str(official_weights(family, filename)))
    golden = _golden(golden_name)
    out = _run_golden(model, golden)
    assert out.shape == golden["sr"].shape
    assert np.abs(out - golden["sr"]).max() < 2e-5


def test_e_rfdn_input_range_is_recorded_and_matters():
    path = official_weights("rfdn", "RFDN_AIM.pth")
    weights = read_weights(path)
    assert weights.info.model == "e-rfdn" and weights.info.input_range == 255.0
    model = load_model("e-rfdn", 4, str(path))
    golden = _golden("e-rfdn_x4")
    right = _run_golden(model, golden)
    model.input_range = 1.0  # what a careless loader does
    wrong = _run_golden(model, golden)
    assert np.abs(right - golden["sr"]).max() < 2e-5
    assert np.abs(wrong - golden["sr"]).max() > 0.05


def test_rfdb_variants_differ_where_they_should():
    torch.manual_seed(0)
    with_residual = get_entry("rfdn").build(2, num_blocks=1, channels=8)
    without = get_entry("rfdn").build(2, num_blocks=1, channels=8, block_residual=False)
    without.load_state_dict(with_residual.state_dict())
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        assert not torch.allclose(with_residual(x), without(x))
    with pytest.raises(DistillsrError, match="attention"):
        get_entry("rfdn").build(2, attention="se")
