"""DDistill-SR: whole-model deploy is exact, official key layouts and sizes, golden output."""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
from support import read_key_file, require_shared, state_dict_shapes
from support.models import FOLD_TOLERANCE, max_diff, param_count, randomise

from distillsr.checkpoints.official import ddistill as layout
from distillsr.checkpoints.official.registry import read_as
from distillsr.models.ddistill import DDistillSR
from distillsr.nn.reparam import deploy, is_deployed


def detect(state):
    """The layout's reading as the registry asks it (after the shared state-dict checks)."""
    return read_as(layout, state)

TRAIN_PARAMS = {2: 1_154_824, 3: 1_162_399, 4: 1_173_004}
DEPLOY_PARAMS = {2: 657_600, 3: 665_175, 4: 675_780}


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_small_model_deploy_is_exact(dtype):
    config = {"scale": 3, "channels": 16, "num_blocks": 2, "fusion_rank": 4}
    model = randomise(DDistillSR(**config), seed=7, std=0.1)
    train = model.to(dtype).eval()
    deployed = deploy(copy.deepcopy(train))
    assert is_deployed(deployed) and not is_deployed(train)
    assert state_dict_shapes(deployed) == state_dict_shapes(DDistillSR(**config, deploy=True))
    # Small values keep the clamp to [0, 1] from hiding differences.
    x = 0.5 + 0.1 * torch.randn(2, 3, 24, 20, generator=torch.Generator().manual_seed(2), dtype=torch.float64).to(dtype)
    with torch.no_grad():
        a, b = train(x), deployed(x)
    inside = ((a > 0) & (a < 1)).double().mean().item()
    assert inside > 0.5, f"only {inside:.0%} of outputs unclamped: the comparison would be vacuous"
    assert a.shape == (2, 3, 72, 60)
    difference = max_diff(a, b)
    assert difference <= FOLD_TOLERANCE[dtype], difference


def test_key_layouts_equal_the_official_files():
    deploy_keys = read_key_file(require_shared("reference", "keys", "ddistill_sr_DDistill-SRx4_inference.pth.txt"))
    train_keys = read_key_file(require_shared("reference", "keys", "ddistill_sr_train-time-x4_expected.txt"))
    assert state_dict_shapes(DDistillSR(scale=4, deploy=True)) == deploy_keys
    train = DDistillSR(scale=4, deploy=False)
    assert state_dict_shapes(train) == train_keys
    assert state_dict_shapes(deploy(train)) == deploy_keys


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_parameter_counts(scale):
    assert param_count(DDistillSR(scale=scale)) == TRAIN_PARAMS[scale]
    assert param_count(DDistillSR(scale=scale, deploy=True)) == DEPLOY_PARAMS[scale]


def test_golden_output():
    """The official code's output on a Set5 crop, through the official checkpoint's conversion."""
    golden = np.load(require_shared("reference", "golden", "ddistill-sr_x4.npz"))
    official = require_shared("weights", "official", "ddistill_sr", "DDistill-SRx4_inference.pth")
    conversion = detect(torch.load(official, map_location="cpu", weights_only=True))
    assert conversion is not None
    assert conversion.model == "ddistill-sr" and conversion.scale == 4 and conversion.input_range == 1.0
    assert conversion.kwargs == {"in_channels": 3, "channels": 56, "num_blocks": 4, "fusion_rank": 16, "deploy": True}
    model = DDistillSR(scale=conversion.scale, **conversion.kwargs)
    model.load_state_dict(conversion.state_dict, strict=True)
    x = torch.from_numpy(golden["lr"].astype(np.float32) / 255.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        sr = model.eval()(x)[0].numpy()
    assert sr.shape == golden["sr"].shape
    assert np.abs(sr - golden["sr"]).max() <= 2e-5
