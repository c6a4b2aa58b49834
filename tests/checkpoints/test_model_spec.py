"""What a user names, decided once: each kind of name, and every "X plus Y" refused in one line before any file is read."""

from __future__ import annotations

import pytest

from distillsr.checkpoints.builtin import builtin_scales
from distillsr.checkpoints.model_spec import ModelSpec, model_spec, names_a_file
from distillsr.errors import DistillsrError
from distillsr.models.zoo import build_model


def test_nothing_and_builtin_are_the_shipped_model():
    assert model_spec(None) == ModelSpec("builtin", "builtin")
    assert model_spec(" BuiltIn ", scale=max(builtin_scales())).kind == "builtin"
    assert model_spec(None, scale=2.5, exact=False).scale == 2.5  # upscale: the nearest model, resized after


def test_a_file_is_a_file_however_it_is_given(tmp_path):
    path = str(tmp_path / "model.safetensors")
    assert model_spec(path) == model_spec(None, weights=path) == ModelSpec("file", None, path)
    assert model_spec("E-RFDN", weights=path).name == "e-rfdn"  # checked against the file when it is read
    assert names_a_file("runs/best") and names_a_file("x.pth") and not names_a_file("e-rfdn")


def test_a_zoo_name_alone_and_the_default_scale():
    assert model_spec("DIPNet") == ModelSpec("zoo", "dipnet")
    assert model_spec("dipnet", default_scale=4).scale == 4 and model_spec("dipnet", scale=2, default_scale=4).scale == 2
    assert model_spec("imdn-csd", width=0.5).width == 0.5


def test_a_loaded_model_is_used_as_it_is():
    model = build_model("bicubic", 3)
    assert model_spec(model).model is model and model_spec(model, scale=3).kind == "loaded"
    assert model_spec(model, scale=2, exact=False).scale == 2


def test_an_onnx_file_is_the_onnxruntime_backends(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes(b"")
    assert model_spec(str(path), backend="onnxruntime") == ModelSpec("onnx", path=str(path), exact=False)


@pytest.mark.parametrize(
    ("named", "fragment"),
    [
        ({"model": "builtin", "weights": "x.pth"}, "the built-in models carry their weights"),
        ({"weights": None, "model": None, "scale": 5}, "no built-in x5 model"),
        ({"model": "a.safetensors", "weights": "b.safetensors"}, "is a weights file itself"),
        ({"model": "a.onnx"}, "add --backend onnxruntime"),
        ({"model": "a.pth", "backend": "onnxruntime"}, r"needs a \.onnx model file"),
        ({"model": "missing.onnx", "backend": "onnxruntime"}, "ONNX model missing.onnx does not exist"),
        ({"model": "m.onnx", "weights": "w.pth", "backend": "onnxruntime"}, "an ONNX model holds its weights"),
        ({"model": "m.onnx", "backend": "tensorrt"}, "backend must be 'torch' or 'onnxruntime'"),
        ({"model": "bicubic"}, "bicubic has no scale of its own"),
        ({"model": "e-rfdn", "width": 0.5}, "e-rfdn is not a channel-splitting model"),
        ({"model": "e-rfnd"}, "did you mean e-rfdn"),
        ({"model": "e-rfnd", "weights": "x.pth"}, "did you mean e-rfdn"),  # a typo fails before the file is read
        ({"model": 3.5}, "not float"),
    ],
)
def test_conflicts_are_refused_in_one_line(named, fragment):
    with pytest.raises(DistillsrError, match=fragment):
        model_spec(**named)


def test_a_loaded_model_takes_no_weights_and_no_other_scale():
    model = build_model("bicubic", 3)
    with pytest.raises(DistillsrError, match="weights go with a zoo model name, not with an already loaded model"):
        model_spec(model, weights="x.pth")
    with pytest.raises(DistillsrError, match="the model upscales x3, not x2"):
        model_spec(model, scale=2)
