"""Narrowing a freshly built network to the layer widths a pruned checkpoint stores.

A structurally pruned model is an ordinary zoo model whose conv, linear and BatchNorm layers are
narrower than its constructor makes them. Its file keeps the constructor's hyperparameters plus
one more, :data:`PRUNED_WIDTHS` (``{layer path: [out, in]}``, ``[features]`` for a BatchNorm; only
the layers that differ), so rebuilding it is "build as usual, then narrow". That is a model
concern: :mod:`distillsr.models.zoo` and :mod:`distillsr.checkpoints` rebuild pruned files with
it and never need pruning code, while :mod:`distillsr.compression.pruning` (which decides what to
remove) records the widths with :func:`changed_widths`.
"""

from __future__ import annotations

import torch
from torch import nn

from distillsr.errors import DistillsrError

# The hyperparameter under which a structurally pruned model keeps its per-layer widths.
PRUNED_WIDTHS = "pruned_widths"

SLICEABLE = (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm)


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


def is_depthwise(conv: nn.Conv2d) -> bool:
    """One filter per input channel: narrowing keeps in = out = groups."""
    return conv.groups > 1 and conv.groups == conv.in_channels == conv.out_channels


def _fresh(like: torch.Tensor | None, shape: tuple[int, ...]) -> torch.Tensor | None:
    if like is None:
        return None
    data = torch.zeros(shape, dtype=like.dtype, device=like.device)
    return nn.Parameter(data, requires_grad=like.requires_grad) if isinstance(like, nn.Parameter) else data


def _resize(layer: nn.Module, sizes: list[int]) -> None:
    if isinstance(layer, nn.Conv2d):
        out_channels, in_channels = sizes
        depthwise = is_depthwise(layer)
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
