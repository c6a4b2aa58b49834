"""CSD's defaults against the authors' own formula, ported here as an independent reference.

Reference: Booooooooooo/CSD @ f479c8f, ``PyTorch version/loss/contrast_loss.py`` (``Vgg19`` slices
``features[0:2]``, ``[2:7]``, ``[7:12]``, ``[12:21]``, ``[21:30]``; ``ContrastLoss.L1_forward``) and
``PyTorch version/trainer/slim_contrast_trainer.py`` lines 94-107 of ``train()``:

    teacher_sr = self.model(lr); student_sr = self.model(lr, self.stu_width_mult)
    l1_loss = self.l1_loss(hr, student_sr); teacher_l1_loss = self.l1_loss(hr, teacher_sr)
    bic_sample = self.upsampler(lr[torch.randperm(self.neg_num), :, :, :])   # nn.Upsample(scale, 'bicubic')
    contras_loss = self.contra_loss(teacher_sr, student_sr, bic_sample)
    loss = l1_loss + self.contra_lambda * contras_loss + self.t_lambda * teacher_l1_loss

with the README's ``--neg_num 10 --contra_lambda 200 --t_lambda 1 --contrast_t_detach`` and
``rgb_range 255`` (every image is 0-255 and goes into VGG as it is). The functions below are
written from that code, not from distillsr's.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from distillsr.compression.contrastive.config import CSDStageConfig
from distillsr.compression.contrastive.loss import ContrastiveLoss
from distillsr.compression.contrastive.stage import CSD_PIXEL_RANGE, CSDStage
from distillsr.compression.contrastive.vgg import VGG19Features
from distillsr.training.losses import PixelLoss, StepOutputs

SCALE = 2
BATCH = 12  # more than neg_num: the official draw takes a subset of the batch
NEG_NUM = 10


def official_vgg_slices(vgg: VGG19Features) -> list[nn.Sequential]:
    """``Vgg19.__init__``: the five slices of torchvision's ``features``."""
    bounds = [(0, 2), (2, 7), (7, 12), (12, 21), (21, 30)]
    return [nn.Sequential(*[vgg.features[i] for i in range(a, b)]) for a, b in bounds]


def official_vgg_forward(slices: list[nn.Sequential], x: torch.Tensor) -> list[torch.Tensor]:
    outputs = []
    for piece in slices:
        x = piece(x)
        outputs.append(x)
    return outputs


def official_l1_forward(teacher, student, neg, weights) -> torch.Tensor:
    """``ContrastLoss.L1_forward`` with ``t_detach=True`` and no blurred negatives."""
    loss = 0
    for i in range(len(teacher)):
        neg_i = neg[i].unsqueeze(0)
        neg_i = neg_i.repeat(student[i].shape[0], 1, 1, 1, 1)
        neg_i = neg_i.permute(1, 0, 2, 3, 4)  # negnum x batch x C x H x W
        d_ts = nn.L1Loss()(teacher[i].detach(), student[i])
        d_sn = torch.mean(torch.abs(neg_i.detach() - student[i]).sum(0))
        loss += weights[i] * (d_ts / (d_sn + 1e-7))
    return loss


def official_step_loss(slices, lr255, hr255, teacher_sr255, student_sr255, permutation) -> tuple[torch.Tensor, torch.Tensor]:
    """(the whole step's loss, the contrastive term) as the official trainer computes them on 0-255 tensors."""
    l1 = nn.L1Loss()
    bic_sample = nn.Upsample(scale_factor=SCALE, mode="bicubic")(lr255[permutation, :, :, :])
    teacher_vgg = official_vgg_forward(slices, teacher_sr255)
    student_vgg = official_vgg_forward(slices, student_sr255)
    neg_vgg = official_vgg_forward(slices, bic_sample)
    contrastive = official_l1_forward(teacher_vgg, student_vgg, neg_vgg, [1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0])
    loss = l1(hr255, student_sr255) + 200 * contrastive + 1 * l1(hr255, teacher_sr255)
    return loss, contrastive


@pytest.fixture(scope="module")
def tensors():
    generator = torch.Generator().manual_seed(7)
    vgg = VGG19Features().double()
    for parameter in vgg.parameters():  # a fixed random VGG: the formula, not the weights, is under test
        parameter.data = torch.randn(parameter.shape, generator=generator, dtype=torch.float64) * 0.05
    lr = torch.rand(BATCH, 3, 10, 10, generator=generator, dtype=torch.float64)
    hr = torch.rand(BATCH, 3, 20, 20, generator=generator, dtype=torch.float64)
    teacher = (hr + 0.05 * torch.randn(hr.shape, generator=generator, dtype=torch.float64)).clamp(0, 1)
    student = (hr + 0.2 * torch.randn(hr.shape, generator=generator, dtype=torch.float64)).clamp(0, 1)
    return vgg, lr, hr, teacher, student


def _defaults_loss(vgg: VGG19Features) -> ContrastiveLoss:
    config = CSDStageConfig(iterations=1)
    return ContrastiveLoss(vgg, weight=config.contrastive_weight / CSD_PIXEL_RANGE, num_negatives=config.num_negatives,
                           negatives=config.negatives, imagenet_norm=config.imagenet_norm, layer_weights=config.layer_weights)


def test_the_stage_defaults_are_the_readme_command():
    config = CSDStageConfig(iterations=1)
    assert (config.contrastive_weight, config.teacher_weight, config.num_negatives) == (200.0, 1.0, NEG_NUM)
    assert config.negatives == "batch" and config.imagenet_norm is False
    assert config.student_width == 0.25 and config.teacher_width == 1.0
    assert config.layer_weights == (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_default_contrastive_term_and_its_gradient_equal_the_official_ones(tensors, seed):
    vgg, lr, hr, teacher, student = tensors
    torch.manual_seed(seed)
    permutation = torch.randperm(NEG_NUM)  # any order of the first neg_num: the sum does not see it
    reference_student = (student * 255).requires_grad_(True)
    _, reference = official_step_loss(official_vgg_slices(vgg), lr * 255, hr * 255, teacher * 255, reference_student,
                                      permutation)
    reference.backward()

    ours_student = student.clone().requires_grad_(True)
    loss = _defaults_loss(vgg)
    value = loss(StepOutputs(lr=lr, hr=hr, sr=ours_student, extras={"positive": teacher}))
    value.backward()
    # distillsr takes the distances in float32 (the reference stays float64): equal to float32 precision
    assert value.item() == pytest.approx(reference.item(), rel=1e-6)
    # d/d(student in [0, 1]) = 255 * d/d(student in 0-255): the same direction, the unit aside
    torch.testing.assert_close(ours_student.grad, reference_student.grad * 255, rtol=1e-5, atol=1e-9)


def test_the_whole_default_step_loss_is_the_official_one_over_255(tensors):
    """distillsr's total (L1 on [0, 1] + lambda/255 * CL + t_lambda * L1) is the official total / 255."""
    vgg, lr, hr, teacher, student = tensors
    official_total, _ = official_step_loss(official_vgg_slices(vgg), lr * 255, hr * 255, teacher * 255, student * 255,
                                           torch.arange(NEG_NUM))
    config = CSDStageConfig(iterations=1)
    stage = CSDStage()
    stage.contrastive = _defaults_loss(vgg)
    pixel = PixelLoss("l1")
    outputs = StepOutputs(lr=lr, hr=hr, sr=student, extras={"positive": teacher, "branches": {1.0: teacher, 0.25: student}})
    ours = pixel(outputs) + config.teacher_weight * pixel(StepOutputs(lr=lr, hr=hr, sr=teacher)) + \
        stage.contrastive.weight * stage.contrastive(outputs)
    assert ours.item() == pytest.approx(official_total.item() / 255, rel=1e-6)


def test_the_official_bicubic_is_torchs_align_corners_false(tensors):
    _, lr, *_ = tensors
    torch.testing.assert_close(nn.Upsample(scale_factor=SCALE, mode="bicubic")(lr),
                               F.interpolate(lr, scale_factor=SCALE, mode="bicubic", align_corners=False))
