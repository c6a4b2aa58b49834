"""A pruned model saves as an ordinary checkpoint and loads everywhere (zoo, profile, export, convert)."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from support.models import randomise

from distillsr import api
from distillsr.checkpoints.format import read_checkpoint, save_checkpoint
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.cli import main
from distillsr.compression.pruning.checkpoint import deployed, pruned_checkpoint_info
from distillsr.compression.pruning.plan import prune_fraction
from distillsr.efficiency import count_parameters
from distillsr.errors import DistillsrError
from distillsr.models.pruned_widths import PRUNED_WIDTHS
from distillsr.models.zoo import build_model
from distillsr.nn.reparam import is_deployed

SMALL_DIPNET = {"channels": 16, "mid_channels": 12, "esa_channels": 8, "num_blocks": 1}


@pytest.fixture
def pruned_file(tmp_path):
    model = build_model("dipnet", 2, **SMALL_DIPNET)
    randomise(model.network, seed=3, std=0.1)
    prune_fraction(model.network, 0.3)
    path = tmp_path / "pruned.safetensors"
    save_checkpoint(path, model.network.state_dict(), pruned_checkpoint_info(model, {"made_by": "test"}))
    return path, model


def test_the_widths_travel_with_the_hyperparameters_and_load_strictly(pruned_file):
    path, model = pruned_file
    info, _ = read_checkpoint(path)
    widths = info.kwargs[PRUNED_WIDTHS]
    assert widths["conv_1"] == [12, 3] and widths["block_1.c1_r"] == [9, 12] and "upsampler.0" in widths
    assert info.form == "deploy" and info.kwargs["channels"] == 16  # the unpruned build, then narrowed
    loaded = load_or_build(None, None, str(path))
    assert count_parameters(loaded.network).total == count_parameters(model.network).total
    x = torch.rand(1, 3, 20, 20)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x))
    assert loaded.metadata["kwargs"][PRUNED_WIDTHS] == widths


def test_profile_and_convert_load_a_pruned_checkpoint(pruned_file, tmp_path, capsys):
    path, model = pruned_file
    report = api.profile(str(path), input_size=(3, 32, 32), runtime=False, memory=False)
    assert report.params.total == count_parameters(model.network).total
    converted = tmp_path / "converted.safetensors"
    assert main(["convert", str(path), "-o", str(converted)]) == 0
    assert read_checkpoint(converted)[0].kwargs[PRUNED_WIDTHS] == read_checkpoint(path)[0].kwargs[PRUNED_WIDTHS]
    again = load_or_build(None, None, str(converted))
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        torch.testing.assert_close(again(x), model(x))


@pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None,
    reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"',
)
def test_export_round_trip_of_a_pruned_checkpoint(pruned_file, tmp_path, capsys):
    from distillsr.inference.onnx_backend import OnnxModel

    path, model = pruned_file
    output = tmp_path / "pruned.onnx"
    assert main(["export", str(path), "-o", str(output)]) == 0
    assert "verified with onnxruntime against PyTorch" in capsys.readouterr().out
    onnx_model = OnnxModel.load(output)
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        torch.testing.assert_close(onnx_model(x), model(x), atol=1e-4, rtol=0)


def test_a_train_form_student_is_folded_and_described_by_zoo_hyperparameters():
    student = build_model("dipnet-student", 2, channels=8, mid_channels=8, esa_channels=4, num_blocks=1, expansion=16)
    randomise(student.network, seed=1)
    x = torch.rand(1, 3, 16, 16)
    with torch.no_grad():
        before = student(x)
    folded = deployed(student)
    assert is_deployed(folded.network) and folded.metadata["kwargs"]["block"] == "plain"
    with torch.no_grad():
        torch.testing.assert_close(folded(x), before, atol=1e-5, rtol=0)
    assert deployed(folded) is folded
    ddistill = deployed(build_model("ddistill-sr", 2, channels=8, num_blocks=1, fusion_rank=4))
    assert ddistill.metadata["kwargs"]["deploy"] is True


def test_widths_that_do_not_fit_the_model_are_an_error(tmp_path):
    with pytest.raises(DistillsrError, match="'block_9.c1_r', which dipnet does not have"):
        build_model("dipnet", 2, **SMALL_DIPNET, pruned_widths={"block_9.c1_r": [4, 16]})
