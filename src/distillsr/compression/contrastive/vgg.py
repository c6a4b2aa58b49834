"""VGG-19's convolutional features up to relu5_1, without torchvision: the embedding of CSD's contrastive loss.

CSD compares images by their VGG-19 features after relu1_1, relu2_1, relu3_1, relu4_1 and relu5_1
(torchvision's ``features[0:2]``, ``[2:7]``, ``[7:12]``, ``[12:21]``, ``[21:30]``). Depending on
torchvision for one frozen network would pull in a second package with its own release train, so
the network is written here: :attr:`VGG19Features.features` is an ``nn.Sequential`` whose indices
are torchvision's, which makes the ImageNet state dict ``vgg19-dcbb9e9d.pth`` (keys
``features.<i>.weight/bias`` and ``classifier.*``) load key for key into the layers kept. The
layers after relu5_1 (``features.30``-``features.36``) and the classifier take no part in the
loss: their tensors are accepted in a file and ignored (:data:`IGNORED_SHAPES`), anything else in
the file is an error.

The network is frozen three ways, as a teacher is: no parameter requires grad, it stays in eval
mode whatever ``train()`` asks, and callers compute the features they do not differentiate under
``no_grad``. Gradients still flow *through* it to the image it is given (the student's output).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn

from distillsr.checkpoints.misfit import misfits
from distillsr.errors import DistillsrError

# torchvision's configuration "E": channels of each 3x3 conv, "M" a 2x2 max-pool.
_CONFIG_E: tuple[int | str, ...] = (
    64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M",
)
KEPT_LAYERS = 30
"""``features[0:30]``: everything up to and including relu5_1."""

FEATURE_NAMES: tuple[str, ...] = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
FEATURE_INDICES: tuple[int, ...] = (1, 6, 11, 20, 29)
"""Index in ``features`` of each ReLU whose output is a feature (ends of the slices [0:2] ... [21:30])."""

MIN_INPUT_SIZE = 16
"""Four 2x2 poolings before relu5_1: a smaller image has no pixel left there."""


def _layers(config: tuple[int | str, ...]) -> list[tuple[int, nn.Module]]:
    """(torchvision index, module) of every layer of ``features`` built from ``config``."""
    layers: list[tuple[int, nn.Module]] = []
    channels = 3
    for item in config:
        if item == "M":
            layers.append((len(layers), nn.MaxPool2d(kernel_size=2, stride=2)))
        else:
            out = int(item)
            layers.append((len(layers), nn.Conv2d(channels, out, kernel_size=3, padding=1)))
            layers.append((len(layers), nn.ReLU(inplace=False)))
            channels = out
    return layers


def conv_indices() -> tuple[int, ...]:
    """torchvision's ``features`` index of each of VGG-19's 16 convolutions, in order (0, 2, 5, ... 34)."""
    return tuple(index for index, layer in _layers(_CONFIG_E) if isinstance(layer, nn.Conv2d))


def _full_shapes() -> dict[str, tuple[int, ...]]:
    """Every tensor of torchvision's ``vgg19`` state dict and its shape."""
    shapes: dict[str, tuple[int, ...]] = {}
    for index, layer in _layers(_CONFIG_E):
        if isinstance(layer, nn.Conv2d):
            shapes[f"features.{index}.weight"] = tuple(layer.weight.shape)
            shapes[f"features.{index}.bias"] = (layer.out_channels,)
    for index, out, inp in ((0, 4096, 512 * 7 * 7), (3, 4096, 4096), (6, 1000, 4096)):
        shapes[f"classifier.{index}.weight"] = (out, inp)
        shapes[f"classifier.{index}.bias"] = (out,)
    return shapes


class VGG19Features(nn.Module):
    """Frozen VGG-19 ``features[0:30]``; ``forward(x)`` returns the five relu*_1 maps, shallow first.

    ``x`` is what VGG expects (ImageNet-normalised RGB, or whatever the caller decided); this module
    does no preprocessing, so the contrastive loss keeps that choice in one place.
    """

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(*(layer for index, layer in _layers(_CONFIG_E) if index < KEPT_LAYERS))
        self.requires_grad_(False)
        super().train(False)

    def train(self, mode: bool = True) -> VGG19Features:
        """Always eval: a frozen feature extractor never changes behaviour with its owner's mode."""
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.shape[-1] < MIN_INPUT_SIZE or x.shape[-2] < MIN_INPUT_SIZE:
            raise DistillsrError(
                f"VGG-19 features need images of at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE} px "
                f"(four poolings before relu5_1), got {x.shape[-2]}x{x.shape[-1]}"
            )
        outputs = []
        wanted = set(FEATURE_INDICES)
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                outputs.append(x)
        return outputs

    @staticmethod
    def expected_shapes() -> dict[str, tuple[int, ...]]:
        """The tensors a weights file must hold for this module (torchvision's names and shapes)."""
        return {name: shape for name, shape in _full_shapes().items() if _kept(name)}

    def load_torchvision_state(self, state_dict: Mapping[str, torch.Tensor], source: str = "the file") -> None:
        """Load a torchvision-layout VGG-19 state dict: every kept tensor must be there with its shape,
        the layers after relu5_1 and the classifier are ignored, any other tensor is an error."""
        if not isinstance(state_dict, Mapping) or not all(isinstance(v, torch.Tensor) for v in state_dict.values()):
            raise DistillsrError(f"{source} is not a VGG-19 state dict (a mapping of names to tensors)")
        kept = {name: tensor for name, tensor in state_dict.items() if name not in IGNORED_SHAPES}
        problems = misfits(kept, self.expected_shapes())
        if problems:
            raise DistillsrError(
                f"{source} is not torchvision's ImageNet VGG-19 (vgg19-*.pth layout): {'; '.join(problems)}"
            )
        with torch.no_grad():
            own = self.state_dict()
            for name, tensor in kept.items():
                own[name].copy_(tensor.to(own[name].dtype))


def _kept(name: str) -> bool:
    """Whether a torchvision key belongs to ``features[0:30]``."""
    parts = name.split(".")
    return parts[0] == "features" and int(parts[1]) < KEPT_LAYERS


IGNORED_SHAPES: dict[str, tuple[int, ...]] = {name: shape for name, shape in _full_shapes().items() if not _kept(name)}
"""Tensors of a torchvision VGG-19 file that the loss does not use (conv5_2..5_4, the classifier)."""

