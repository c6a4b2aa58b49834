"""The pruning run shared by ``kind: prune`` and ``distillsr prune``: its tools, the self-teacher, and both goals."""

from __future__ import annotations

import pytest
import torch

from distillsr.compression.pruning import finetune as psi
from distillsr.compression.pruning.calibration import CalibrationSet
from distillsr.compression.pruning.groups import find_groups, prunable_groups
from distillsr.compression.pruning.iterative import PruneTarget
from distillsr.compression.pruning.pruner import (
    SELF_TEACHER,
    Finetuning,
    calibration_patches,
    frozen_copy,
    prune_model,
    pruning_tools,
)
from distillsr.errors import DistillsrError
from distillsr.models.zoo import build_model


def _model():
    torch.manual_seed(0)
    return build_model("dipnet", 2, channels=12, mid_channels=12, esa_channels=8, num_blocks=1)


@pytest.fixture(scope="module")
def calibration() -> CalibrationSet:
    return calibration_patches(None, 2, lr_patch_size=48, seed=0)


def test_without_images_the_shipped_photos_calibrate():
    shipped = calibration_patches([], 2, lr_patch_size=48, seed=0)
    assert shipped.source == "the shipped calibration photos" and len(shipped) == 6


def test_the_tools_follow_the_options(calibration):
    model = _model()
    tools = pruning_tools(model, calibration, criterion="l2", bicubic_floor=False, finetuning=None, device=torch.device("cpu"))
    assert (tools.criterion, tools.floor, tools.finetune) == (None, None, None)
    tools = pruning_tools(model, calibration, criterion="sensitivity", bicubic_floor=True, finetuning=None,
                          device=torch.device("cpu"))
    assert tools.criterion is not None and tools.floor is not None and tools.floor.calibration is calibration


def test_the_self_teacher_is_a_frozen_copy_made_before_the_first_step(calibration, monkeypatch):
    model = _model()
    seen = {}

    def spy(settings, scale, device, teacher=None, *, dataset=None):
        seen["teacher"] = teacher
        return lambda m, step: None

    monkeypatch.setattr(psi, "make_finetuner", spy)
    settings = psi.FinetuneSettings(hr_folders=("unused",), iterations=1)
    pruning_tools(model, calibration, criterion="l2", bicubic_floor=False, finetuning=Finetuning(settings, SELF_TEACHER),
                  device=torch.device("cpu"))
    teacher = seen["teacher"]
    assert teacher.network is not model.network and not teacher.network.training
    assert all(torch.equal(a, b) for a, b in zip(teacher.network.state_dict().values(), model.network.state_dict().values()))
    pruning_tools(model, calibration, criterion="l2", bicubic_floor=False, finetuning=Finetuning(settings, None),
                  device=torch.device("cpu"))
    assert seen["teacher"] is None, "none: the ground truth"
    copy = frozen_copy(model)
    assert copy.name == model.name and copy.network is not model.network


def test_a_target_prunes_a_copy_and_widths_narrow_the_model_itself(calibration):
    model = _model()
    tools = pruning_tools(model, calibration, criterion="l2", bicubic_floor=False, finetuning=None, device=torch.device("cpu"))
    params = sum(p.numel() for p in model.network.parameters())
    result = prune_model(model, tools, step=0.25, target=PruneTarget(params=int(params * 0.8)))
    assert result.model.network is not model.network and sum(p.numel() for p in model.network.parameters()) == params

    steps = []
    result = prune_model(model, tools, step=0.25, widths=lambda names: {"conv_1": 8}, on_step=steps.append)
    assert result.model.network is model.network and result.steps == steps and result.kept == len(steps) - 1
    assert [s.index for s in steps] == [0, 1, 2]  # 12 -> 8 in steps of at most a quarter
    widths = {group.name: group.width for group in prunable_groups(find_groups(model.network))}
    assert widths["conv_1"] == 8


def test_one_goal_exactly(calibration):
    tools = pruning_tools(_model(), calibration, criterion="l2", bicubic_floor=False, finetuning=None,
                          device=torch.device("cpu"))
    with pytest.raises(DistillsrError, match="either a target or exact widths"):
        prune_model(_model(), tools, step=0.25)
    with pytest.raises(DistillsrError, match="either a target or exact widths"):
        prune_model(_model(), tools, step=0.25, target=PruneTarget(params=10), widths=lambda names: {})


def test_widths_already_reached_are_no_step_and_wider_ones_are_refused(calibration):
    """Exact widths equal to the present ones used to divide by zero; wider ones are one line."""
    model = _model()
    tools = pruning_tools(model, calibration, criterion="l2", bicubic_floor=False, finetuning=None, device=torch.device("cpu"))
    result = prune_model(model, tools, step=0.25, widths=lambda names: {"conv_1": 12})
    assert result.kept == 0 and [s.index for s in result.steps] == [0] and result.stopped == "the model already has these widths"
    with pytest.raises(DistillsrError, match="must be 1..12"):
        prune_model(model, tools, step=0.25, widths=lambda names: {"conv_1": 13})
