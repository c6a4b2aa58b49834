"""The original Oxford VGG-19 weights from Keras' ``.h5`` file, turned into torchvision's layout and input convention.

torchvision's ``vgg19-dcbb9e9d.pth`` is one ImageNet VGG-19; the network Simonyan & Zisserman released
(Caffe, CC BY 4.0) is the other, and Keras ships it as
``vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5`` (:data:`KERAS_VGG19_URL`; the same file is
bundled in some PyPI packages, which is how a machine that reaches only package registries gets it).
Either serves CSD's contrastive loss: the loss is a ratio of feature distances per layer, so what
matters is that the features are ImageNet-trained, not which training run made them.

Two conversions make the Keras file a drop-in torchvision state dict:

* **layout**: Keras kernels are ``[kh, kw, in, out]``; torch's are ``[out, in, kh, kw]``. Both
  frameworks compute cross-correlation, so it is a transpose, with no spatial flip.
* **input convention**: the Caffe network expects BGR pixels in 0-255 minus the BGR mean
  (:data:`CAFFE_MEAN_BGR`) and no scaling; torchvision's expects RGB in [0, 1] minus
  :data:`~distillsr.compression.contrastive.loss.IMAGENET_MEAN`, divided by its std. The first conv is
  linear in its input, so the change is folded into its weights and bias exactly, for every pixel whose
  3x3 window lies inside the image. On the one-pixel border the zero padding differs: torchvision's zero
  is a normalised zero (the ImageNet mean colour), Caffe's is the BGR mean colour, 0.41 and 0.50 grey
  levels apart in blue and green. That border is the only place the folded network differs from the
  original, by under 0.3% of relu1_1 there.

Reading ``.h5`` needs h5py (``pip install h5py``); without it the error says so.
"""

from __future__ import annotations

from pathlib import Path

import torch

from distillsr.errors import DistillsrError

KERAS_VGG19_FILENAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
KERAS_VGG19_URL = f"https://storage.googleapis.com/tensorflow/keras-applications/vgg19/{KERAS_VGG19_FILENAME}"
KERAS_VGG19_SHA256 = "bde7da0dfd621cbf86e11ce04e4946a9a42634c2cfd21318bba090d860699e35"
"""sha256 of Keras' file (its md5 is the ``253f8cb5...`` Keras publishes): checked when a file has that name."""

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
"""The per-channel mean the Caffe VGG subtracts from 0-255 BGR pixels."""

KERAS_LAYERS: tuple[str, ...] = tuple(
    f"block{block}_conv{conv}" for block, convs in ((1, 2), (2, 2), (3, 4), (4, 4), (5, 4)) for conv in range(1, convs + 1)
)
"""Keras' name of each 3x3 conv, in order: the convs of torchvision's ``features`` in the same order."""


def _h5py():
    try:
        import h5py
    except ImportError:
        raise DistillsrError("reading Keras' VGG-19 .h5 file needs h5py: pip install h5py") from None
    return h5py


def _layer_arrays(group) -> tuple:
    """(kernel, bias) of one Keras layer group, whichever Keras version named the datasets."""
    found: dict[int, object] = {}

    def visit(_name, item):
        if hasattr(item, "shape") and len(item.shape) in (1, 4):
            found.setdefault(len(item.shape), item)

    group.visititems(visit)
    if 4 not in found or 1 not in found:
        raise DistillsrError(f"layer {group.name} holds no 4-d kernel and 1-d bias")
    return found[4][()], found[1][()]


def read_keras_vgg19(path: Path) -> dict[str, torch.Tensor]:
    """The convolutions of Keras' VGG-19 file as torchvision's ``features.<i>.weight/bias``, for torchvision input."""
    from distillsr.compression.contrastive.vgg import conv_indices

    h5py = _h5py()
    try:
        with h5py.File(path, "r") as handle:
            root = handle["model_weights"] if "model_weights" in handle else handle  # a whole saved model, or weights
            missing = [name for name in KERAS_LAYERS if name not in root]
            if missing:
                raise DistillsrError(f"{path} is not Keras' VGG-19 weights file: it has no layer {missing[0]}")
            arrays = [_layer_arrays(root[name]) for name in KERAS_LAYERS]
    except OSError as error:
        raise DistillsrError(f"{path} is not a readable HDF5 (.h5) file ({error})") from None
    state: dict[str, torch.Tensor] = {}
    for index, (kernel, bias) in zip(conv_indices(), arrays):
        state[f"features.{index}.weight"] = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy()).float()
        state[f"features.{index}.bias"] = torch.from_numpy(bias.copy()).float()
    first = f"features.{conv_indices()[0]}"
    state[f"{first}.weight"], state[f"{first}.bias"] = caffe_to_torchvision_input(state[f"{first}.weight"], state[f"{first}.bias"])
    return state


def caffe_to_torchvision_input(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first conv of a Caffe VGG rewritten to take torchvision's input (see the module doc).

    With ``x`` RGB in [0, 1], Caffe's input channel ``j`` (BGR) is ``255 x[2-j] - mean_bgr[j]`` and
    torchvision's channel ``k`` is ``(x[k] - m[k]) / s[k]``, so ``x[k] = s[k] n[k] + m[k]``. Substituting,
    the new kernel of channel ``k`` is ``255 s[k]`` times the old kernel of BGR channel ``2-k``, and the
    constant part, ``sum_j (255 m[2-j] - mean_bgr[j]) * sum(kernel_j)``, joins the bias.
    """
    from distillsr.compression.contrastive.loss import IMAGENET_MEAN, IMAGENET_STD

    w = weight.double()
    mean = torch.tensor(IMAGENET_MEAN, dtype=torch.float64)
    std = torch.tensor(IMAGENET_STD, dtype=torch.float64)
    new_weight = w.flip(1) * (255.0 * std).view(1, 3, 1, 1)
    offset_bgr = 255.0 * mean.flip(0) - torch.tensor(CAFFE_MEAN_BGR, dtype=torch.float64)
    new_bias = bias.double() + (w.sum(dim=(2, 3)) * offset_bgr.view(1, 3)).sum(dim=1)
    return new_weight.to(weight.dtype), new_bias.to(bias.dtype)
