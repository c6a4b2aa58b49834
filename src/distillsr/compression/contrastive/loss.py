"""CSD's contrastive loss: pull the student's output towards the teacher's, push it away from blurry images.

For VGG-19 features phi_i (relu1_1 ... relu5_1, weights w_i = 1/32, 1/16, 1/8, 1/4, 1), an anchor
(the student's SR), its positive (the teacher-width SR of the same LR, detached) and negatives
N_k (bicubic-upsampled LR images), as ``loss/contrast_loss.py`` of CSD codes it
(methods reference §4.2)::

    L = sum_i w_i * mean|phi_i(P) - phi_i(A)| / ( sum_k mean|phi_i(N_k) - phi_i(A)| + 1e-7 )

where each mean runs over the batch and the feature map, and the denominator *sums* over the
negatives (the official ``mean(|neg - student|.sum(0))`` is exactly a sum of per-negative means).

Which LR images are an anchor's negatives (:func:`negative_indices`):

* ``batch`` (the default: the official code): the first ``num_negatives`` images of the batch,
  shared by every anchor, so an anchor's own LR may be among them. CSD's trainer writes
  ``lr[torch.randperm(neg_num)]`` (``trainer/slim_contrast_trainer.py`` line 100), a permutation of
  exactly those images, and the denominator *sums* over the negatives, so their order is
  irrelevant: taking them in order computes the same loss without drawing from any generator.
  With ``num_negatives >= batch`` it is the whole batch, which is also what the later trainer's
  ``flip(lr)`` negatives amount to.
* ``others``: anchor ``i`` gets up to ``num_negatives`` images of the batch other than its own,
  ``i+1, i+2, ...`` cyclically. The batch is shuffled by the sampler, so this is a random choice;
  and an anchor is never pushed away from the upsampled version of its own input (CSD's issue #6).

Upsampling is torch's ``F.interpolate(mode="bicubic", align_corners=False)``, as the official
``nn.Upsample(scale, 'bicubic')``: the negatives only need to be "the blurry answer", they take no
gradient, and torch's kernel runs batched on any device at no cost, where distillsr's MATLAB-exact
resize (:mod:`distillsr.imaging.resize`, a = -0.5 instead of -0.75) would match a published
bicubic baseline more closely but buys nothing here. No clamping, as in the official code.

Under DDP every rank sees the step's whole batch of LR images and every mean runs over the whole
batch, so the loss (and the trained model) does not depend on the number of processes
(:mod:`.across_ranks`).

Inputs to VGG: images are [0, 1] RGB everywhere in distillsr. ``imagenet_norm=False`` (the
default) is what the official code does: its EDSR works on 0-255 pixels (``rgb_range 255``) and
hands them to VGG-19 as they are, so the values are multiplied by 255 here. ``imagenet_norm=True``
normalises them with ImageNet's mean and std, what the VGG weights were trained on; the loss value
moves little, but its gradient is a different signal (cosine 0.04 with the official one on the
same weights), so it is an option, not CSD.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from distillsr.compression.contrastive.across_ranks import gather_batch, global_mean
from distillsr.errors import DistillsrError
from distillsr.training.distributed import group_rank_and_size
from distillsr.training.losses import StepOutputs

LAYER_WEIGHTS: tuple[float, ...] = (1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
"""CSD's ``--vgg_weight`` default, shallow layer first."""
EPSILON = 1e-7
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
POSITIVE = "positive"
"""The key of the (detached) positive SR in ``StepOutputs.extras``."""

NegativeChoice = Literal["others", "batch"]
NEGATIVE_CHOICES = ("others", "batch")


def negative_indices(batch: int, num_negatives: int, choice: str, *, device: torch.device | str = "cpu") -> torch.Tensor:
    """``(batch, k)`` indices into the batch: row ``i`` lists anchor ``i``'s negatives.

    ``others``: ``k = min(num_negatives, batch - 1)``, row ``i`` is ``i+1, ..., i+k`` modulo the
    batch (never ``i``). ``batch``: ``k = min(num_negatives, batch)``, every row is ``0, ..., k-1``
    (the set the official ``lr[randperm(neg_num)]`` takes).
    """
    if num_negatives < 1:
        raise DistillsrError(f"the contrastive loss needs at least one negative, got num_negatives={num_negatives}")
    if choice == "others":
        if batch < 2:
            raise DistillsrError(
                "negatives: others takes an anchor's negatives from the other images of its batch, and this batch "
                f"has {batch} image; use a batch of 2 or more per process (or negatives: batch)"
            )
        k = min(num_negatives, batch - 1)
        rows = torch.arange(batch).unsqueeze(1)
        return ((rows + 1 + torch.arange(k).unsqueeze(0)) % batch).to(device)
    if choice == "batch":
        chosen = torch.arange(min(num_negatives, batch))
        return chosen.unsqueeze(0).expand(batch, -1).to(device)
    raise DistillsrError(f"unknown negatives choice {choice!r}; choose {' or '.join(NEGATIVE_CHOICES)}")


def contrastive_ratio(
    anchor: Sequence[torch.Tensor],
    positive: Sequence[torch.Tensor],
    negatives: Sequence[torch.Tensor],
    indices: torch.Tensor,
    weights: Sequence[float] = LAYER_WEIGHTS,
    *,
    ranks: int = 1,
) -> torch.Tensor:
    """``sum_i w_i * d(A_i, P_i) / (sum_k d(A_i, N_k,i) + 1e-7)`` on feature lists (one entry per layer).

    ``negatives[i]`` holds layer ``i``'s features of every candidate image, ``indices`` (from
    :func:`negative_indices`) says which of them are each anchor's. Distances are mean absolute
    differences in float32; the positive and the negatives are detached here too. ``ranks``: the
    DDP world size; each mean is then taken over every rank's anchors (:mod:`.across_ranks`).
    """
    if not (len(anchor) == len(positive) == len(negatives) == len(weights)):
        raise DistillsrError(
            f"the contrastive loss needs one weight per feature layer: {len(weights)} weights, "
            f"{len(anchor)}/{len(positive)}/{len(negatives)} anchor/positive/negative layers"
        )
    total = None
    for a, p, n, w in zip(anchor, positive, negatives, weights):
        a = a.float()
        n = n.detach().float()
        d_positive = global_mean((p.detach().float() - a).abs().mean(), ranks)
        d_negatives = None
        for column in range(indices.shape[1]):
            term = global_mean((n[indices[:, column]] - a).abs().mean(), ranks)
            d_negatives = term if d_negatives is None else d_negatives + term
        value = w * d_positive / (d_negatives + EPSILON)
        total = value if total is None else total + value
    assert total is not None
    return total


class ContrastiveLoss:
    """The loss term (``name``, ``weight``, called on :class:`StepOutputs`): anchor ``outputs.sr``,
    positive ``outputs.extras["positive"]``, negatives from ``outputs.lr``, features from ``vgg``."""

    name = "contrastive"

    def __init__(
        self,
        vgg: nn.Module,
        *,
        weight: float = 200.0,
        num_negatives: int = 10,
        negatives: str = "batch",
        imagenet_norm: bool = False,
        layer_weights: Sequence[float] = LAYER_WEIGHTS,
    ) -> None:
        if negatives not in NEGATIVE_CHOICES:
            raise DistillsrError(f"unknown negatives choice {negatives!r}; choose {' or '.join(NEGATIVE_CHOICES)}")
        if num_negatives < 1:
            raise DistillsrError(f"num_negatives must be at least 1, got {num_negatives}")
        self.vgg = vgg
        self.weight = weight
        self.num_negatives = num_negatives
        self.negatives = negatives
        self.imagenet_norm = imagenet_norm
        self.layer_weights = tuple(layer_weights)

    def vgg_input(self, images: torch.Tensor) -> torch.Tensor:
        """[0, 1] RGB as VGG gets it: 0-255 (the official code), or ImageNet-normalised."""
        if not self.imagenet_norm:
            return images * 255.0
        mean = images.new_tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = images.new_tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (images - mean) / std

    def __call__(self, outputs: StepOutputs) -> torch.Tensor:
        anchor = outputs.sr
        try:
            positive = outputs.extras[POSITIVE]
        except KeyError:
            raise DistillsrError("the contrastive loss needs a positive (the teacher branch's SR); only a csd stage gives one") from None
        if anchor.shape[1] != 3:
            raise DistillsrError(f"the contrastive loss compares RGB images through VGG-19, got {anchor.shape[1]} channels")
        n = anchor.shape[0]
        rank, ranks = group_rank_and_size()
        lr, mine = gather_batch(outputs.lr.detach(), rank, ranks)  # the whole step's LR under DDP
        everyone = negative_indices(lr.shape[0], self.num_negatives, self.negatives, device=anchor.device)
        indices = everyone[mine]  # (n, k) into lr
        needed, indices = torch.unique(indices, return_inverse=True)  # upsample and embed each negative once
        blurry = F.interpolate(lr[needed], size=anchor.shape[-2:], mode="bicubic", align_corners=False)
        self.vgg.to(anchor.device)
        with torch.no_grad():
            fixed = self.vgg(self.vgg_input(torch.cat([positive.detach(), blurry.to(positive.dtype)])))
        anchor_features = self.vgg(self.vgg_input(anchor))
        return contrastive_ratio(
            anchor_features, [f[:n] for f in fixed], [f[n:] for f in fixed], indices, self.layer_weights, ranks=ranks
        )
