"""CSD's contrastive term: the value by hand on a toy feature extractor, the negatives' indices, where gradients go."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.compression.contrastive.loss import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    LAYER_WEIGHTS,
    ContrastiveLoss,
    negative_indices,
)
from distillsr.errors import DistillsrError
from distillsr.training.losses import StepOutputs

SCALE = 4
ANCHOR = (0.2, 0.4, 0.6)  # student SR of image i: a constant grey level
POSITIVE = (0.3, 0.4, 0.9)  # teacher SR
LR = (0.1, 0.5, 1.0)  # LR image (its bicubic upsampling is the same constant)


class ToyFeatures(nn.Module):
    """Two "layers": the image itself and its square, so the numbers can be worked out by hand."""

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [x, x * x]


def _grey(levels, side: int, requires_grad: bool = False) -> torch.Tensor:
    images = torch.tensor(levels, dtype=torch.float64).view(-1, 1, 1, 1).expand(-1, 3, side, side).clone()
    return images.requires_grad_(requires_grad)


def _outputs(anchor=ANCHOR, positive=POSITIVE, lr=LR, grad: bool = False) -> StepOutputs:
    sr = _grey(anchor, 16, grad)
    return StepOutputs(lr=_grey(lr, 16 // SCALE), hr=sr.detach(), sr=sr, extras={"positive": _grey(positive, 16, grad)})


def test_the_loss_equals_the_value_worked_out_by_hand():
    # layer 1 (x): d(A, P) = (0.1 + 0 + 0.3) / 3. Under `others` with 2 negatives, anchor i's
    # negatives are LR i+1 and i+2 (mod 3): |0.5-0.2|, |1.0-0.4|, |0.1-0.6| -> 1.4/3, then
    # |1.0-0.2|, |0.1-0.4|, |0.5-0.6| -> 1.2/3; the denominator sums them: 2.6/3.
    # layer 2 (x^2): d(A, P) = (0.05 + 0 + 0.45) / 3; negatives (0.21 + 0.84 + 0.35)/3 + (0.96 + 0.15 + 0.11)/3.
    # imagenet_norm: false multiplies by 255 before the features, which cancels in each ratio.
    loss = ContrastiveLoss(ToyFeatures(), num_negatives=2, negatives="others", imagenet_norm=False, layer_weights=(0.25, 1.0))
    expected = 0.25 * 0.4 / 2.6 + 1.0 * 0.5 / 2.62
    assert loss(_outputs()).item() == pytest.approx(expected, rel=1e-6)
    # more negatives than other images: every other image, once (the same two here)
    many = ContrastiveLoss(ToyFeatures(), num_negatives=10, negatives="others", imagenet_norm=False, layer_weights=(0.25, 1.0))
    assert many(_outputs()).item() == pytest.approx(expected, rel=1e-6)


def test_the_official_batch_draw_can_include_the_anchors_own_image():
    # num_negatives >= batch: every LR of the batch, the anchor's own included:
    # layer 1: sum_j mean_i |l_j - a_i| = (0.1+0.3+0.5)/3 + (0.3+0.1+0.1)/3 + (0.8+0.6+0.4)/3 = 3.2/3
    loss = ContrastiveLoss(ToyFeatures(), num_negatives=3, negatives="batch", imagenet_norm=False, layer_weights=(1.0, 0.0))
    assert loss(_outputs()).item() == pytest.approx(0.4 / 3.2, rel=1e-6)


def test_the_denominator_has_the_1e7_of_csd():
    """An anchor equal to its only negative: the ratio is d(A, P) / 1e-7, not a division by zero."""
    loss = ContrastiveLoss(ToyFeatures(), num_negatives=1, imagenet_norm=False, layer_weights=(1.0, 0.0))
    outputs = _outputs(anchor=(0.5, 0.5), positive=(0.5, 0.5 + 1 / 255), lr=(0.5, 0.5))
    assert loss(outputs).item() == pytest.approx((0.5 * 1.0) / 1e-7, rel=1e-5)  # mean |P - A| * 255 = 0.5


@pytest.mark.parametrize("batch", [2, 3, 5, 16])
@pytest.mark.parametrize("wanted", [1, 4, 10, 20])
def test_under_others_no_anchor_is_its_own_negative(batch, wanted):
    indices = negative_indices(batch, wanted, "others")
    k = min(wanted, batch - 1)
    assert indices.shape == (batch, k)
    for anchor, row in enumerate(indices.tolist()):
        assert anchor not in row and len(set(row)) == k and all(0 <= j < batch for j in row)


def test_the_batch_choice_is_the_set_the_official_randperm_takes_shared_by_every_anchor():
    """CSD: ``lr[torch.randperm(neg_num)]``, a permutation of the batch's first neg_num images."""
    state = torch.random.get_rng_state()
    indices = negative_indices(16, 10, "batch")
    assert indices.shape == (16, 10) and (indices == torch.arange(10)).all()
    assert torch.equal(torch.random.get_rng_state(), state), "no draw from the global generator"
    torch.manual_seed(3)
    assert sorted(torch.randperm(10).tolist()) == indices[0].tolist()
    assert negative_indices(4, 10, "batch").tolist() == [[0, 1, 2, 3]] * 4


def test_a_batch_of_one_has_no_other_image():
    with pytest.raises(DistillsrError, match="has 1 image; use a batch of 2 or more"):
        negative_indices(1, 10, "others")


def test_gradients_reach_the_student_and_not_the_positive():
    outputs = _outputs(grad=True)
    loss = ContrastiveLoss(ToyFeatures(), num_negatives=2, imagenet_norm=False)
    loss.layer_weights = (0.25, 1.0)
    loss(outputs).backward()
    assert outputs.sr.grad is not None and outputs.sr.grad.abs().sum() > 0
    assert outputs.extras["positive"].grad is None


def test_the_defaults_are_the_official_raw_0_255_input_and_batch_negatives():
    image = torch.rand(2, 3, 16, 16)
    loss = ContrastiveLoss(ToyFeatures())
    assert not loss.imagenet_norm and loss.num_negatives == 10 and loss.negatives == "batch"
    assert loss.layer_weights == LAYER_WEIGHTS
    torch.testing.assert_close(loss.vgg_input(image), image * 255)
    mean, std = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(ContrastiveLoss(ToyFeatures(), imagenet_norm=True).vgg_input(image), (image - mean) / std)


def test_it_runs_on_vgg19_features_with_five_layer_weights():
    from distillsr.compression.contrastive.vgg import VGG19Features

    torch.manual_seed(0)
    outputs = StepOutputs(lr=torch.rand(3, 3, 4, 4), hr=torch.rand(3, 3, 16, 16), sr=torch.rand(3, 3, 16, 16, requires_grad=True),
                          extras={"positive": torch.rand(3, 3, 16, 16)})
    value = ContrastiveLoss(VGG19Features())(outputs)
    assert value.ndim == 0 and torch.isfinite(value) and value > 0
    value.backward()
    assert outputs.sr.grad.abs().sum() > 0
