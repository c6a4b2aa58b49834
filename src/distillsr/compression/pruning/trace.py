"""Trace one forward pass and tie channels together, op by op.

Why a :class:`~torch.overrides.TorchFunctionMode` rather than ``torch.fx``: the zoo's forwards
read tensor shapes, call ``torch.split`` with sizes kept on the module, unpack tuples returned by
submodules and consult tiling recorders; a concrete forward on a real input sees all of that as it
happens, with true shapes, while a symbolic trace would have to be taught each of them. The price
is that only the path taken on the sample input is seen, which for these feed-forward networks is
the whole network.

Only dimension 1 of a tensor (the channel axis of ``N, C, ...`` maps and the feature axis of
``N, F`` vectors) is tracked. Each op is classified by name; an op not listed here is *not*
guessed at: every channel it touches becomes unprunable, with the op named as the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn
from torch.overrides import TorchFunctionMode

from distillsr.compression.pruning.channel_graph import ChannelGraph

# Ops that act on each channel separately (element-wise or spatial): output channel c is input channel c.
CHANNELWISE = frozenset({
    "leaky_relu", "leaky_relu_", "relu", "relu_", "relu6", "sigmoid", "sigmoid_", "tanh", "tanh_", "hardsigmoid",
    "hardswish", "hardtanh", "hardtanh_", "silu", "gelu", "elu", "selu", "mish", "softplus", "clamp", "clamp_",
    "clamp_min", "clamp_min_", "clamp_max", "clamp_max_", "clip", "sqrt", "rsqrt", "exp", "log", "abs", "neg",
    "__neg__", "square", "reciprocal", "sign", "interpolate", "upsample", "max_pool2d", "avg_pool2d",
    "adaptive_avg_pool2d", "adaptive_max_pool2d", "pad", "dropout", "contiguous", "clone", "detach", "float",
    "double", "half", "bfloat16", "to", "type_as", "pow", "__pow__", "pow_",
})
# Element-wise binary ops: operands with a channel axis of the output's width are tied channel by channel.
BINARY = frozenset({
    "add", "add_", "__add__", "__radd__", "__iadd__", "sub", "sub_", "__sub__", "__rsub__", "rsub", "__isub__",
    "mul", "mul_", "__mul__", "__rmul__", "__imul__", "div", "div_", "__truediv__", "__rtruediv__", "__itruediv__",
    "true_divide", "maximum", "minimum",
})
RESHAPES = frozenset({"reshape", "view", "flatten", "squeeze", "unsqueeze", "expand", "expand_as", "view_as", "reshape_as"})
REDUCTIONS = frozenset({"mean", "sum", "amax", "amin", "std", "var"})
SPLITS = frozenset({"split", "split_with_sizes", "chunk", "tensor_split", "unbind", "narrow", "__getitem__"})
IGNORED = frozenset({"__get__", "dim", "size", "numel", "__len__", "__bool__", "__index__", "__format__", "__repr__"})


class ChannelTracer(TorchFunctionMode):
    """Records, for every tensor produced, which channel nodes its channels are."""

    def __init__(self, network: nn.Module) -> None:
        super().__init__()
        self.graph = ChannelGraph()
        self.slots: dict[int, list[int]] = {}
        self._alive: list[torch.Tensor] = []  # ids stay unique while the trace lasts
        self.owners: dict[int, tuple[str, nn.Module]] = {}
        self.names: dict[int, str] = {}
        for path, module in network.named_modules():
            for name, tensor in list(module.named_parameters(recurse=False)) + list(module.named_buffers(recurse=False)):
                self.owners.setdefault(id(tensor), (path, module))
                self.names.setdefault(id(tensor), f"{path}.{name}" if path else name)
        self.handlers: dict[str, Callable[[str, tuple, dict, Any], None]] = {
            "conv2d": self._conv,
            "linear": self._linear,
            "batch_norm": self._batch_norm,
            "cat": self._cat,
            "concat": self._cat,
            "concatenate": self._cat,
            "pixel_shuffle": self._pixel_shuffle,
            "pixel_unshuffle": self._pixel_shuffle,
        }

    # --- bookkeeping -----------------------------------------------------------------------

    def channels(self, tensor: object) -> list[int] | None:
        """The channel nodes of ``tensor``; a tensor the trace did not produce gets flagged new ones."""
        if not isinstance(tensor, torch.Tensor) or tensor.ndim < 2:
            return None
        known = self.slots.get(id(tensor))
        if known is not None:
            return known
        nodes = self.graph.new_nodes(tensor.shape[1])
        name = self.names.get(id(tensor))
        what = f"the model's tensor {name} used directly" if name else "a tensor made inside forward"
        self.graph.flag(nodes, f"{what} (not a layer the pruner can slice)")
        self.remember(tensor, nodes)
        return nodes

    def remember(self, tensor: torch.Tensor, nodes: list[int]) -> None:
        self.slots[id(tensor)] = nodes
        self._alive.append(tensor)

    def seed(self, tensor: torch.Tensor, reason: str) -> None:
        """Give the network input its own channels, unprunable (the image's colour channels)."""
        nodes = self.graph.new_nodes(tensor.shape[1])
        self.graph.flag(nodes, reason)
        self.remember(tensor, nodes)

    def fresh(self, tensor: torch.Tensor) -> list[int]:
        nodes = self.graph.new_nodes(tensor.shape[1])
        self.remember(tensor, nodes)
        return nodes

    def alias(self, out: torch.Tensor, nodes: list[int]) -> None:
        if isinstance(out, torch.Tensor):
            self.remember(out, nodes)

    def opaque(self, name: str, tensors: list[torch.Tensor], outputs: list[torch.Tensor], why: str = "") -> None:
        """An op whose effect on channels is not understood: all its channels are off limits."""
        reason = f"{name} {why or '(an op the channel analysis does not understand)'}"
        for tensor in tensors:
            nodes = self.channels(tensor)
            if nodes is not None:
                self.graph.flag(nodes, reason)
        for out in outputs:
            if out.ndim >= 2:
                self.graph.flag(self.fresh(out), reason)

    # --- dispatch --------------------------------------------------------------------------

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        name = getattr(func, "__name__", "")
        if name not in IGNORED:
            self.record(name, args, kwargs, out)
        return out

    def record(self, name: str, args: tuple, kwargs: dict, out: Any) -> None:
        inputs = _tensors_in(args, kwargs)
        outputs = _tensors_in(out, {})
        if not outputs or all(t.ndim < 2 for t in inputs + outputs) and name not in SPLITS:
            return  # no channel axis involved (shapes, scalars, 1-D statistics)
        handler = self.handlers.get(name)
        if handler is not None:
            handler(name, args, kwargs, out)
        elif name in CHANNELWISE and _unary(name, args, kwargs):
            self._channelwise(name, args[0], out)
        elif name in BINARY:
            self._binary(name, args, out)
        elif name in RESHAPES:
            self._reshape(name, args[0], out)
        elif name in REDUCTIONS:
            self._reduce(name, args, kwargs, out)
        elif name in SPLITS:
            self._split(name, args, kwargs, out)
        else:
            self.opaque(name, inputs, outputs)

    # --- handlers --------------------------------------------------------------------------

    def _channelwise(self, name: str, source: torch.Tensor, out: torch.Tensor) -> None:
        nodes = self.channels(source)
        if nodes is None or out.ndim < 2 or out.shape[1] != len(nodes):
            self.opaque(name, [source], [out], "(changed the channel axis)")
            return
        self.alias(out, nodes)

    def _binary(self, name: str, args: tuple, out: torch.Tensor) -> None:
        if out.ndim < 2:
            return
        width = out.shape[1]
        tied: list[int] | None = None
        for operand in args[:2]:
            if not isinstance(operand, torch.Tensor):
                continue
            axis = operand.ndim - out.ndim + 1  # right-aligned broadcasting
            if axis < 0 or operand.shape[axis] == 1 and width != 1:
                continue  # broadcast along the channels: no channel of its own
            if axis != 1:
                self.opaque(name, [operand], [out], "(an operand's channel axis is not dimension 1)")
                return
            nodes = self.channels(operand)
            if tied is None:
                tied = nodes
            else:
                self.graph.union_all(tied, nodes)
        self.alias(out, tied if tied is not None else self.fresh(out))

    def _reshape(self, name: str, source: torch.Tensor, out: torch.Tensor) -> None:
        # Row-major reshapes keep (n, c) of every element when the first two sizes are kept.
        if source.ndim >= 2 and out.ndim >= 2 and tuple(source.shape[:2]) == tuple(out.shape[:2]):
            self.alias(out, self.channels(source))
        else:
            self.opaque(name, [source], [out], "(reshapes across the channel axis)")

    def _reduce(self, name: str, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        source = args[0]
        dims = kwargs.get("dim", args[1] if len(args) > 1 else None)
        keepdim = kwargs.get("keepdim", args[2] if len(args) > 2 else False)
        dims = tuple(range(source.ndim)) if dims is None else (dims,) if isinstance(dims, int) else tuple(dims)
        dims = {d % source.ndim for d in dims}
        if 0 not in dims and 1 not in dims and (keepdim or min(dims) >= 2):
            self.alias(out, self.channels(source))
        else:
            self.opaque(name, [source], [out], "(reduces over the channel axis)")

    def _split(self, name: str, args: tuple, kwargs: dict, out: Any) -> None:
        source = args[0]
        outputs = _tensors_in(out, {})
        along = _split_axis(name, source, args, kwargs)
        if along is not None and along != 1:  # a split of rows or columns keeps every channel
            for piece in outputs:
                if piece.ndim >= 2 and piece.shape[1] == source.shape[1]:
                    self.alias(piece, self.channels(source))
                else:
                    self.opaque(name, [source], [piece], "(changed the channel axis)")
            return
        # The split sizes are fixed in the model's code: pruning the source would shift every piece.
        # Each piece is still the source's channels at known offsets, so channels may be reordered
        # inside a piece (an order-only flag), when the pieces tile the source in order.
        reason = f"{name} splits the channels at sizes fixed in the code"
        nodes = self.channels(source)
        sizes = [piece.shape[1] if piece.ndim >= 2 else 0 for piece in outputs]
        if name in ("split", "split_with_sizes", "chunk", "tensor_split") and sum(sizes) == len(nodes) and all(sizes):
            self.graph.flag(nodes, reason, order_only=True)
            offset = 0
            for piece, size in zip(outputs, sizes):
                self.alias(piece, nodes[offset : offset + size])
                offset += size
            return
        self.opaque(name, [source], outputs, "splits the channels at sizes fixed in the code")

    def _cat(self, name: str, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        pieces = list(args[0])
        dim = kwargs.get("dim", kwargs.get("axis", args[1] if len(args) > 1 else 0)) % out.ndim
        if dim == 1:
            nodes: list[int] = []
            for piece in pieces:
                nodes.extend(self.channels(piece))  # offsets follow the order of the pieces
            self.alias(out, nodes)
            return
        if dim == 0 or out.ndim >= 3:
            first = self.channels(pieces[0])
            for piece in pieces[1:]:
                self.graph.union_all(first, self.channels(piece))
            self.alias(out, first)
            return
        self.opaque(name, pieces, [out])

    def _pixel_shuffle(self, name: str, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        """``pixel_shuffle(r)``: output channel ``c`` is made of input channels ``c r^2 ... c r^2 + r^2 - 1``,
        so those ``r^2`` go together (a conv feeding it loses ``r^2`` filters per channel)."""
        source = args[0]
        if name != "pixel_shuffle" or source.ndim != 4 or out.ndim != 4:
            self.opaque(name, [source], [out], "(moves pixels into channels)")
            return
        nodes = self.channels(source)
        factor = len(nodes) // out.shape[1]
        if factor * out.shape[1] != len(nodes):
            self.opaque(name, [source], [out], "(moves channels into pixels)")
            return
        for offset in range(1, factor):
            self.graph.union_all(nodes[::factor], nodes[offset::factor])
        self.alias(out, nodes[::factor])

    def _layer(self, weight: object, kind: type, name: str) -> tuple[str, nn.Module] | None:
        """The plain layer owning ``weight``; None for anything else.

        A subclass with its own ``forward`` may compute its shapes from attributes the pruner does
        not know, so it is not trusted. The one exception is a slimmable conv caught using its
        whole kernel (the identity check below: at full width it is a plain conv): its channels
        may be reordered but never removed, since its width switching counts them (the caller
        flags them order-only).
        """
        owner = self.owners.get(id(weight))
        if owner is None or not isinstance(owner[1], kind) or owner[1].weight is not weight:
            return None
        if type(owner[1]).forward is not kind.forward and not _slimmable(owner[1]):
            return None
        return owner

    def _conv(self, name: str, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        source, weight = args[0], args[1] if len(args) > 1 else kwargs["weight"]
        bias = args[2] if len(args) > 2 else kwargs.get("bias")
        groups = args[6] if len(args) > 6 else kwargs.get("groups", 1)
        owner = self._layer(weight, nn.Conv2d, name)
        if owner is None or (bias is not None and owner[1].bias is not bias):
            self.opaque(name, [source], [out], "(a convolution that is not a plain nn.Conv2d's own)")
            return
        path, layer = owner
        inputs = self.channels(source)
        outputs = [self.graph.member(path, "out", o) for o in range(out.shape[1])]
        if _slimmable(layer):
            why = f"{path} is a slimmable conv (its widths count its channels: reorderable, not removable)"
            self.graph.flag(outputs + [self.graph.member(path, "in", i) for i in range(len(inputs))], why, order_only=True)
        if groups == 1:
            self.graph.union_all(inputs, [self.graph.member(path, "in", i) for i in range(len(inputs))])
        elif groups == len(inputs) == len(outputs):  # depthwise: channel c reads only channel c
            self.graph.union_all(inputs, outputs)
        else:
            self.graph.flag(inputs + outputs, f"{path} (grouped convolution, groups={groups})")
        self.remember(out, outputs)

    def _linear(self, name: str, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        source, weight = args[0], args[1] if len(args) > 1 else kwargs["weight"]
        owner = self._layer(weight, nn.Linear, name)
        if owner is None or source.ndim != 2:
            self.opaque(name, [source], [out], "(not a plain nn.Linear on (N, features) vectors)")
            return
        path, _ = owner
        self.graph.union_all(self.channels(source), [self.graph.member(path, "in", i) for i in range(source.shape[1])])
        self.remember(out, [self.graph.member(path, "out", o) for o in range(out.shape[1])])

    def _batch_norm(self, name: str, args: tuple, kwargs: dict, out: torch.Tensor) -> None:
        source = args[0]
        running = args[1] if len(args) > 1 else kwargs.get("running_mean")
        weight = args[3] if len(args) > 3 else kwargs.get("weight")
        owner = self.owners.get(id(weight if weight is not None else running))
        if owner is None or not isinstance(owner[1], nn.modules.batchnorm._BatchNorm):
            self.opaque(name, [source], [out], "(not an nn.BatchNorm layer)")
            return
        path, _ = owner
        nodes = self.channels(source)
        self.graph.union_all(nodes, [self.graph.member(path, "bn", c) for c in range(len(nodes))])
        self.alias(out, nodes)


def _slimmable(layer: nn.Module) -> bool:
    from distillsr.nn.slimmable import SlimmableConv2d

    return isinstance(layer, SlimmableConv2d)


def _tensors_in(value: Any, kwargs: dict) -> list[torch.Tensor]:
    found: list[torch.Tensor] = []

    def walk(item: Any) -> None:
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, (list, tuple)):
            for inner in item:
                walk(inner)

    walk(value)
    for item in kwargs.values():
        walk(item)
    return found


def _unary(name: str, args: tuple, kwargs: dict) -> bool:
    """True when only the first argument is a tensor (``pow(x, 2)``, ``clamp(x, 0, 1)``...)."""
    return isinstance(args[0], torch.Tensor) and not _tensors_in(args[1:], kwargs)


def _split_axis(name: str, source: torch.Tensor, args: tuple, kwargs: dict) -> int | None:
    """The axis a split/slice cuts, or None when it cannot be told (treated as the channel axis)."""
    if name in ("split", "split_with_sizes", "chunk", "tensor_split"):
        return kwargs.get("dim", args[2] if len(args) > 2 else 0) % source.ndim
    if name == "unbind":
        return kwargs.get("dim", args[1] if len(args) > 1 else 0) % source.ndim
    if name == "narrow":
        return (args[1] if len(args) > 1 else kwargs["dim"]) % source.ndim
    index = args[1] if len(args) > 1 else None
    return _indexed_axis(index, source.ndim)


def _indexed_axis(index: Any, ndim: int) -> int | None:
    """For ``x[index]``: 0 when the batch axis is cut, 1 when channels are, 2 when neither is."""
    items = index if isinstance(index, tuple) else (index,)
    if any(item is None or isinstance(item, (torch.Tensor, list)) for item in items):
        return None
    if items and items[0] is Ellipsis:
        explicit = len(items) - 1
        return 2 if explicit <= ndim - 2 and not any(i is Ellipsis for i in items[1:]) else None
    if Ellipsis in items[:2]:
        return None
    full = slice(None)
    if items[0] != full:
        return 0
    if len(items) > 1 and items[1] != full:
        return 1
    return 2


def trace_channels(network: nn.Module, example: torch.Tensor) -> tuple[ChannelGraph, list[str]]:
    """Run ``network`` on ``example`` and return the tied channels and the layer paths seen."""
    tracer = ChannelTracer(network)
    was_training = network.training
    network.eval()
    try:
        with torch.no_grad():
            example = example.clone()
            tracer.seed(example, "the network input (the image's channels)")
            with tracer:
                out = network(example)
    finally:
        network.train(was_training)
    for tensor in _tensors_in(out, {}):
        nodes = tracer.channels(tensor)
        if nodes is not None:
            tracer.graph.flag(nodes, "the network output (the image's channels)")
    return tracer.graph, list(tracer.graph.layer_order)
