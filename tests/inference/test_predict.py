"""Running a model on one image array: shape checks, and NaN outputs blamed on the weights."""

from __future__ import annotations

import numpy as np
import pytest
from support.models import random_state

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.errors import DistillsrError
from distillsr.inference.predict import predict
from distillsr.models.zoo import build_model


def test_a_model_that_emits_nan_is_blamed_on_its_weights(tmp_path):
    state = {k: v * 1e30 if v.is_floating_point() else v for k, v in random_state("rfdn", 4).items()}  # overflows to inf/NaN
    path = tmp_path / "huge.safetensors"
    save_checkpoint(path, state, CheckpointInfo(model="rfdn", scale=4))
    model = load_or_build(None, None, str(path))
    with pytest.raises(DistillsrError, match=rf"produced NaN or infinite values: its weights \({path}\)"):
        predict(model, np.full((20, 20, 3), 128, np.uint8))


def test_grey_goes_through_a_colour_model_as_rgb_and_comes_back_rgb():
    """Evaluation keeps three channels so the scorer rounds before taking luma (as MATLAB does)."""
    model = build_model("bicubic", 2)
    model.in_channels = 3
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8) * 3
    out = predict(model, grey)
    assert out.shape == (16, 16, 3) and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    np.testing.assert_array_equal(out[..., 0], out[..., 2])
