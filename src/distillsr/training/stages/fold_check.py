"""The fold checks itself: the folded network must compute what the train-time one did.

A wrong ``fold()`` (a branch forgotten, a BatchNorm statistic misread) otherwise ships silently: the
deploy model loads, runs, and scores a little or a lot worse, and nobody knows the fold is to blame.
So the reparameterize stage runs the network before and after folding on a fixed batch of training
patches and stops the run above :data:`FOLD_TOLERANCE`, naming the largest difference and the block
whose own fold differs most.

Both passes run in float64 on copies of the network: on a GPU, float32 convolutions may use TF32,
whose rounding alone can exceed the tolerance; in float64 a correct fold agrees to ~1e-12, so the
tolerance only catches real mistakes. Outputs are compared on the [0, 1] scale whatever the
network's input range, as validation sees them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from distillsr.models.sr_model import unit_range_call

FOLD_TOLERANCE = 1e-4
"""Largest allowed |before - after| of any output pixel, on the [0, 1] scale."""


def check_patches(training_set, count: int = 4) -> torch.Tensor:
    """The LR side of the first ``count`` training patches of epoch 0, as one batch.

    Items of the training set are pure functions of (seed, epoch, index), so reading them draws
    from no global generator and a resumed run stays bit-identical to an uninterrupted one.
    """
    items = [training_set[i] for i in range(min(count, len(training_set)))]
    return torch.stack([item["lr"] for item in items])


@dataclass
class FoldCheck:
    """How far the fold moved the outputs, and the block to suspect when it moved them too far."""

    difference: float  # max |before - after| over the batch, [0, 1] scale
    culprit: tuple[str, str, float] | None = None  # (module path, class, its own max difference), when failed

    @property
    def passed(self) -> bool:
        return self.difference <= FOLD_TOLERANCE


def _float64_copy(network: nn.Module, device: torch.device) -> nn.Module:
    return copy.deepcopy(network).to(device=device, dtype=torch.float64).eval()


def _outputs(model: nn.Module, lr: torch.Tensor, input_range: float) -> torch.Tensor:
    with torch.no_grad():
        return unit_range_call(model, lr, input_range)


def worst_block(model: nn.Module, lr: torch.Tensor, input_range: float) -> tuple[str, str, float] | None:
    """``(path, class name, max difference)`` of the foldable block of ``model`` whose own fold differs most.

    ``model`` is an unfolded float64 copy; each block's fold is compared on the input it saw when
    ``model`` ran on ``lr``. None when the model has no foldable block.
    """
    from distillsr.nn.reparam import Foldable

    seen: dict[str, torch.Tensor] = {}
    handles = [
        module.register_forward_hook(lambda m, args, out, name=name: seen.setdefault(name, args[0]))
        for name, module in model.named_modules()
        if isinstance(module, Foldable)
    ]
    try:
        _outputs(model, lr, input_range)
    finally:
        for handle in handles:
            handle.remove()
    modules = dict(model.named_modules())
    worst = None
    for name, block_input in seen.items():
        block = modules[name]
        with torch.no_grad():
            expected = block(block_input)
            got = copy.deepcopy(block).fold().to(dtype=torch.float64).eval()(block_input)
        difference = float((expected - got).abs().max()) if expected.shape == got.shape else float("inf")
        if worst is None or difference > worst[2]:
            worst = (name, type(block).__name__, difference)
    return worst


def fold_and_check(
    network: nn.Module, lr: torch.Tensor, input_range: float, fold: Callable[[nn.Module], nn.Module]
) -> tuple[nn.Module, FoldCheck]:
    """``fold(network)`` (in place, as :func:`~distillsr.nn.reparam.deploy` does) and how far it moved the outputs on ``lr``."""
    device = next(network.parameters()).device
    lr = lr.to(device=device, dtype=torch.float64)
    reference = _float64_copy(network, device)  # the train-time form, kept to name a culprit
    before = _outputs(reference, lr, input_range)
    folded = fold(network)
    after = _outputs(_float64_copy(folded, device), lr, input_range)
    difference = float((before - after).abs().max()) if before.shape == after.shape else float("inf")
    check = FoldCheck(difference)
    if not check.passed:
        check.culprit = worst_block(reference, lr, input_range)
    return folded, check
