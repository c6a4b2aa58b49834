"""VGG19Features: torchvision's layout loads strictly into the layers kept, the five maps have VGG's shapes, it stays frozen."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.compression.contrastive.vgg import (
    FEATURE_INDICES,
    IGNORED_SHAPES,
    KEPT_LAYERS,
    VGG19Features,
)
from distillsr.errors import DistillsrError

# torchvision's vgg19 "features": the index of every conv, and the index each relu*_1 slice ends at.
TORCHVISION_CONVS = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
TORCHVISION_SLICES = ((0, 2), (2, 7), (7, 12), (12, 21), (21, 30))


def test_the_kept_layers_sit_at_torchvision_indices():
    features = VGG19Features().features
    assert len(features) == KEPT_LAYERS
    convs = tuple(i for i, layer in enumerate(features) if isinstance(layer, nn.Conv2d))
    assert convs == tuple(i for i in TORCHVISION_CONVS if i < KEPT_LAYERS)
    assert [i for i, layer in enumerate(features) if isinstance(layer, nn.MaxPool2d)] == [4, 9, 18, 27]
    assert FEATURE_INDICES == tuple(stop - 1 for _, stop in TORCHVISION_SLICES)
    assert all(isinstance(features[i], nn.ReLU) for i in FEATURE_INDICES)
    assert set(IGNORED_SHAPES) == {f"features.{i}.{p}" for i in (30, 32, 34) for p in ("weight", "bias")} | {
        f"classifier.{i}.{p}" for i in (0, 3, 6) for p in ("weight", "bias")
    }
    assert IGNORED_SHAPES["classifier.0.weight"] == (4096, 25088)


def test_a_torchvision_state_dict_loads_strictly_and_gives_vgg_shaped_features(vgg_state):
    vgg = VGG19Features()
    vgg.load_torchvision_state(vgg_state)
    loaded = vgg.state_dict()
    assert set(loaded) == {k for k in vgg_state if k not in IGNORED_SHAPES}
    assert all(torch.equal(loaded[name], vgg_state[name]) for name in loaded)
    features = vgg(torch.rand(2, 3, 48, 40))
    assert [tuple(f.shape) for f in features] == [
        (2, 64, 48, 40), (2, 128, 24, 20), (2, 256, 12, 10), (2, 512, 6, 5), (2, 512, 3, 2)
    ]
    # each map is the torchvision slice applied to the previous one (checked with plain convs)
    x = torch.rand(1, 3, 32, 32)
    expected = x
    for (start, stop), got in zip(TORCHVISION_SLICES, vgg(x)):
        for index in range(start, stop):
            key = f"features.{index}.weight"
            if key in vgg_state:
                expected = torch.nn.functional.conv2d(expected, vgg_state[key], vgg_state[f"features.{index}.bias"], padding=1)
            elif index in (4, 9, 18, 27):
                expected = torch.nn.functional.max_pool2d(expected, 2)
            else:
                expected = expected.clamp_min(0)
        torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda s: s.pop("features.16.weight"), r"missing tensor\(s\) \(features\.16\.weight\)"),
        (lambda s: s.__setitem__("features.17.weight", torch.zeros(3)), r"unexpected tensor\(s\) \(features\.17\.weight\)"),
        (lambda s: s.__setitem__("features.0.weight", torch.zeros(64, 3, 5, 5)), r"features\.0\.weight \[64,3,5,5\] vs \[64,3,3,3\]"),
    ],
    ids=["missing", "unexpected", "shape"],
)
def test_a_file_that_is_not_vgg19_is_refused_naming_the_tensor(vgg_state, change, message):
    state = dict(vgg_state)
    change(state)
    with pytest.raises(DistillsrError, match=message) as error:
        VGG19Features().load_torchvision_state(state, source="my.pth")
    assert str(error.value).startswith("my.pth is not torchvision's ImageNet VGG-19") and "\n" not in str(error.value)


def test_a_vgg16_layout_is_refused(vgg_state):
    """VGG-16's convs sit at other indices (17, 24, 26 ...), so its file cannot pass for VGG-19's."""
    vgg16 = {}
    for old, new in zip((0, 2, 5, 7, 10, 12, 14, 19, 21, 23, 28), (0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24)):
        vgg16[f"features.{new}.weight"] = vgg_state[f"features.{old}.weight"]
        vgg16[f"features.{new}.bias"] = vgg_state[f"features.{old}.bias"]
    with pytest.raises(DistillsrError, match="missing tensor"):
        VGG19Features().load_torchvision_state(vgg16)


def test_it_stays_frozen_and_in_eval_mode_but_passes_gradients_to_its_input():
    vgg = VGG19Features()
    vgg.train()
    assert not vgg.training and not any(m.training for m in vgg.modules())
    assert not any(p.requires_grad for p in vgg.parameters())
    image = torch.rand(1, 3, 16, 16, requires_grad=True)
    sum(f.sum() for f in vgg(image)).backward()
    assert image.grad is not None and image.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())


def test_an_image_smaller_than_four_poolings_allow_is_refused():
    with pytest.raises(DistillsrError, match="at least 16x16"):
        VGG19Features()(torch.rand(1, 3, 8, 32))
