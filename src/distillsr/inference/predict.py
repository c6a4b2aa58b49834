"""Run an :class:`~distillsr.models.sr_model.SRModel` on one image held as a NumPy array."""

from __future__ import annotations

import numpy as np
import torch

from distillsr.errors import DistillsrError
from distillsr.inference.ensemble import self_ensemble as ensemble
from distillsr.models.sr_model import SRModel


def image_to_tensor(image: np.ndarray, channels: int | None) -> torch.Tensor:
    """An integer ``HxW[xC]`` image as a ``(1, C, H, W)`` float32 tensor in [0, 1].

    Greyscale goes through a three-channel model as replicated RGB (the convention the reference
    scores use); alpha is dropped — callers that keep alpha upscale it separately.
    """
    if not np.issubdtype(image.dtype, np.integer):
        raise DistillsrError(f"expected an integer image (uint8/uint16), got {image.dtype}")
    array = image.astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
    if array.ndim == 2:
        array = array[..., None]
    if array.shape[2] == 4 or array.shape[2] == 2:
        array = array[..., :-1]
    if channels is not None and array.shape[2] != channels:
        if array.shape[2] == 1:
            array = np.repeat(array, channels, axis=2)
        else:
            raise DistillsrError(f"model takes {channels} channels but the image has {array.shape[2]}")
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None]


def tensor_to_image(tensor: torch.Tensor) -> np.ndarray:
    """A ``(1, C, H, W)`` tensor as a float32 ``HxWxC`` array (``HxW`` for one channel), unclipped."""
    array = tensor[0].detach().to("cpu", torch.float32).numpy().transpose(1, 2, 0)
    return array[..., 0] if array.shape[2] == 1 else array


@torch.inference_mode()
def predict(model: SRModel, image: np.ndarray, *, self_ensemble: bool = False) -> np.ndarray:
    """Upscale an integer image; returns float32 in (about) [0, 1], not yet rounded or clipped."""
    x = image_to_tensor(image, model.in_channels).to(model.device)
    out = ensemble(model, x) if self_ensemble else model(x)
    expected = (x.shape[-2] * model.scale, x.shape[-1] * model.scale)
    if tuple(out.shape[-2:]) != expected:
        raise DistillsrError(
            f"{model.name} returned {tuple(out.shape[-2:])} for a {tuple(x.shape[-2:])} input; expected {expected}"
        )
    return tensor_to_image(out)
