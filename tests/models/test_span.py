"""SPAN as in the NTIRE 2025 kit: the official file (under ``params_ema``) loads key for key and
gives the kit's outputs; the train form (Conv3XC) folds into the deploy form, key for key."""

from __future__ import annotations

import copy

import pytest
import torch
from support import official_weights, state_dict_shapes
from support.mirrors import official_mirrors
from support.models import FOLD_TOLERANCE, randomise_parameters

from distillsr.checkpoints.model_loading import load_or_build
from distillsr.models.span import SPAN
from distillsr.models.zoo import get_entry
from distillsr.nn.conv3xc import Conv3XC
from distillsr.nn.reparam import deploy, is_deployed


def test_official_file_keys_and_count():
    state = torch.load(official_weights("ntire2025", "team46_span.pth"), map_location="cpu", weights_only=True)
    assert set(state) == {"params", "params_ema"}
    network = get_entry("span").build(4)
    assert list(network.state_dict()) == list(state["params_ema"])
    assert state_dict_shapes(network) == {key: tuple(t.shape) for key, t in state["params_ema"].items()}
    assert sum(p.numel() for p in network.parameters()) == 146_328
    assert "mean" not in network.state_dict()  # a constant of the architecture, as in the official code


def test_official_file_gives_the_kits_outputs():
    path = official_weights("ntire2025", "team46_span.pth")
    model = load_or_build(None, None, path)
    assert (model.name, model.scale, model.input_range, model.metadata["form"]) == ("span", 4, 1.0, "deploy")
    mirror = official_mirrors().build_mirror("span", path)
    x = torch.rand(1, 3, 22, 25, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        ours, official = model.network(x), mirror(x)
    assert official.std() > 0.05
    assert (ours - official).abs().max().item() <= 1e-5


def test_the_concatenation_takes_the_last_blocks_activated_first_conv():
    """The official block activates its first conv in place, so the concatenation sees SiLU of it."""
    network = randomise_parameters(SPAN(scale=2, channels=6, cat_channels=5, num_blocks=2), seed=2).eval()
    x = torch.rand(1, 3, 9, 8, generator=torch.Generator().manual_seed(0))
    seen = {}

    def keep_input(module, inputs, output) -> None:
        seen["cat"] = inputs[0]

    network.conv_cat.register_forward_hook(keep_input)
    with torch.no_grad():
        network(x)
        shallow = network.conv_1((x - network.mean) * 255.0)
        first, _ = network.block_1(shallow)
        expected = torch.nn.functional.silu(network.block_2.c1_r(first))
    assert torch.allclose(seen["cat"][:, 18:], expected, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_train_form_folds_into_the_deploy_form(dtype):
    kwargs = dict(channels=6, cat_channels=5, num_blocks=2)
    train = randomise_parameters(SPAN(scale=3, deploy=False, **kwargs), seed=5, std=0.05).to(dtype).eval()
    x = torch.rand(1, 3, 11, 10, dtype=dtype, generator=torch.Generator().manual_seed(6))
    with torch.no_grad():
        expected = train(x)
        folded = deploy(copy.deepcopy(train))
        scale = expected.abs().max().item()
        assert (folded(x) - expected).abs().max().item() <= FOLD_TOLERANCE[dtype] * max(1.0, scale)
    assert is_deployed(folded)
    assert list(folded.state_dict()) == list(SPAN(scale=3, **kwargs).state_dict())


def test_the_zoo_train_form_folds_into_the_kits_layout():
    train = get_entry("span-train").build(4)
    assert sum(isinstance(m, Conv3XC) for m in train.modules()) == 1 + 6 * 3 + 1
    folded = deploy(copy.deepcopy(train))
    assert state_dict_shapes(folded) == state_dict_shapes(get_entry("span").build(4))


def test_only_rgb_and_at_least_one_block():
    with pytest.raises(ValueError, match="takes 3 channels"):
        SPAN(in_channels=1)
    with pytest.raises(ValueError, match="at least one block"):
        SPAN(num_blocks=0)
