"""``distillsr export``: the report lines, the verification image, and one-line user errors."""

from __future__ import annotations

import importlib.util
import os

import numpy as np
import pytest
import torch
from support import require_shared

from distillsr.cli import main

needs_onnx = pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None,
    reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"',
)

SMALL = {
    "dipnet": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "carn": dict(channels=16),
}


def _small_checkpoint(path, name: str) -> None:
    from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
    from distillsr.models.zoo import ZOO, build_model

    torch.manual_seed(0)
    model = build_model(name, 2, **SMALL[name])
    info = CheckpointInfo(
        model=name, scale=2, kwargs=SMALL[name], input_range=model.input_range,
        form=ZOO[name].form if ZOO[name].form != "plain" else "deploy", provenance={"made_by": "test_export"},
    )
    save_checkpoint(path, model.network.state_dict(), info)


@pytest.fixture
def dipnet_checkpoint(tmp_path):
    checkpoint = tmp_path / "dipnet_small.safetensors"
    _small_checkpoint(checkpoint, "dipnet")
    return checkpoint


def _one_error(capsys) -> str:
    error = capsys.readouterr().err
    assert error.count("distillsr: error:") == 1 and error.count("\n") == 1, error
    return error


@needs_onnx
def test_cli_exports_verifies_and_refuses_to_overwrite(dipnet_checkpoint, tmp_path, capsys):
    from distillsr.inference.onnx_backend import OnnxModel

    output = tmp_path / "out" / "dipnet.onnx"
    assert main(["export", str(dipnet_checkpoint), "-o", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "exported dipnet x2" in printed and "verified with onnxruntime against PyTorch" in printed
    # says which image it verified on: without --verify-image, the built-in pattern
    assert "on a 64x64 synthetic pattern (gradients, rings and edges)" in printed
    loaded = OnnxModel.load(output)
    assert loaded.metadata["provenance"]["made_by"] == "test_export"
    before = output.read_bytes()

    assert main(["export", str(dipnet_checkpoint), "-o", str(output)]) == 1
    assert "exists; pass --overwrite" in _one_error(capsys)
    assert output.read_bytes() == before

    assert main(["export", str(dipnet_checkpoint), "-o", str(output), "--overwrite", "--no-verify", "--opset", "13"]) == 0
    assert "not verified" in capsys.readouterr().out
    assert OnnxModel.load(output).metadata["opset"] == 13


@needs_onnx
def test_cli_verifies_on_the_image_it_is_given(dipnet_checkpoint, tmp_path, capsys):
    baby = require_shared("data", "Set5", "HR", "baby.png")
    output = tmp_path / "dipnet.onnx"
    assert main(["export", str(dipnet_checkpoint), "-o", str(output), "--verify-image", str(baby)]) == 0
    printed = capsys.readouterr().out
    assert f"verified with onnxruntime against PyTorch on a 64x64 centre crop of {baby}: max abs diff" in printed
    assert "at 1x64x64" in printed


def test_cli_refuses_a_bad_verify_image_before_loading(dipnet_checkpoint, tmp_path, capsys, monkeypatch):
    from distillsr.checkpoints import model_loading
    from distillsr.imaging.write import write_image

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the verification image was checked")

    output = tmp_path / "a.onnx"
    monkeypatch.setattr(model_loading, "open_spec", no_loading)
    missing = tmp_path / "missing.png"
    assert main(["export", str(dipnet_checkpoint), "-o", str(output), "--verify-image", str(missing)]) == 1
    assert str(missing) in _one_error(capsys)
    assert main(["export", str(dipnet_checkpoint), "-o", str(output), "--verify-image", str(missing), "--no-verify"]) == 1
    assert "--verify-image and --no-verify contradict" in _one_error(capsys)
    monkeypatch.undo()

    tiny = tmp_path / "tiny.png"
    write_image(tiny, np.full((12, 40, 3), 128, np.uint8))
    assert main(["export", str(dipnet_checkpoint), "-o", str(output), "--verify-image", str(tiny)]) == 1
    error = _one_error(capsys)
    assert f"the verification image {tiny} (12x40) is too small to test two sizes" in error
    assert not output.exists()


def test_cli_refuses_an_output_under_a_file_before_loading(dipnet_checkpoint, tmp_path, capsys, monkeypatch):
    """A path through a regular file cannot be written, even by root; the check runs before any work."""
    from distillsr.checkpoints import model_loading

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr(model_loading, "open_spec", no_loading)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file")
    target = blocker / "sub" / "m.onnx"
    assert main(["export", str(dipnet_checkpoint), "-o", str(target)]) == 1
    error = _one_error(capsys)
    assert f"cannot write ONNX model {target}" in error and f"{blocker} is a file" in error


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_cli_refuses_an_output_in_a_read_only_folder(dipnet_checkpoint, tmp_path, capsys, monkeypatch):
    from distillsr.checkpoints import model_loading

    def no_loading(*args, **kwargs):
        raise AssertionError("the model was loaded before the output was checked")

    monkeypatch.setattr(model_loading, "open_spec", no_loading)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        target = locked / "m.onnx"
        assert main(["export", str(dipnet_checkpoint), "-o", str(target)]) == 1
        error = _one_error(capsys)
        assert f"cannot write ONNX model {target}" in error
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(0o755)


@needs_onnx
def test_cli_width_and_user_errors(tmp_path, capsys):
    from distillsr.inference.onnx_backend import OnnxModel

    checkpoint = tmp_path / "carn_small.safetensors"
    _small_checkpoint(checkpoint, "carn")
    output = tmp_path / "carn.onnx"
    assert main(["export", str(checkpoint), "--width", "0.25", "-o", str(output)]) == 0
    assert "width 0.25" in capsys.readouterr().out
    assert OnnxModel.load(output).metadata["width"] == 0.25

    cases = [
        (["export", "dipnet", "-s", "4", "--width", "0.5", "-o", str(tmp_path / "a.onnx")], "not a channel-splitting model"),
        (["export", str(checkpoint), "-o", str(tmp_path / "a.pt")], "must end in .onnx"),
        (["export", str(checkpoint), "-w", str(checkpoint), "-o", str(tmp_path / "a.onnx")], "is a weights file itself"),
        (["export", "dipnet", "-o", str(tmp_path / "a.onnx")], "give the scale"),
        (["export", "bicubic", "-s", "2", "-o", str(tmp_path / "a.onnx")], "bicubic cannot be exported"),
        (["export", "dipnett", "-s", "2", "-o", str(tmp_path / "a.onnx")], "did you mean dipnet"),
    ]
    for argv, fragment in cases:
        assert main(argv) == 1, argv
        error = capsys.readouterr().err
        assert error.count("distillsr: error:") == 1 and fragment in error, (argv, error)
    assert not (tmp_path / "a.onnx").exists()
