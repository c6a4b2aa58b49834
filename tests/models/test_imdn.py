"""IMDN: exact parameter counts, the official key layouts, golden outputs at x2 / x3 / x4."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import official_weights, require_shared, state_dict_shapes

from distillsr.checkpoints.model_loading import load_or_build
from distillsr.models.zoo import get_entry

# Counts from methods.md (counted from the official classes / published), not from our code.
EXPECTED_PARAMS = {2: 694_404, 3: 703_059, 4: 715_176}


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_parameter_counts(scale):
    network = get_entry("imdn").build(scale)
    assert sum(p.numel() for p in network.parameters()) == EXPECTED_PARAMS[scale]


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_imdn_has_the_official_key_layout(scale):
    official = torch.load(official_weights("imdn", f"IMDN_x{scale}.pth"), map_location="cpu", weights_only=True)
    expected = {k.removeprefix("module."): tuple(v.shape) for k, v in official.items()}
    assert state_dict_shapes(get_entry("imdn").build(scale)) == expected


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_official_weights_reproduce_golden_outputs(scale):
    """The official code's raw output on a Set5 crop, to ~1e-5."""
    model = load_or_build(None, None, str(official_weights("imdn", f"IMDN_x{scale}.pth")))
    data = np.load(require_shared("reference", "golden", f"imdn_x{scale}.npz"))
    x = torch.from_numpy(data["lr"].astype(np.float32) / 255).permute(2, 0, 1)[None]
    with torch.no_grad():
        out = model(x)[0].numpy()
    assert out.shape == data["sr"].shape
    assert np.abs(out - data["sr"]).max() < 2e-5
