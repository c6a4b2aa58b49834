"""Channel dependency groups of a network, derived from a traced forward pass.

A *channel* here is one class of the traced :class:`~.channel_graph.ChannelGraph`: every layer
index that must go if that channel goes (the producing filters, every reading conv's input
slice, a BatchNorm's entries). Channels touching exactly the same layers in the same way form a
*group*: the trunk of a residual network (``conv_1`` plus every layer tied to it by adds,
attention products and reads), the middle of one block, one distillation tap. Groups are what a
pruning step thins out and what target widths are given for.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn

from distillsr.compression.pruning.channel_graph import Member
from distillsr.compression.pruning.trace import trace_channels
from distillsr.console import get_logger

LayerRole = tuple[str, str]  # (module path, "out" | "in" | "bn")

log = get_logger(__name__)


@dataclass(frozen=True)
class Channel:
    """One prunable unit: the indices it occupies in every layer it touches."""

    indices: dict[LayerRole, tuple[int, ...]]

    def producers(self) -> list[tuple[str, int]]:
        return [(path, index) for (path, role), found in self.indices.items() if role == "out" for index in found]


@dataclass(frozen=True)
class ChannelGroup:
    """Structurally identical channels; ``reason`` says why the group must stay whole."""

    name: str
    channels: tuple[Channel, ...]
    layers: tuple[LayerRole, ...]  # in trace order
    reason: str | None = None
    reorderable: bool = False  # the channels may be permuted among themselves (every prunable group may)

    @property
    def width(self) -> int:
        return len(self.channels)

    @property
    def prunable(self) -> bool:
        return self.reason is None

    @property
    def producers(self) -> list[str]:
        return [path for path, role in self.layers if role == "out"]

    def describe(self) -> str:
        state = "prunable" if self.prunable else f"unprunable: {self.reason}"
        return f"{self.name} ({self.width} ch; produced by {', '.join(self.producers) or 'nothing'}; {state})"


def example_input(network: nn.Module, in_channels: int = 3, size: int = 32) -> torch.Tensor:
    """A seeded sample input on the network's device and dtype (large enough for ESA's pooling)."""
    reference = next(iter(network.parameters()), None)
    generator = torch.Generator().manual_seed(0)
    x = torch.rand(1, in_channels, size, size, generator=generator)
    if reference is not None:
        x = x.to(device=reference.device, dtype=reference.dtype)
    return x


def find_groups(network: nn.Module, example: torch.Tensor | None = None, *, explain: bool = False) -> list[ChannelGroup]:
    """All channel groups of ``network`` (prunable and not), in the order their layers run.

    With ``explain``, one debug line per unprunable group says why (``distillsr -v`` shows them).
    """
    graph, order = trace_channels(network, example if example is not None else example_input(network))
    rank = {path: position for position, path in enumerate(order)}
    by_root, flagged = graph.classes()
    permutable = graph.permutable_roots()
    buckets: dict[tuple, list[tuple[int, list[Member]]]] = {}
    for root, members in by_root.items():
        signature = tuple(sorted(Counter((path, role) for path, role, _ in members).items()))
        buckets.setdefault(signature, []).append((root, members))
    groups = []
    for signature, classes in buckets.items():
        layers = tuple(sorted((key for key, _ in signature), key=lambda key: (rank[key[0]], key[1] != "out")))
        channels = []
        for _, members in classes:
            indices: dict[LayerRole, list[int]] = {}
            for path, role, index in members:
                indices.setdefault((path, role), []).append(index)
            channels.append(Channel({key: tuple(sorted(found)) for key, found in indices.items()}))
        channels.sort(key=lambda channel: [channel.indices[key] for key in layers])
        reasons = [flagged[root] for root, _ in classes if root in flagged]
        reason = reasons[0] if reasons else None
        produced = any(role == "out" for _, role in layers)
        if reason is None and not produced:
            reason = "no layer of the network produces these channels"
        reorderable = produced and all(root in permutable for root, _ in classes)
        groups.append(ChannelGroup("", tuple(channels), layers, reason, reorderable))
    groups.sort(key=lambda group: [rank[path] for path, _ in group.layers][:1] + [group.channels[0].indices[group.layers[0]][0]])
    named = _name_groups(groups)
    for group in named if explain else ():
        if not group.prunable:
            log.debug(f"pruning: {group.describe()}")
    return named


def _name_groups(groups: list[ChannelGroup]) -> list[ChannelGroup]:
    """Name each group after its first producing layer; a layer split among groups adds the index range."""
    keys = [next((key for key in group.layers if key[1] == "out"), group.layers[0]) for group in groups]
    first = Counter(keys)
    named = []
    for group, key in zip(groups, keys):
        path, role = key
        name = path if role == "out" else f"{path}.{role}"
        if first[key] > 1:
            found = sorted(index for channel in group.channels for index in channel.indices[key])
            span = f"{found[0]}:{found[-1] + 1}" if found == list(range(found[0], found[-1] + 1)) else ",".join(map(str, found))
            name = f"{path}.{role}[{span}]"
        named.append(ChannelGroup(name, group.channels, group.layers, group.reason, group.reorderable))
    return named


def prunable_groups(groups: list[ChannelGroup]) -> list[ChannelGroup]:
    return [group for group in groups if group.prunable]


def group_by_name(groups: list[ChannelGroup]) -> dict[str, ChannelGroup]:
    return {group.name: group for group in groups}
