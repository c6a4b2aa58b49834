"""Run an :class:`~distillsr.models.sr_model.SRModel` on one image held as a NumPy array (what ``eval`` scores)."""

from __future__ import annotations

from functools import partial

import numpy as np
import torch

from distillsr.errors import DistillsrError
from distillsr.imaging.tensors import image_to_tensor, tensor_to_image
from distillsr.inference.ensemble import self_ensemble as ensemble
from distillsr.inference.forward import check_finite, forward
from distillsr.inference.precision_names import Precision
from distillsr.models.sr_model import SRModel


@torch.inference_mode()
def predict(model: SRModel, image: np.ndarray, *, self_ensemble: bool = False, precision: Precision = "fp32") -> np.ndarray:
    """Upscale an integer image; returns float32 in (about) [0, 1], not yet rounded or clipped.

    ``fp32`` is plain eager float32 in NCHW, the way papers score; ``bf16``/``fp16`` autocast as upscaling does.
    """
    x = image_to_tensor(image, model.in_channels).to(model.device)
    out = forward(partial(ensemble, model) if self_ensemble else model, x, precision, x.device, fast_layout=False)
    expected = (x.shape[-2] * model.scale, x.shape[-1] * model.scale)
    if tuple(out.shape[-2:]) != expected:
        raise DistillsrError(
            f"{model.name} returned {tuple(out.shape[-2:])} for a {tuple(x.shape[-2:])} input; expected {expected}"
        )
    return tensor_to_image(check_finite(out, model))
