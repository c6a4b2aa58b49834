"""Physically remove channels: layers get sliced copies of their weights, not masks.

The result is an ordinary dense network whose ``Conv2d``/``Linear``/``BatchNorm`` layers are
narrower; nothing about it needs pruning code to run. :func:`silence_channels` is the masked
counterpart (the producing filters zeroed in place): for a correctly derived group the two
compute the same function, which is how the dependency analysis is tested.
"""

from __future__ import annotations

from collections.abc import Iterable

import torch
from torch import nn

from distillsr.compression.pruning.groups import Channel
from distillsr.errors import DistillsrError

SLICEABLE = (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm)


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


def _is_depthwise(conv: nn.Conv2d) -> bool:
    return conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels


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


def layer_widths(network: nn.Module) -> dict[str, list[int]]:
    """``{path: [out, in]}`` of every conv and linear layer, ``{path: [features]}`` of every BatchNorm."""
    widths: dict[str, list[int]] = {}
    for path, layer in network.named_modules():
        if isinstance(layer, nn.Conv2d):
            widths[path] = [layer.out_channels, layer.in_channels]
        elif isinstance(layer, nn.Linear):
            widths[path] = [layer.out_features, layer.in_features]
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            widths[path] = [layer.num_features]
    return widths


def changed_widths(reference: nn.Module, network: nn.Module) -> dict[str, list[int]]:
    """The layers whose widths differ from ``reference`` (the unpruned build): what a checkpoint stores."""
    before = layer_widths(reference)
    after = layer_widths(network)
    if set(before) != set(after):
        raise DistillsrError("the pruned network does not have the layers of its unpruned build")
    return {path: widths for path, widths in after.items() if widths != before[path]}


def apply_widths(network: nn.Module, widths: dict[str, list[int]], what: str = "the model") -> None:
    """Narrow the layers named in ``widths`` (fresh, uninitialised tensors) so a pruned state dict loads."""
    if not isinstance(widths, dict):
        raise DistillsrError(f"pruned widths of {what} must map layer paths to widths, got {type(widths).__name__}")
    for path, sizes in widths.items():
        try:
            layer = network.get_submodule(path)
        except AttributeError:
            raise DistillsrError(f"pruned widths name the layer {path!r}, which {what} does not have") from None
        if not isinstance(layer, SLICEABLE):
            raise DistillsrError(f"pruned widths name {path!r}, a {type(layer).__name__}, not a conv, linear or BatchNorm layer")
        expected = 1 if isinstance(layer, nn.modules.batchnorm._BatchNorm) else 2
        if not isinstance(sizes, (list, tuple)) or len(sizes) != expected or not all(
            isinstance(size, int) and not isinstance(size, bool) and size > 0 for size in sizes
        ):
            raise DistillsrError(f"pruned widths of {path!r} must be {expected} positive integer(s), got {sizes!r}")
        _resize(layer, list(sizes))


def _fresh(like: torch.Tensor | None, shape: tuple[int, ...]) -> torch.Tensor | None:
    if like is None:
        return None
    data = torch.zeros(shape, dtype=like.dtype, device=like.device)
    return nn.Parameter(data, requires_grad=like.requires_grad) if isinstance(like, nn.Parameter) else data


def _resize(layer: nn.Module, sizes: list[int]) -> None:
    if isinstance(layer, nn.Conv2d):
        out_channels, in_channels = sizes
        depthwise = _is_depthwise(layer)
        if depthwise and out_channels != in_channels:
            raise DistillsrError(f"a depthwise conv keeps in = out channels, got {sizes}")
        groups = out_channels if depthwise else layer.groups
        if in_channels % groups or out_channels % groups:
            raise DistillsrError(f"widths {sizes} do not divide into the conv's {groups} groups")
        layer.weight = _fresh(layer.weight, (out_channels, in_channels // groups, *layer.kernel_size))
        layer.bias = _fresh(layer.bias, (out_channels,))
        layer.out_channels, layer.in_channels, layer.groups = out_channels, in_channels, groups
    elif isinstance(layer, nn.Linear):
        layer.out_features, layer.in_features = sizes
        layer.weight = _fresh(layer.weight, tuple(sizes))
        layer.bias = _fresh(layer.bias, (sizes[0],))
    else:
        (features,) = sizes
        layer.weight = _fresh(layer.weight, (features,))
        layer.bias = _fresh(layer.bias, (features,))
        layer.running_mean = _fresh(layer.running_mean, (features,))
        layer.running_var = _fresh(layer.running_var, (features,))
        layer.num_features = features
