"""Physically remove channels: layers get sliced copies of their weights, not masks.

The result is an ordinary dense network whose ``Conv2d``/``Linear``/``BatchNorm`` layers are
narrower; nothing about it needs pruning code to run. :func:`silence_channels` is the masked
counterpart (the producing filters zeroed in place): for a correctly derived group the two
compute the same function, which is how the dependency analysis is tested.

Recording and re-applying the resulting widths (so a pruned checkpoint reloads) is a model
concern and lives in :mod:`distillsr.models.pruned_widths`.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from distillsr.compression.pruning.groups import Channel
from distillsr.errors import DistillsrError


def _drops(channels: Iterable[Channel]) -> dict[tuple[str, str], set[int]]:
    drops: dict[tuple[str, str], set[int]] = {}
    for channel in channels:
        for key, indices in channel.indices.items():
            drops.setdefault(key, set()).update(indices)
    return drops


def _keep(size: int, dropped: set[int]) -> torch.Tensor:
    return torch.tensor([index for index in range(size) if index not in dropped], dtype=torch.long)


def _sliced(parameter: torch.Tensor | None, dim: int, keep: torch.Tensor) -> torch.Tensor | None:
    if parameter is None:
        return None
    data = parameter.detach().index_select(dim, keep.to(parameter.device)).clone()
    if isinstance(parameter, nn.Parameter):
        return nn.Parameter(data, requires_grad=parameter.requires_grad)
    return data


def remove_channels(network: nn.Module, channels: Iterable[Channel]) -> None:
    """Delete ``channels`` (from :func:`~.groups.find_groups` of this very network) in place."""
    for (path, role), dropped in _drops(channels).items():
        layer = network.get_submodule(path)
        if isinstance(layer, nn.Conv2d):
            if role == "out":
                keep = _keep(layer.out_channels, dropped)
                layer.weight = _sliced(layer.weight, 0, keep)
                layer.bias = _sliced(layer.bias, 0, keep)
                layer.out_channels = len(keep)
                if _is_depthwise_weight(layer):
                    layer.in_channels = layer.groups = len(keep)
            else:
                keep = _keep(layer.in_channels, dropped)
                layer.weight = _sliced(layer.weight, 1, keep)
                layer.in_channels = len(keep)
        elif isinstance(layer, nn.Linear):
            if role == "out":
                keep = _keep(layer.out_features, dropped)
                layer.weight = _sliced(layer.weight, 0, keep)
                layer.bias = _sliced(layer.bias, 0, keep)
                layer.out_features = len(keep)
            else:
                keep = _keep(layer.in_features, dropped)
                layer.weight = _sliced(layer.weight, 1, keep)
                layer.in_features = len(keep)
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            keep = _keep(layer.num_features, dropped)
            layer.weight = _sliced(layer.weight, 0, keep)
            layer.bias = _sliced(layer.bias, 0, keep)
            for name in ("running_mean", "running_var"):
                if getattr(layer, name) is not None:
                    setattr(layer, name, _sliced(getattr(layer, name), 0, keep))
            layer.num_features = len(keep)
        else:  # the tracer only makes members of these three kinds
            raise DistillsrError(f"cannot slice {path} ({type(layer).__name__})")


def _is_depthwise_weight(conv: nn.Conv2d) -> bool:
    """Depthwise after the out-slice: one input channel per filter and groups = the old width."""
    return conv.groups > 1 and conv.weight.shape[1] == 1 and conv.groups == conv.in_channels


def silence_channels(network: nn.Module, channels: Iterable[Channel]) -> None:
    """Zero what produces ``channels`` (filters and biases; BatchNorm scale and shift) in place.

    Every consumer then reads zeros where the removed channels were, so the output equals that of
    the network with the channels removed, whenever the grouping is right.
    """
    with torch.no_grad():
        for (path, role), dropped in _drops(channels).items():
            layer = network.get_submodule(path)
            index = torch.tensor(sorted(dropped), dtype=torch.long)
            if role == "out" or isinstance(layer, nn.modules.batchnorm._BatchNorm):
                for name in ("weight", "bias"):
                    tensor = getattr(layer, name, None)
                    if tensor is not None:
                        tensor[index.to(tensor.device)] = 0
