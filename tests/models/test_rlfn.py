"""RLFN / RLFN-S / RLFN-NTIRE: the official files load key for key into distillsr's RLFN (found by
their sha256, read as 0-255 input) and give the official code's outputs (benchmarks/official_mirrors.py)."""

from __future__ import annotations

import pytest
import torch
from support import official_weights, state_dict_shapes
from support.mirrors import official_mirrors

from distillsr.checkpoints.model_loading import load_or_build
from distillsr.models.dipnet import DIPNet
from distillsr.models.rlfn import RLFN
from distillsr.models.zoo import get_entry

# (zoo name, file, scale, parameters counted from the file)
FILES = [
    ("rlfn", "rlfn_x2.pth", 2, 526_856),
    ("rlfn", "rlfn_x4.pth", 4, 543_740),
    ("rlfn-s", "rlfn_s_x2.pth", 2, 454_620),
    ("rlfn-s", "rlfn_s_x4.pth", 4, 470_208),
    ("rlfn-ntire", "rlfn_ntire_x4.pth", 4, 317_218),
]
IDS = [filename for _, filename, _, _ in FILES]


@pytest.mark.parametrize("name,filename,scale,count", FILES, ids=IDS)
def test_zoo_entry_has_the_official_files_keys_and_count(name, filename, scale, count):
    state = torch.load(official_weights("rlfn", filename), map_location="cpu", weights_only=True)
    network = get_entry(name).build(scale)
    assert list(network.state_dict()) == list(state)  # the same order too
    assert state_dict_shapes(network) == {key: tuple(tensor.shape) for key, tensor in state.items()}
    assert sum(t.numel() for t in state.values()) == count == sum(p.numel() for p in network.parameters())
    assert get_entry(name).params[scale] == count


@pytest.mark.parametrize("name,filename,scale,count", FILES, ids=IDS)
def test_official_files_give_the_official_codes_outputs(name, filename, scale, count):
    path = official_weights("rlfn", filename)
    model = load_or_build(None, None, path)
    assert (model.name, model.scale, model.input_range) == (name, scale, 255.0)
    mirrors = official_mirrors()
    mirror = mirrors.build_mirror(name, path, upscale=scale)
    assert mirrors.INPUT_RANGE[name] == 255.0
    x = torch.rand(1, 3, 24, 21, generator=torch.Generator().manual_seed(scale)) * 255.0
    with torch.no_grad():
        ours, official = model.network(x), mirror(x)
    assert ours.shape == official.shape == (1, 3, 24 * scale, 21 * scale)
    assert official.std() > 1.0  # a real picture on the 0-255 scale, not a constant
    assert (ours - official).abs().max().item() <= 1e-4  # 0-255 scale


def test_rlfn_is_dipnet_with_every_bias():
    """The two families share a layout; what sets them apart is not in the tensors (the input range)."""
    rlfn = RLFN(scale=3, channels=12, mid_channels=10, esa_channels=4, num_blocks=2)
    dipnet = DIPNet(scale=3, channels=12, mid_channels=10, esa_channels=4, num_blocks=2, bias=True, block_bias=True)
    assert state_dict_shapes(rlfn) == state_dict_shapes(dipnet)
    assert get_entry("rlfn").input_range == 255.0 and get_entry("dipnet").input_range == 1.0


def test_mid_channels_default_to_the_trunk_width():
    assert RLFN(channels=20).block_1.c1_r.out_channels == 20
    assert RLFN(channels=46, mid_channels=48).block_1.c1_r.out_channels == 48
