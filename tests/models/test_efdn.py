"""EFDN: the NTIRE 2025 kit's baseline file loads key for key and gives the kit's outputs; the
train form (EDBB convs) folds into the deploy form, key for key; the kit's parameter count."""

from __future__ import annotations

import copy

import pytest
import torch
from support import official_weights, state_dict_shapes
from support.mirrors import official_mirrors
from support.models import FOLD_TOLERANCE, randomise_parameters

from distillsr.checkpoints.model_loading import load_or_build
from distillsr.models.efdn import EFDN, Cell
from distillsr.models.zoo import get_entry
from distillsr.nn.edbb import EDBB
from distillsr.nn.reparam import deploy, is_deployed


def test_official_file_keys_and_the_kits_parameter_count():
    state = torch.load(official_weights("ntire2025", "team00_EFDN.pth"), map_location="cpu", weights_only=True)
    network = get_entry("efdn").build(4)
    assert list(network.state_dict()) == list(state)
    assert state_dict_shapes(network) == {key: tuple(tensor.shape) for key, tensor in state.items()}
    assert sum(p.numel() for p in network.parameters()) == 276_192  # the kit: 0.276 M


def test_official_file_gives_the_kits_outputs():
    path = official_weights("ntire2025", "team00_EFDN.pth")
    model = load_or_build(None, None, path)
    assert (model.name, model.scale, model.input_range, model.metadata["form"]) == ("efdn", 4, 1.0, "deploy")
    mirror = official_mirrors().build_mirror("efdn", path)
    x = torch.rand(1, 3, 26, 23, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours, official = model.network(x), mirror(x)
    assert official.std() > 0.05 and ((official > 0) & (official < 1)).float().mean() > 0.5  # not clamped flat
    assert (ours - official).abs().max().item() <= 1e-6


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_train_cell_folds_into_a_deploy_cell(dtype):
    train = randomise_parameters(Cell(8, deploy=False), seed=3).to(dtype).eval()
    x = torch.randn(1, 8, 17, 16, dtype=dtype, generator=torch.Generator().manual_seed(4))
    with torch.no_grad():
        expected = train(x)
        folded = deploy(copy.deepcopy(train))
        assert (folded(x) - expected).abs().max().item() <= FOLD_TOLERANCE[dtype]
    assert state_dict_shapes(folded) == state_dict_shapes(Cell(8, deploy=True))


def test_train_form_folds_key_for_key_into_the_official_layout():
    train = get_entry("efdn-train").build(4)
    assert sum(isinstance(m, EDBB) for m in train.modules()) == 8  # conv2, conv3 of four cells
    folded = deploy(copy.deepcopy(train))
    assert is_deployed(folded)
    assert list(folded.state_dict()) == list(EFDN().state_dict())
    assert state_dict_shapes(folded) == state_dict_shapes(EFDN())


def test_channels_must_leave_room_for_esa():
    with pytest.raises(ValueError, match="at least 4 channels"):
        EFDN(channels=2)
