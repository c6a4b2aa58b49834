"""The upscale session shared by ``distillsr upscale`` and :func:`distillsr.upscale`: one sequence, one place."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import data

from distillsr import api
from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.errors import DistillsrError
from distillsr.inference.resolve import resolve_model
from distillsr.inference.session import upscale_session
from distillsr.models.zoo import build_model

PHOTO = np.ascontiguousarray(data.astronaut()[100:124, 200:232])  # 24 x 32


def test_a_session_upscales_at_its_output_scale_as_the_api_does():
    with upscale_session("bicubic", scale=2.5, device="cpu", precision="fp32", tile=0) as session:
        assert session.resized and session.outscale == 2.5 and session.model.scale == 3
        out = session.upscale(PHOTO)
    assert out.shape == (60, 80, 3)
    np.testing.assert_array_equal(out, api.upscale(PHOTO, "bicubic", scale=2.5, device="cpu", precision="fp32", tile=0))
    with upscale_session("bicubic", scale=2, device="cpu", tile=0) as session:
        assert not session.resized and session.chooser is None and session.width is None


def test_the_width_holds_for_the_session_only(tmp_path):
    kwargs = {"channels": 16, "num_blocks": 1, "cca_reduction": 4}
    path = tmp_path / "slim.safetensors"
    save_checkpoint(path, build_model("imdn-csd", 2, **kwargs).network.state_dict(), CheckpointInfo("imdn-csd", 2, kwargs))
    with upscale_session(str(path), width=0.5, device="cpu", tile=0) as session:
        assert session.model.network.width == 0.5 and session.width == 0.5
    assert resolve_model(str(path)).network.width == 1.0  # the cached model got its own width back


def test_a_fixed_and_a_dynamic_width_are_refused_before_anything_loads(monkeypatch):
    from distillsr.inference import session as module

    monkeypatch.setattr(module, "resolve_model", lambda *a, **k: pytest.fail("resolved before the check"))
    with pytest.raises(DistillsrError, match="--dynamic chooses each tile's width itself: drop --width"):
        with upscale_session("imdn-csd", width=0.5, dynamic=True):
            pass
