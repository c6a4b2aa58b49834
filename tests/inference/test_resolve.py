"""Turning what a user names into a ready model (resolve.py): the cache, a loaded model used as it is, and
the ONNX backend's errors. ``distillsr.upscale`` and ``distillsr upscale -m/-w`` both go through it."""

from __future__ import annotations

import sys

import pytest

from distillsr.errors import DistillsrError
from distillsr.inference.resolve import resolve_model
from distillsr.models.zoo import build_model


def test_models_named_by_path_are_loaded_once(x4_model):
    assert resolve_model(x4_model) is resolve_model(x4_model)
    assert resolve_model("bicubic", scale=2) is resolve_model("bicubic", scale=2)
    assert resolve_model("bicubic", scale=2) is not resolve_model("bicubic", scale=3)


def test_a_loaded_model_is_used_as_it_is(x4_model):
    model = build_model("bicubic", 3)
    assert resolve_model(model) is model
    with pytest.raises(DistillsrError, match="weights go with a zoo model name"):
        resolve_model(model, weights=x4_model)


def test_onnx_backend_needs_an_onnx_file_and_names_the_install(tmp_path, monkeypatch):
    with pytest.raises(DistillsrError, match=r"needs a \.onnx model file"):
        resolve_model("model.pth", backend="onnxruntime")
    (tmp_path / "m.onnx").write_bytes(b"not used: the backend cannot be imported")
    monkeypatch.setitem(sys.modules, "distillsr.inference.onnx_backend", None)  # as if not installed
    with pytest.raises(DistillsrError, match=r'pip install "distillsr\[onnx\]"'):
        resolve_model(str(tmp_path / "m.onnx"), backend="onnxruntime")


def test_threads_size_the_onnxruntime_session(exported_ddistill):
    """--threads must hold for onnxruntime too, whose sessions otherwise take every core."""
    path = exported_ddistill[1].path
    one = resolve_model(path, backend="onnxruntime", threads=1)
    assert one.session.get_session_options().intra_op_num_threads == 1
    two = resolve_model(path, backend="onnxruntime", threads=2)
    assert two.session.get_session_options().intra_op_num_threads == 2
