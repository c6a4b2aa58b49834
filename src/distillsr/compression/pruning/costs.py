"""Parameters and MACs of a network as a function of its layer widths, without rebuilding it.

Landing a pruning step on a target means trying many candidate removals; physically pruning and
profiling each would cost a forward pass at 256x256 per try. Instead one forward records where
every conv and linear layer runs (output positions, kernel size); their cost is then exact
arithmetic in the widths. What is not a conv, linear or BatchNorm parameter (matmuls of
dynamic branches, stray parameters) is measured once with
:func:`distillsr.efficiency.count_ops` / :func:`~distillsr.efficiency.count_parameters` and kept
as a constant: the analysis never prunes those.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from distillsr.compression.pruning.groups import Channel
from distillsr.models.pruned_widths import layer_widths

NTIRE_INPUT = (1, 3, 256, 256)


@dataclass(frozen=True)
class LayerCost:
    kind: str  # "conv" | "linear" | "bn"
    kernel: int = 1  # kh * kw
    depthwise: bool = False
    groups: int = 1
    bias: bool = False
    affine: bool = False
    positions: int = 0  # output positions per forward (N*Ho*Wo summed over calls), rows for linear

    def params(self, sizes: list[int]) -> int:
        if self.kind == "bn":
            return 2 * sizes[0] if self.affine else 0
        out, inp = sizes
        fan_in = self.kernel * (1 if self.depthwise else inp // self.groups)
        return out * fan_in + (out if self.bias else 0)

    def macs(self, sizes: list[int]) -> int:
        if self.kind == "bn":
            return 0
        out, inp = sizes
        fan_in = self.kernel * (1 if self.depthwise else inp // self.groups)
        return out * fan_in * self.positions


@dataclass
class Costs:
    params: int
    macs: int


class CostModel:
    """Exact params/MACs of widths of one network structure at one input size."""

    def __init__(self, layers: dict[str, LayerCost], const_params: int, const_macs: int) -> None:
        self.layers = layers
        self.const_params = const_params
        self.const_macs = const_macs

    @classmethod
    def measure(cls, network: nn.Module, input_shape: tuple[int, ...] = NTIRE_INPUT) -> CostModel:
        from distillsr.efficiency import count_ops, count_parameters

        layers = _record_layers(network, input_shape)
        analytic = cls(layers, 0, 0).costs(layer_widths(network))
        true_params = count_parameters(network).total
        true_macs = count_ops(network, input_shape, device=_device(network)).macs
        return cls(layers, true_params - analytic.params, true_macs - analytic.macs)

    def costs(self, widths: dict[str, list[int]]) -> Costs:
        params, macs = self.const_params, self.const_macs
        for path, layer in self.layers.items():
            params += layer.params(widths[path])
            macs += layer.macs(widths[path])
        return Costs(params, macs)


def narrowed(widths: dict[str, list[int]], channels: list[Channel]) -> dict[str, list[int]]:
    """``widths`` after removing ``channels`` (a depthwise conv's input follows its output)."""
    result = {path: list(sizes) for path, sizes in widths.items()}
    for channel in channels:
        for (path, role), indices in channel.indices.items():
            position = 0 if role in ("out", "bn") else 1
            result[path][position] -= len(indices)
    return result


def _device(network: nn.Module) -> torch.device:
    for tensor in network.parameters():
        return tensor.device
    return torch.device("cpu")


def _record_layers(network: nn.Module, input_shape: tuple[int, ...]) -> dict[str, LayerCost]:
    positions: dict[str, int] = {}
    handles = []

    def hook_for(path: str, layer: nn.Module):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            if isinstance(module, nn.Conv2d):
                count = output.shape[0] * output.shape[2] * output.shape[3]
            else:
                count = output.numel() // module.out_features
            positions[path] = positions.get(path, 0) + count

        return hook

    for path, layer in network.named_modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            handles.append(layer.register_forward_hook(hook_for(path, layer)))
    reference = next(iter(network.parameters()))
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            network(torch.zeros(input_shape, dtype=reference.dtype, device=reference.device))
    finally:
        network.train(was_training)
        for handle in handles:
            handle.remove()
    layers: dict[str, LayerCost] = {}
    for path, layer in network.named_modules():
        if isinstance(layer, nn.Conv2d):
            depthwise = layer.groups > 1 and layer.groups == layer.in_channels == layer.out_channels
            layers[path] = LayerCost(
                "conv", layer.kernel_size[0] * layer.kernel_size[1], depthwise, layer.groups,
                layer.bias is not None, positions=positions.get(path, 0),
            )
        elif isinstance(layer, nn.Linear):
            layers[path] = LayerCost("linear", bias=layer.bias is not None, positions=positions.get(path, 0))
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            layers[path] = LayerCost("bn", affine=layer.affine)
    return layers
