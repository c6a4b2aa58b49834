"""The teacher: loaded from any checkpoint, frozen, answering on [0, 1] with SR and anchor features."""

from __future__ import annotations

import pytest
import torch
from support import official_weights

from distillsr.compression.distill.teacher import Teacher, load_teacher
from distillsr.errors import DistillsrError
from distillsr.models.zoo import build_model


def test_a_checkpoint_loads_frozen(tiny_teacher_file):
    teacher = load_teacher(None, tiny_teacher_file, scale=4)
    network = teacher.model.network
    assert teacher.model.name == "dipnet" and teacher.scale == 4
    assert not network.training
    assert not any(p.requires_grad for p in network.parameters())
    assert str(tiny_teacher_file) in teacher.description


def test_its_sr_is_clamped_to_the_range_of_an_hr_image(tiny_teacher_file):
    teacher = load_teacher(None, tiny_teacher_file)
    lr = torch.rand(1, 3, 16, 16) * 40 - 20  # far outside [0, 1]: the raw output leaves the range
    with torch.no_grad():
        raw = teacher.model(lr)
    assert float(raw.min()) < 0 or float(raw.max()) > 1
    assert torch.equal(teacher(lr).sr, raw.clamp(0, 1))


def test_a_call_returns_sr_and_features_without_a_graph(tiny_teacher_file):
    teacher = load_teacher("dipnet", tiny_teacher_file)
    lr = torch.rand(2, 3, 16, 16, requires_grad=True)
    out = teacher(lr, ["block_1", "conv_2"])
    assert out.sr.shape == (2, 3, 64, 64) and out.sr.grad_fn is None and not out.sr.requires_grad
    assert set(out.features) == {"block_1", "conv_2"}
    assert out.features["block_1"].shape == (2, 16, 16, 16) and out.features["block_1"].grad_fn is None
    with torch.no_grad():
        network = teacher.model.network
        assert torch.equal(out.sr, teacher.model(lr).clamp(0, 1))
        assert torch.equal(out.features["block_1"], network.block_1(network.conv_1(lr)))
    assert not any(m._forward_hooks for m in network.modules())


def test_it_stays_in_eval_mode_even_if_someone_switches_it(tiny_teacher_file):
    teacher = load_teacher(None, tiny_teacher_file)
    teacher.model.network.train()
    teacher(torch.rand(1, 3, 16, 16))
    assert not teacher.model.network.training


def test_a_0_255_teacher_answers_on_the_0_1_scale(save_model):
    kwargs = dict(channels=8, num_blocks=2)
    teacher = load_teacher(None, save_model("e-rfdn", 4, kwargs))
    assert teacher.model.input_range == 255.0
    lr = torch.rand(1, 3, 16, 16)
    out = teacher(lr, ["B1"])
    network = teacher.model.network
    with torch.no_grad():
        assert torch.allclose(out.sr, (network(lr * 255) / 255).clamp(0, 1), atol=1e-6)
        raw = network.B1(network.fea_conv(lr * 255))
    assert torch.allclose(out.features["B1"], raw / 255, atol=1e-5), "features divided by the input range"


def test_the_scales_must_agree(save_model):
    path = save_model("dipnet", 2, dict(channels=8, mid_channels=8, num_blocks=1))
    refused = r"teacher dipnet x2 .* upscales x2 but the student upscales x4; distillation needs the same factor"
    with pytest.raises(DistillsrError, match=refused):
        load_teacher(None, path, scale=4)
    teacher = load_teacher(None, path, scale=2)
    with pytest.raises(DistillsrError, match="but the student rfdn x3 upscales x3"):
        teacher.check_scale(3, "the student rfdn x3")


def test_unknown_anchors_list_the_valid_ones(tiny_teacher_file):
    teacher = load_teacher(None, tiny_teacher_file)
    assert {"block_1", "block_2", "conv_2"} <= set(teacher.anchor_names())
    listed = r"unknown teacher anchor 'block_3' in teacher dipnet x4 .*: block_1, block_2"
    with pytest.raises(DistillsrError, match=listed):
        teacher(torch.rand(1, 3, 16, 16), ["block_3"])


def test_refusals(tiny_teacher_file, tmp_path):
    with pytest.raises(DistillsrError, match="a teacher needs weights"):
        load_teacher("dipnet", None)
    with pytest.raises(DistillsrError, match="does not exist"):
        load_teacher(None, tmp_path / "absent.pth")
    with pytest.raises(DistillsrError, match="holds the model dipnet x4, not rfdn"):
        load_teacher("rfdn", tiny_teacher_file)


def test_a_model_in_memory_can_teach_on_the_device_asked():
    torch.manual_seed(0)
    model = build_model("dipnet", 4, channels=8, mid_channels=8, num_blocks=1)
    teacher = Teacher(model, device="cpu")
    assert teacher.device == torch.device("cpu") and teacher.source == "dipnet"
    assert not any(p.requires_grad for p in model.network.parameters())


def test_an_official_pth_teaches(photos):
    teacher = load_teacher("e-rfdn", official_weights("rfdn", "RFDN_AIM.pth"), scale=4)
    hr = photos[:2, :, :64, :64]
    lr = torch.nn.functional.interpolate(hr, scale_factor=0.25, mode="bicubic", antialias=True).clamp(0, 1)
    out = teacher(lr, ["B4"])
    assert out.sr.shape == (2, 3, 64, 64) and out.features["B4"].shape == (2, 50, 16, 16)
    assert float((out.sr - hr).abs().mean()) < 0.06, "a real SR of the photo, not noise"
