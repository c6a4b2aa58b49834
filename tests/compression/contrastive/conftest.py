"""Shared pieces of the contrastive tests: a VGG-19 weights file in torchvision's layout, made locally."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from distillsr.compression.contrastive.vgg import IGNORED_SHAPES, VGG19Features


def torchvision_vgg19_state(seed: int = 0, *, ignored: bool = True) -> dict[str, torch.Tensor]:
    """Random tensors under torchvision's ``vgg19`` names and shapes (what ``vgg19-dcbb9e9d.pth`` holds).

    ``ignored``: also the tensors the loss does not use (conv5_2-5_4, the classifier); the
    classifier's are stood in for by one-element tensors, since they are ignored by name and the
    real ones are 120 M values.
    """
    generator = torch.Generator().manual_seed(seed)
    state = {name: torch.randn(shape, generator=generator) * 0.05 for name, shape in VGG19Features.expected_shapes().items()}
    if ignored:
        for name, shape in IGNORED_SHAPES.items():
            state[name] = torch.zeros(1) if name.startswith("classifier") else torch.randn(shape, generator=generator) * 0.05
    return state


@pytest.fixture(scope="session")
def vgg_state() -> dict[str, torch.Tensor]:
    return torchvision_vgg19_state()


@pytest.fixture(scope="session")
def vgg_file(tmp_path_factory, vgg_state) -> Path:
    """The state dict saved with ``torch.save``, as torchvision's file is (any name without a hash)."""
    path = tmp_path_factory.mktemp("vgg") / "vgg19_imagenet.pth"
    torch.save(vgg_state, path)
    return path
