"""Adapters: 1x1 maps between anchor widths, identity where equal, stable keys, seeded weights."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.compression.distill.adapters import Adapters, build_adapters
from distillsr.compression.distill.anchors import AnchorPair
from distillsr.errors import DistillsrError

PAIRS = (AnchorPair("block_1", "B1"), AnchorPair("block_4.c5", "B4"), AnchorPair("block_2", "B2"))
STUDENT = {"block_1": 8, "block_4.c5": 8, "block_2": 50}
TEACHER = {"B1": 50, "B4": 32, "B2": 50}


def test_widths_are_mapped_by_1x1_convs_and_equal_widths_by_the_identity():
    adapters = build_adapters(PAIRS, STUDENT, TEACHER)
    assert isinstance(adapters, nn.ModuleDict) and isinstance(adapters, Adapters)
    assert list(adapters.keys()) == ["block_1:B1", "block_4/c5:B4", "block_2:B2"]
    conv = adapters["block_1:B1"]
    assert isinstance(conv, nn.Conv2d) and conv.kernel_size == (1, 1)
    assert (conv.in_channels, conv.out_channels) == (8, 50)
    assert isinstance(adapters["block_2:B2"], nn.Identity)
    features = {"block_1:B1": torch.rand(2, 8, 5, 5), "block_4/c5:B4": torch.rand(2, 8, 5, 5),
                "block_2:B2": torch.rand(2, 50, 5, 5)}
    adapted = adapters(features)
    assert adapted["block_1:B1"].shape == (2, 50, 5, 5) and adapted["block_4/c5:B4"].shape == (2, 32, 5, 5)
    assert adapted["block_2:B2"] is features["block_2:B2"]
    expected = torch.einsum("oi,nihw->nohw", conv.weight[:, :, 0, 0], features["block_1:B1"]) + conv.bias[:, None, None]
    assert torch.allclose(adapted["block_1:B1"], expected, atol=1e-6)


def test_state_dict_names_are_the_pair_keys():
    state = build_adapters(PAIRS, STUDENT, TEACHER).state_dict()
    assert list(state) == ["block_1:B1.weight", "block_1:B1.bias", "block_4/c5:B4.weight", "block_4/c5:B4.bias"]


def test_the_seed_alone_fixes_the_weights_and_the_global_rng_is_untouched():
    torch.manual_seed(11)
    expected_draw = torch.rand(3)
    torch.manual_seed(11)
    first = build_adapters(PAIRS, STUDENT, TEACHER, seed=4)
    assert torch.equal(torch.rand(3), expected_draw)
    again = build_adapters(PAIRS, STUDENT, TEACHER, seed=4)
    other = build_adapters(PAIRS, STUDENT, TEACHER, seed=5)
    for key, tensor in first.state_dict().items():
        assert torch.equal(tensor, again.state_dict()[key]), key
    assert not torch.equal(first["block_1:B1"].weight, other["block_1:B1"].weight)
    weight = first["block_1:B1"].weight
    assert weight.abs().max() <= 1 / 8**0.5 and weight.std() > 0.05, "fan-in scaled, not degenerate"
    assert torch.count_nonzero(first["block_1:B1"].bias) == 0


def test_a_saved_state_loads_into_freshly_built_adapters():
    trained = build_adapters(PAIRS, STUDENT, TEACHER, seed=0)
    with torch.no_grad():
        trained["block_1:B1"].weight.add_(1.0)
    fresh = build_adapters(PAIRS, STUDENT, TEACHER, seed=0)
    fresh.load_state_dict(trained.state_dict(), strict=True)
    assert torch.equal(fresh["block_1:B1"].weight, trained["block_1:B1"].weight)


def test_parameters_are_trainable_and_move_to_the_device_asked():
    adapters = build_adapters(PAIRS[:1], STUDENT, TEACHER, device="cpu")
    assert all(p.requires_grad for p in adapters.parameters())
    assert sum(p.numel() for p in adapters.parameters()) == 8 * 50 + 50


def test_refusals():
    with pytest.raises(DistillsrError, match="listed twice"):
        build_adapters(PAIRS[:1] * 2, STUDENT, TEACHER)
    with pytest.raises(DistillsrError, match="no adapter for the anchor pair 'x:y'"):
        build_adapters(PAIRS, STUDENT, TEACHER)({"x:y": torch.rand(1, 8, 2, 2)})
