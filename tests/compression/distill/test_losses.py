"""Distillation loss terms against hand-computed values on toy tensors."""

from __future__ import annotations

import pytest
import torch

from distillsr.compression.distill.anchors import AnchorPair, pair_key
from distillsr.compression.distill.config import FeatureLossConfig, TeacherLossConfig
from distillsr.compression.distill.losses import (
    FeatureLoss,
    TeacherOutputLoss,
    build_terms,
    distance,
)
from distillsr.errors import DistillsrError
from distillsr.training.losses import PixelLoss, StepOutputs, total_loss
from distillsr.training.recipe.losses import PixelLossConfig

SR = torch.tensor([[[[0.0, 0.5], [1.0, 0.25]]]])
TEACHER_SR = torch.tensor([[[[0.5, 0.5], [0.0, 0.75]]]])  # differences 0.5, 0, 1, 0.5
HR = torch.zeros(1, 1, 2, 2)


def outputs(**extras) -> StepOutputs:
    return StepOutputs(lr=torch.zeros(1, 1, 1, 1), hr=HR, sr=SR, extras=extras)


def test_output_distillation_is_l1_or_l2_to_the_teachers_sr():
    l1, l2 = TeacherOutputLoss("l1", 2.0), TeacherOutputLoss("l2")
    assert (l1.name, l1.weight, l2.name) == ("teacher_l1", 2.0, "teacher_l2")
    assert float(l1(outputs(teacher_sr=TEACHER_SR))) == pytest.approx((0.5 + 0 + 1 + 0.5) / 4)
    assert float(l2(outputs(teacher_sr=TEACHER_SR))) == pytest.approx((0.25 + 0 + 1 + 0.25) / 4)


def test_mixing_with_ground_truth_is_two_weighted_terms():
    total, parts = total_loss([PixelLoss("l1", 0.25), TeacherOutputLoss("l1", 0.75)], outputs(teacher_sr=TEACHER_SR))
    hr_l1 = (0 + 0.5 + 1 + 0.25) / 4
    assert parts == {"l1": pytest.approx(hr_l1), "teacher_l1": pytest.approx(0.5)}
    assert float(total) == pytest.approx(0.25 * hr_l1 + 0.75 * 0.5)


def test_feature_distillation_sums_weighted_per_anchor_distances():
    a, b = AnchorPair("block_1", "B1", 2.0, "l1"), AnchorPair("block_4", "B4", 0.5, "l2")
    ones, threes = torch.ones(1, 2, 2, 2), torch.full((1, 2, 2, 2), 3.0)
    features = {pair_key(a): (ones, torch.zeros_like(ones)), pair_key(b): (threes, ones)}
    term = FeatureLoss((a, b), weight=0.1)
    assert (term.name, term.weight) == ("features", 0.1)
    assert float(term(outputs(features=features))) == pytest.approx(2.0 * 1.0 + 0.5 * 4.0)


def test_gradients_flow_to_the_student_side_only():
    student = torch.ones(1, 1, 2, 2, requires_grad=True)
    pair = AnchorPair("s", "t")
    value = FeatureLoss((pair,))(outputs(features={pair_key(pair): (student, torch.zeros(1, 1, 2, 2))}))
    value.backward()
    assert torch.allclose(student.grad, torch.full((1, 1, 2, 2), 0.25))


def test_values_are_float32_under_low_precision_inputs():
    value = distance(SR.bfloat16(), TEACHER_SR.bfloat16(), "l2")
    assert value.dtype == torch.float32 and float(value) == pytest.approx(0.375)


def test_missing_teacher_outputs_say_a_distill_stage_is_needed():
    needs = "the teacher loss needs the teacher's outputs .'teacher_sr'.*distill stage"
    with pytest.raises(DistillsrError, match=needs):
        TeacherOutputLoss()(outputs())
    with pytest.raises(DistillsrError, match="no features were captured for the anchor pair a -> b"):
        FeatureLoss((AnchorPair("a", "b"),))(outputs(features={}))


def test_refusals():
    with pytest.raises(DistillsrError, match="unknown teacher loss 'l3'"):
        TeacherOutputLoss("l3")
    with pytest.raises(DistillsrError, match="at least one anchor pair"):
        FeatureLoss(())
    with pytest.raises(DistillsrError, match="cannot compare tensors of shapes"):
        distance(SR, HR[..., :1], "l1")


def test_terms_are_built_from_the_recipe_loss_configs():
    pairs = (AnchorPair("block_1", "B1"),)
    configs = (PixelLossConfig(type="charbonnier", weight=0.5), TeacherLossConfig(loss="l2", weight=2.0),
               FeatureLossConfig(weight=0.1))
    pixel, teacher, features = build_terms(configs, pairs)
    assert isinstance(pixel, PixelLoss) and (pixel.kind, pixel.weight) == ("charbonnier", 0.5)
    assert isinstance(teacher, TeacherOutputLoss) and (teacher.kind, teacher.weight) == ("l2", 2.0)
    assert isinstance(features, FeatureLoss) and features.pairs == pairs and features.weight == 0.1
