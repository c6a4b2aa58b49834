"""Run an :class:`~distillsr.models.sr_model.SRModel` on one image held as a NumPy array."""

from __future__ import annotations

import numpy as np
import torch

from distillsr.errors import DistillsrError
from distillsr.imaging.tensors import image_to_tensor, tensor_to_image
from distillsr.inference.ensemble import self_ensemble as ensemble
from distillsr.inference.fast_path import Precision, computing_at
from distillsr.models.sr_model import SRModel


@torch.inference_mode()
def predict(model: SRModel, image: np.ndarray, *, self_ensemble: bool = False, precision: Precision = "fp32") -> np.ndarray:
    """Upscale an integer image; returns float32 in (about) [0, 1], not yet rounded or clipped.

    ``fp32`` is plain eager float32, the way papers score; ``bf16``/``fp16`` autocast as upscaling does.
    """
    x = image_to_tensor(image, model.in_channels).to(model.device)
    with computing_at(precision, x.device):
        out = (ensemble(model, x) if self_ensemble else model(x)).float()
    expected = (x.shape[-2] * model.scale, x.shape[-1] * model.scale)
    if tuple(out.shape[-2:]) != expected:
        raise DistillsrError(
            f"{model.name} returned {tuple(out.shape[-2:])} for a {tuple(x.shape[-2:])} input; expected {expected}"
        )
    if not bool(torch.isfinite(out).all()):
        raise DistillsrError(non_finite_output_message(model))
    return tensor_to_image(out)


def non_finite_output_message(model: object) -> str:
    """Blame the weights, naming the file: finite [0, 1] inputs cannot make a sound model emit NaN."""
    metadata = getattr(model, "metadata", None) or {}
    source = f" ({metadata['weights']})" if metadata.get("weights") else ""
    name = getattr(model, "name", "the model")
    return f"{name} produced NaN or infinite values: its weights{source} are probably broken"
