"""Reorder channels by importance, so that every prefix of a group is its best sub-group.

A channel-splitting (CSD) network made from a trained model runs at width ``w`` on the *first*
``int(w * C)`` channels of every group (of every segment, for split tensors). Those are whichever
channels training happened to put first, so a trained IMDN sliced to 0.25 starts near 9 dB. A
permutation of a group's channels, applied to every layer index the group occupies (producing
filters and biases, reading kernel columns, BatchNorm entries), computes exactly the same function
at full width; choosing it to sort the channels by the pruning criteria's importance (most
important first) makes every prefix the sub-network that pruning to that width would keep. This
joins DIPNet's pruning and CSD's splitting: the narrow branches start from the best channels
instead of arbitrary ones.

Groups come from the same trace as pruning (:func:`~.groups.find_groups`), so the permutation
respects every tie (residual adds, attention, concatenation offsets, pixel-shuffle blocks); a group
is permuted only if it is ``reorderable`` (splits at fixed sizes and slimmable convs allow it; the
image's own channels do not).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from distillsr.compression.pruning.groups import ChannelGroup, example_input, find_groups
from distillsr.compression.pruning.ranking import Importance, channel_scores
from distillsr.errors import DistillsrError

_AXES = {"out": 0, "in": 1, "bn": 0}


def _layer_permutation(size: int, group: ChannelGroup, key: tuple[str, str], order: Sequence[int]) -> torch.Tensor:
    """Indices to gather along one layer axis: position ``k`` of the group takes channel ``order[k]``."""
    gather = torch.arange(size)
    for position, source in enumerate(order):
        for into, taken in zip(group.channels[position].indices[key], group.channels[source].indices[key], strict=True):
            gather[into] = taken
    return gather


def permute_group(network: nn.Module, group: ChannelGroup, order: Sequence[int]) -> None:
    """Permute ``group``'s channels in place: its ``k``-th channel becomes the former ``order[k]``-th."""
    if sorted(order) != list(range(group.width)):
        raise DistillsrError(f"a reordering of {group.name} must be a permutation of its {group.width} channels")
    if not group.reorderable:
        raise DistillsrError(f"group {group.name} cannot be reordered: {group.reason}")
    if list(order) == list(range(group.width)):
        return
    with torch.no_grad():
        for path, role in group.layers:
            layer = network.get_submodule(path)
            axis = _AXES[role]
            if isinstance(layer, nn.modules.batchnorm._BatchNorm):
                tensors = [layer.weight, layer.bias, layer.running_mean, layer.running_var]
                size = layer.num_features
            elif role == "out":
                tensors, size = [layer.weight, layer.bias], layer.weight.shape[0]
            else:
                tensors, size = [layer.weight], layer.weight.shape[1]
            gather = _layer_permutation(size, group, (path, role), order)
            for tensor in tensors:
                if tensor is not None:
                    tensor.data = tensor.data.index_select(axis, gather.to(tensor.device))


def reorder_channels(network: nn.Module, importance: Importance | None = None, example: torch.Tensor | None = None,
                     in_channels: int = 3) -> dict[str, list[int]]:
    """Sort every reorderable group's channels by importance, most important first (in place).

    ``importance``: from a pruning criterion (:mod:`.calibration`), computed on ``network`` as it is
    (full width); None ranks by L2 filter norms. Returns the order applied to each group that moved.
    Ties keep their positions, so a network whose channels are already sorted is left as it is.
    """
    groups = find_groups(network, example if example is not None else example_input(network, in_channels, 32))
    applied: dict[str, list[int]] = {}
    for group in groups:
        if not group.reorderable or group.width < 2:
            continue
        scores = channel_scores(network, group, importance)
        order = sorted(range(group.width), key=lambda position: (-scores[position], position))
        if order != list(range(group.width)):
            permute_group(network, group, order)
            applied[group.name] = order
    return applied
