"""ψ from the engine's pieces: trains in place on [0, 1] patches, towards a teacher if given; validation PSNR."""

from __future__ import annotations

import copy

import pytest
import torch
from support.training import training_images

from distillsr import api
from distillsr.compression.pruning.finetune import (
    FinetuneSettings,
    make_finetuner,
    make_validator,
    teacher_forward,
)
from distillsr.errors import DistillsrError
from distillsr.models.zoo import build_model


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    return training_images(tmp_path_factory.mktemp("train"))


def _settings(images, **overrides) -> FinetuneSettings:
    values = {"hr_folders": (str(images),), "iterations": 4, "batch_size": 4, "lr_patch_size": 16, "lr": 1e-3, "print_every": 2}
    return FinetuneSettings(**{**values, **overrides})


def test_finetuning_trains_the_model_in_place_on_its_own_value_range(images, caplog):
    torch.manual_seed(0)
    model = build_model("e-rfdn", 2, channels=8, num_blocks=1)  # a 0-255 network
    before = copy.deepcopy(model.network.state_dict())
    finetune = make_finetuner(_settings(images), 2, torch.device("cpu"))
    with caplog.at_level("INFO"):
        metrics = finetune(model, 3)
    assert any(not torch.equal(before[k], v) for k, v in model.network.state_dict().items())
    assert 0 < metrics["loss"] < 1  # an L1 on [0, 1] images: the 0-255 range is scaled in and out
    assert not model.network.training
    assert "fine-tune after step 3: iteration 4/4" in caplog.text


def test_a_tiny_folder_still_fills_a_batch_and_a_missing_one_is_named(images, tmp_path):
    finetune = make_finetuner(_settings(images, batch_size=20, iterations=1), 2, torch.device("cpu"))
    finetune(build_model("rfdn", 2, channels=8, num_blocks=1), 1)
    with pytest.raises(DistillsrError, match="does not exist"):
        make_finetuner(_settings(images, hr_folders=(str(tmp_path / "none"),)), 2, torch.device("cpu"))


def test_the_teacher_output_is_the_target_and_the_teacher_stays_frozen():
    torch.manual_seed(0)
    teacher = build_model("rfdn", 2, channels=8, num_blocks=1)
    student = build_model("rfdn", 2, channels=4, num_blocks=1)
    forward = teacher_forward(teacher)
    lr = torch.rand(2, 3, 10, 10)
    outputs = forward(student.network, {"lr": lr, "hr": torch.zeros(2, 3, 20, 20)})
    with torch.no_grad():
        torch.testing.assert_close(outputs.hr, teacher(lr).clamp(0, 1))
    assert not outputs.hr.requires_grad and outputs.sr.requires_grad
    assert not any(p.requires_grad for p in teacher.network.parameters())


def test_the_validator_reports_the_evaluation_psnr(images):
    torch.manual_seed(0)
    model = build_model("rfdn", 2, channels=8, num_blocks=1)
    psnr = make_validator(str(images), 2)(model)
    expected = api.evaluate(model, images, protocol="classic", device="cpu")[0].mean.psnr
    assert psnr == pytest.approx(expected)
