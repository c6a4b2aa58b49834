"""Anchors: which module paths qualify, the unknown-anchor error, pair checks, and the capture hooks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.compression.distill.anchors import (
    LISTED_NAMES,
    AnchorPair,
    FeatureCapture,
    anchor_names,
    check_anchor,
    check_pairs,
    closest_first,
    feature_shapes,
    pair_key,
    unknown_anchor_message,
)
from distillsr.errors import DistillsrError
from distillsr.models.zoo import build_model


class SharedActivation(nn.Module):
    """One activation module called twice, a tuple-returning child, a BatchNorm and a flat head."""

    def __init__(self) -> None:
        super().__init__()
        self.conv_a = nn.Conv2d(3, 4, 3, padding=1)
        self.norm = nn.BatchNorm2d(4)
        self.act = nn.ReLU()
        self.conv_b = nn.Conv2d(4, 6, 3, stride=2, padding=1)
        self.pair = Pair()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.flat = nn.Flatten()

    def forward(self, x):
        h = self.act(self.norm(self.conv_a(x)))
        h = self.act(self.conv_b(h))
        h, _ = self.pair(h)
        return h + self.flat(self.pool(h))[:, :, None, None]


class Pair(nn.Module):
    def forward(self, x):
        return x, x


def test_dipnet_anchors_are_its_module_paths_in_module_order():
    network = build_model("dipnet", 4, channels=8, mid_channels=8).network
    names = anchor_names(network)
    assert names[:3] == ["conv_1", "block_1", "block_1.c1_r"]
    assert {"block_1", "block_4", "block_2.esa", "block_3.c5", "conv_2", "upsampler", "upsampler.0"} <= set(names)
    assert "" not in names, "the whole network is not an anchor"
    shapes = feature_shapes(network, size=32)
    assert shapes["block_4"] == (8, 32, 32)
    assert shapes["upsampler.0"] == (48, 32, 32) and shapes["upsampler"] == (3, 128, 128)


def test_rfdn_blocks_are_anchors():
    network = build_model("e-rfdn", 4, channels=8, num_blocks=2).network
    names = anchor_names(network)
    assert {"fea_conv", "B1", "B2", "B1.esa", "LR_conv"} <= set(names)
    assert "B3" not in names


def test_only_modules_with_one_4d_output_per_forward_qualify():
    names = anchor_names(SharedActivation())
    assert names == ["conv_a", "norm", "conv_b", "pool"]  # act runs twice, pair returns a tuple, flat is 2-D


def test_listing_anchors_is_free_of_side_effects():
    network = SharedActivation().train()
    before = {k: v.clone() for k, v in network.state_dict().items()}
    torch.manual_seed(3)
    expected_draw = torch.rand(1)
    torch.manual_seed(3)
    anchor_names(network)
    assert torch.equal(torch.rand(1), expected_draw), "the global RNG did not move"
    after = network.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before), "BatchNorm statistics untouched"
    assert all(p.device.type == "cpu" for p in network.parameters())
    assert not network._forward_hooks and not any(m._forward_hooks for m in network.modules()), "no hook left"


def test_an_unknown_anchor_is_one_line_listing_valid_names_closest_first():
    shapes = feature_shapes(build_model("dipnet", 4, channels=8, mid_channels=8).network)
    with pytest.raises(DistillsrError) as caught:
        check_anchor("block_5", shapes, role="student", model="dipnet x4")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("unknown student anchor 'block_5' in dipnet x4")
    listed = message.split("closest first: ")[1]
    assert listed.startswith("block_1, block_2, block_3, block_4"), "same depth and most similar come first"
    assert f"(and {len(shapes) - LISTED_NAMES} more)" in message, "a long list is capped and says how many are left"
    assert check_anchor("block_2", shapes, role="student", model="x") == shapes["block_2"]


def test_closest_first_prefers_the_same_depth_then_similarity():
    valid = ["B1.c5", "fea_conv", "B1", "B4", "B1.esa"]
    assert closest_first("B5", valid)[:3] == ["B1", "B4", "fea_conv"]
    assert closest_first("B1.esb", valid)[0] == "B1.esa"


def test_a_short_list_is_complete():
    message = unknown_anchor_message("x", ["a", "b"], role="teacher", model="t")
    assert message.endswith("closest first: a, b")


def test_pairs_must_name_real_anchors_of_the_same_resolution_once():
    student = {"block_1": (8, 16, 16), "upsampler": (3, 64, 64)}
    teacher = {"B1": (50, 16, 16)}
    check_pairs([AnchorPair("block_1", "B1")], student, teacher)
    with pytest.raises(DistillsrError, match=r"upsampler -> B1: .* \(64x64 in the student, 16x16 in the teacher"):
        check_pairs([AnchorPair("upsampler", "B1")], student, teacher)
    with pytest.raises(DistillsrError, match="listed twice"):
        check_pairs([AnchorPair("block_1", "B1"), AnchorPair("block_1", "B1", 2.0)], student, teacher)
    with pytest.raises(DistillsrError, match="unknown teacher anchor 'B2'"):
        check_pairs([AnchorPair("block_1", "B2")], student, teacher)


def test_pair_keys_are_stable_and_free_of_dots():
    assert pair_key(AnchorPair("block_1.c5", "B1.esa")) == "block_1/c5:B1/esa"
    assert pair_key(AnchorPair("block_1", "B1")) != pair_key(AnchorPair("block_1", "B2"))
    with pytest.raises(DistillsrError, match="l1 or l2"):
        AnchorPair("a", "b", loss="l3")
    with pytest.raises(DistillsrError, match="zero or more"):
        AnchorPair("a", "b", weight=-1)


def test_capture_keeps_outputs_for_one_forward_and_removes_its_hooks():
    network = SharedActivation().eval()
    x = torch.rand(2, 3, 8, 8)
    capture = FeatureCapture(network, ["conv_b", "conv_a", "conv_b"])
    with capture as features:
        out = network(x)
    assert list(features) == ["conv_a", "conv_b"]
    assert torch.equal(features["conv_a"], network.conv_a(x))
    assert features["conv_b"].shape == (2, 6, 4, 4) and out.shape == (2, 6, 4, 4)
    assert not any(m._forward_hooks for m in network.modules())
    assert capture.missing() == []


def test_capture_of_a_missing_module_fails_cleanly():
    network = SharedActivation()
    with pytest.raises(DistillsrError, match="has no module 'conv_z'"), FeatureCapture(network, ["conv_a", "conv_z"]):
        pass
    assert not any(m._forward_hooks for m in network.modules()), "the hooks placed before the failure are gone"


def test_a_feature_changed_in_place_later_in_the_forward_is_captured_as_it_was():
    network = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(inplace=True))  # as in EDSR's blocks
    x = torch.rand(1, 3, 6, 6, requires_grad=True)
    with FeatureCapture(network, ["0"]) as features:
        network(x)
    with torch.no_grad():
        expected = network[0](x)
    assert bool((expected < 0).any()), "the conv output has negatives the ReLU would clear"
    assert torch.equal(features["0"], expected)
    features["0"].sum().backward()
    assert x.grad is not None, "the copy stays on the graph"
