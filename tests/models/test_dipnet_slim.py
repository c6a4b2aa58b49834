"""DIPNet-slim-v2 (NTIRE 2025 team 15): the official file loads key for key and gives the kit's
outputs; the train form (Conv3XC everywhere a 3x3 was, ESA's conv3 included) folds key for key."""

from __future__ import annotations

import copy

import pytest
import torch
from support import official_weights, state_dict_shapes
from support.mirrors import official_mirrors
from support.models import FOLD_TOLERANCE, randomise_parameters

from distillsr.checkpoints.model_loading import load_or_build
from distillsr.models.dipnet_slim import DIPNetSlimV2
from distillsr.models.zoo import get_entry
from distillsr.nn.conv3xc import Conv3XC
from distillsr.nn.reparam import deploy, is_deployed


def test_official_file_keys_and_count():
    state = torch.load(official_weights("ntire2025", "team15_DIPNet_slim_v2.pt"), map_location="cpu", weights_only=True)
    network = get_entry("dipnet-slim-v2").build(4)
    assert list(network.state_dict()) == list(state)
    assert state_dict_shapes(network) == {key: tuple(t.shape) for key, t in state.items()}
    assert sum(p.numel() for p in network.parameters()) == 154_336


def test_official_file_gives_the_kits_outputs():
    path = official_weights("ntire2025", "team15_DIPNet_slim_v2.pt")
    model = load_or_build(None, None, path)
    assert (model.name, model.scale, model.input_range, model.metadata["form"]) == ("dipnet-slim-v2", 4, 1.0, "deploy")
    mirror = official_mirrors().build_mirror("dipnet-slim-v2", path)
    x = torch.rand(1, 3, 24, 27, generator=torch.Generator().manual_seed(2))
    with torch.no_grad():
        ours, official = model.network(x), mirror(x)
    assert official.std() > 0.05
    assert (ours - official).abs().max().item() <= 1e-5


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_train_form_folds_into_the_deploy_form(dtype):
    kwargs = dict(channels=8, mid_channels=6, esa_channels=4, num_blocks=2)
    train = randomise_parameters(DIPNetSlimV2(scale=2, deploy=False, **kwargs), seed=7, std=0.1).to(dtype).eval()
    x = torch.rand(1, 3, 17, 18, dtype=dtype, generator=torch.Generator().manual_seed(8))
    with torch.no_grad():
        expected = train(x)
        folded = deploy(copy.deepcopy(train))
        assert (folded(x) - expected).abs().max().item() <= FOLD_TOLERANCE[dtype]
    assert is_deployed(folded)
    assert list(folded.state_dict()) == list(DIPNetSlimV2(scale=2, **kwargs).state_dict())


def test_the_zoo_train_form_has_a_conv3xc_in_every_3x3_slot():
    train = get_entry("dipnet-slim-v2-train").build(4)
    # conv_1, three per block, ESA's conv3 per block, the upsampler's conv
    assert sum(isinstance(m, Conv3XC) for m in train.modules()) == 1 + 4 * 4 + 1
    assert not any(m.has_bias for m in (train.conv_1, train.block_1.c1_r, train.upsampler[0]))
    assert train.block_1.esa.conv3.has_bias
    assert state_dict_shapes(deploy(copy.deepcopy(train))) == state_dict_shapes(get_entry("dipnet-slim-v2").build(4))
