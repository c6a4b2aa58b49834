"""Which channels of a group go first: L2 filter norms, as DIPNet's pruning ranked them.

A channel of a tied group has several producing filters (a trunk channel is written by
``conv_1``, by every residual branch's last conv, by ESA's mask conv). Its score is the sum of
its filters' L2 norms, each *divided by the mean filter norm of its own layer*. Why normalise:
the producers live on unrelated scales (E-RFDN's first conv reads 0-255 pixels and has tiny
weights, an ESA mask conv feeds a sigmoid, a 1x1 fusion conv sums hundreds of inputs), so a raw
sum would rank channels by whichever layer happens to have the largest weights and ignore the
others; normalised, every producer casts a vote of the same weight, and a channel is kept when
it matters to the layers that write it.

Weight norms cannot see the data. A first conv reading raw, non-centred pixels can have one
filter of ordinary norm but large DC gain that carries the image itself through a long skip
(E-RFDN's trunk channel 22: removing it alone costs 22 dB). :func:`activation_importance` is the
data-aware alternative: the RMS of each producer's output channel on calibration images,
normalised per layer the same way.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from distillsr.compression.pruning.groups import Channel, ChannelGroup

Importance = dict[str, torch.Tensor]  # layer path -> one value per output channel, mean 1
Criterion = Callable[[nn.Module], Importance]


def _normalised(values: torch.Tensor) -> torch.Tensor:
    mean = values.mean()
    return values / mean if float(mean) > 0 else torch.ones_like(values)


def filter_norms(layer: nn.Module) -> torch.Tensor:
    """Per-output-filter L2 norm of a conv or linear layer's weight, normalised to mean 1."""
    weight = layer.weight.detach().double()
    return _normalised(weight.reshape(weight.shape[0], -1).norm(dim=1))


def weight_importance(network: nn.Module) -> Importance:
    """:func:`filter_norms` of every conv and linear layer (DIPNet's criterion)."""
    return {
        path: filter_norms(layer)
        for path, layer in network.named_modules()
        if isinstance(layer, (nn.Conv2d, nn.Linear))
    }


def activation_importance(network: nn.Module, batch: torch.Tensor) -> Importance:
    """RMS of every conv and linear layer's output channels on ``batch``, normalised per layer."""
    sums: dict[str, torch.Tensor] = {}
    handles = []

    def hook_for(path: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            moved = output.detach().double().transpose(0, 1).reshape(output.shape[1], -1)
            square = moved.pow(2).mean(dim=1)
            sums[path] = sums.get(path, 0) + square

        return hook

    for path, layer in network.named_modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            handles.append(layer.register_forward_hook(hook_for(path)))
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            reference = next(iter(network.parameters()))
            network(batch.to(device=reference.device, dtype=reference.dtype))
    finally:
        network.train(was_training)
        for handle in handles:
            handle.remove()
    return {path: _normalised(square.sqrt()) for path, square in sums.items()}


def channel_scores(network: nn.Module, group: ChannelGroup, importance: Importance | None = None) -> list[float]:
    """One score per channel of ``group`` (higher = more important); L2 filter norms by default."""
    norms: Importance = dict(importance) if importance is not None else {}
    scores = []
    for channel in group.channels:
        total = 0.0
        for path, index in channel.producers():
            if path not in norms:
                norms[path] = filter_norms(network.get_submodule(path))
            total += float(norms[path][index])
        scores.append(total)
    return scores


def weakest(network: nn.Module, group: ChannelGroup, count: int, importance: Importance | None = None) -> list[Channel]:
    """The ``count`` lowest-scored channels of ``group`` (ties broken by position, for determinism)."""
    if count <= 0:
        return []
    scores = channel_scores(network, group, importance)
    order = sorted(range(group.width), key=lambda position: (scores[position], position))
    return [group.channels[position] for position in order[:count]]


def removal_count(width: int, fraction: float, *, min_width: int = 1, at_least_one: bool = False) -> int:
    """How many of ``width`` channels a step of ``fraction`` removes (``int(n * r)``, as DIPNet)."""
    count = int(width * fraction + 1e-9)
    if at_least_one and fraction > 0:
        count = max(count, 1)
    return max(0, min(count, width - min_width))
