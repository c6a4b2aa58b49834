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
(E-RFDN's trunk channel 22: removing it alone costs 22 dB). Two data-aware criteria see it:

* :func:`activation_importance`: the RMS of each producer's output channel on calibration
  images, normalised per layer the same way (a large signal is assumed to matter);
* :func:`taylor_importance`: the first-order Taylor estimate of how much the reconstruction loss
  changes when the channel is zeroed (Molchanov et al., CVPR 2017 / 2019), ``|sum a * dL/da|``
  per image. It is in loss units for every layer, so it needs no normalisation: the producers
  of a tied channel add their signed terms *per image* (zeroing the channel zeroes all of them at
  once) before the absolute value and the mean over images.

* :func:`sensitivity_importance` (the default): the first-order change of the *output*, not of
  the loss, estimated with random projections; it does not vanish where a trained model's loss
  is flat, which is where Taylor can rank a load-bearing channel low.

Which one is the default is decided by measurement (``benchmarks/prune_criteria.py``; the
table is in the README).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from distillsr.compression.pruning.groups import Channel, ChannelGroup

Importance = dict[str, torch.Tensor]
"""Layer path -> per output channel either one additive score (shape ``(C,)``) or signed
per-image contributions (shape ``(N, C)``, :func:`taylor_importance`): see :func:`channel_scores`."""
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


def _conv_outputs(network: nn.Module) -> list[tuple[str, nn.Module]]:
    return [(path, layer) for path, layer in network.named_modules() if isinstance(layer, (nn.Conv2d, nn.Linear))]


def taylor_importance(network: nn.Module, lr: torch.Tensor, hr: torch.Tensor, input_range: float = 1.0) -> Importance:
    """Signed first-order Taylor terms ``sum_hw a * dL/da`` per image and output channel of every conv
    and linear layer, shape ``(N, C)``, for ``L`` = the sum over images of the mean L1 between the
    network's SR of ``lr`` and ``hr`` (both in [0, 1]; ``input_range``: what the network reads).

    Zeroing channel ``c`` changes image ``n``'s loss by about ``-sum of these terms over the
    channel's producers``; :func:`channel_scores` takes that sum's absolute value, averaged over
    the images. Gradients are taken with respect to the activations only: no ``.grad`` is left on
    any parameter, and the network's train/eval mode is restored.
    """
    outputs: dict[str, torch.Tensor] = {}

    def hook_for(path: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            outputs[path] = output

        return hook

    handles = [layer.register_forward_hook(hook_for(path)) for path, layer in _conv_outputs(network)]
    was_training = network.training
    network.eval()
    try:
        reference = next(iter(network.parameters()))
        x = lr.to(device=reference.device, dtype=reference.dtype)
        target = hr.to(device=reference.device, dtype=reference.dtype)
        with torch.enable_grad():
            x = x.requires_grad_(True)  # so every activation is in the graph, even with frozen weights
            sr = network(x * input_range) / input_range if input_range != 1.0 else network(x)
            loss = (sr - target).abs().flatten(1).mean(dim=1).sum()
            paths = list(outputs)
            grads = torch.autograd.grad(loss, [outputs[path] for path in paths], allow_unused=True)
    finally:
        network.train(was_training)
        for handle in handles:
            handle.remove()
    terms: Importance = {}
    for path, grad in zip(paths, grads):
        activation = outputs[path].detach().double()
        if grad is None:
            terms[path] = torch.zeros(activation.shape[0], activation.shape[1], dtype=torch.float64)
            continue
        product = activation * grad.detach().double()
        terms[path] = product.reshape(product.shape[0], product.shape[1], -1).sum(dim=2).cpu()
    return terms


def sensitivity_importance(
    network: nn.Module, lr: torch.Tensor, input_range: float = 1.0, projections: int = 4, seed: int = 0
) -> Importance:
    """Signed first-order terms of the *output's* change when a channel is zeroed, shape ``(N*K, C)``.

    Zeroing channel ``c`` (activation ``a_c``) moves the SR by about ``J a_c`` (``J``: the output's
    Jacobian w.r.t. that activation). ``|J a_c|^2`` is estimated without one pass per channel: for
    ``K = projections`` seeded Gaussian images ``v``, ``E[(v . J a_c)^2] = |J a_c|^2``, and
    ``v . J a_c = sum_hw a_c * d(v . SR)/da_c`` needs one backward pass per ``v`` for every channel at
    once. Unlike the Taylor term of a loss, this does not vanish where a trained model's loss is
    flat: a channel that carries the image has a large output effect whatever the loss's slope.
    :func:`channel_scores` sums a tied channel's producers per row and averages the absolute values
    (a monotone function of the root-mean-square for these Gaussian terms).
    """
    outputs: dict[str, torch.Tensor] = {}

    def hook_for(path: str):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            outputs[path] = output

        return hook

    handles = [layer.register_forward_hook(hook_for(path)) for path, layer in _conv_outputs(network)]
    was_training = network.training
    network.eval()
    generator = torch.Generator().manual_seed(seed)
    rows: dict[str, list[torch.Tensor]] = {}
    try:
        reference = next(iter(network.parameters()))
        x = lr.to(device=reference.device, dtype=reference.dtype)
        with torch.enable_grad():
            x = x.requires_grad_(True)
            sr = network(x * input_range) / input_range if input_range != 1.0 else network(x)
            paths = list(outputs)
            for index in range(projections):
                direction = torch.randn(sr.shape, generator=generator, dtype=torch.float64).to(sr.device, sr.dtype)
                grads = torch.autograd.grad((sr * direction).sum(), [outputs[path] for path in paths],
                                            allow_unused=True, retain_graph=index + 1 < projections)
                for path, grad in zip(paths, grads):
                    activation = outputs[path].detach().double()
                    if grad is None:
                        term = torch.zeros(activation.shape[0], activation.shape[1], dtype=torch.float64)
                    else:
                        product = activation * grad.detach().double()
                        term = product.reshape(product.shape[0], product.shape[1], -1).sum(dim=2).cpu()
                    rows.setdefault(path, []).append(term)
    finally:
        network.train(was_training)
        for handle in handles:
            handle.remove()
    return {path: torch.cat(terms) for path, terms in rows.items()}


def channel_scores(network: nn.Module, group: ChannelGroup, importance: Importance | None = None) -> list[float]:
    """One score per channel of ``group`` (higher = more important); L2 filter norms by default.

    Additive scores (``(C,)`` per layer) are summed over the channel's producers. Per-image signed
    terms (``(N, C)``) are summed over the producers image by image, then scored as the mean of
    the absolute sums (zeroing a tied channel removes every producer's share at once).
    """
    norms: Importance = dict(importance) if importance is not None else {}
    scores = []
    for channel in group.channels:
        total: float | torch.Tensor = 0.0
        for path, index in channel.producers():
            if path not in norms:
                norms[path] = filter_norms(network.get_submodule(path))
            values = norms[path]
            total = total + (values[:, index] if values.ndim == 2 else float(values[index]))
        scores.append(float(total.abs().mean()) if isinstance(total, torch.Tensor) else total)
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
