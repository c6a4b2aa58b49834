"""Which channels of which layers are one and the same channel: a union-find over channel slots.

Every channel of every feature map seen while tracing is a node; so is every output filter
("out"), input channel ("in") and BatchNorm channel ("bn") of every layer. An operation that
makes two channels inseparable (a residual add, an attention product, a conv reading a map)
unions their nodes. After tracing, each class is one *prunable unit*: removing it means deleting
every layer index in it, and nothing else changes. A node flagged with a reason makes its whole
class unprunable: the flag records *why* (a split, the network output, an op the analysis does
not understand), so nothing is pruned on a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Member = tuple[str, str, int]  # (module path, role "out" | "in" | "bn", index)


@dataclass
class ChannelGraph:
    """Union-find over channel nodes, with layer members and unprunability reasons."""

    parent: list[int] = field(default_factory=list)
    members: dict[int, Member] = field(default_factory=dict)
    member_nodes: dict[Member, int] = field(default_factory=dict)
    reasons: dict[int, str] = field(default_factory=dict)
    fixed: set[int] = field(default_factory=set)  # flagged nodes whose class may not even be reordered
    layer_order: dict[str, int] = field(default_factory=dict)  # module path -> first use in the trace

    def new_nodes(self, count: int) -> list[int]:
        start = len(self.parent)
        self.parent.extend(range(start, start + count))
        return list(range(start, start + count))

    def member(self, path: str, role: str, index: int) -> int:
        """The node of one layer index (created on first use; a layer used twice shares it)."""
        key = (path, role, index)
        node = self.member_nodes.get(key)
        if node is None:
            node = self.new_nodes(1)[0]
            self.member_nodes[key] = node
            self.members[node] = key
            self.layer_order.setdefault(path, len(self.layer_order))
        return node

    def find(self, node: int) -> int:
        root = node
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[node] != root:  # path compression
            self.parent[node], node = root, self.parent[node]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)  # the older node stays root: deterministic

    def union_all(self, a: list[int], b: list[int]) -> None:
        for x, y in zip(a, b, strict=True):
            self.union(x, y)

    def flag(self, nodes: list[int], reason: str, *, order_only: bool = False) -> None:
        """Make ``nodes``' classes unprunable for ``reason``; unless ``order_only``, not reorderable either."""
        for node in nodes:
            self.reasons.setdefault(node, reason)
            if not order_only:
                self.fixed.add(node)

    def permutable_roots(self) -> set[int]:
        """Roots of the classes that may be reordered: none of their nodes is fixed."""
        fixed_roots = {self.find(node) for node in self.fixed}
        return {self.find(node) for node in self.members} - fixed_roots

    def classes(self) -> tuple[dict[int, list[Member]], dict[int, str]]:
        """Members of each class (by root) and the first reason each flagged class has."""
        by_root: dict[int, list[Member]] = {}
        for node, key in self.members.items():
            by_root.setdefault(self.find(node), []).append(key)
        flagged: dict[int, str] = {}
        for node in sorted(self.reasons):
            flagged.setdefault(self.find(node), self.reasons[node])
        return by_root, flagged
