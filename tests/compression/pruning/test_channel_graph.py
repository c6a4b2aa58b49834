"""The union-find under the channel analysis: classes, members and the first reason a class is pinned."""

from __future__ import annotations

import itertools

from distillsr.compression.pruning.channel_graph import ChannelGraph


def test_unions_make_classes_of_members_and_a_flag_pins_the_whole_class():
    graph = ChannelGraph()
    tensor = graph.new_nodes(3)
    a = [graph.member("conv_a", "out", i) for i in range(3)]
    b = [graph.member("conv_b", "in", i) for i in range(3)]
    graph.union_all(tensor, a)
    graph.union_all(tensor, b)
    assert graph.member("conv_a", "out", 1) == a[1]  # one node per layer index, however often used
    graph.flag([tensor[2]], "the network output")
    graph.flag([b[2]], "a later reason")
    by_root, flagged = graph.classes()
    assert len(by_root) == 3
    root = graph.find(a[0])
    assert sorted(by_root[root]) == [("conv_a", "out", 0), ("conv_b", "in", 0)]
    assert flagged == {graph.find(a[2]): "the network output"}  # the first reason, for the whole class
    assert list(graph.layer_order) == ["conv_a", "conv_b"]


def test_find_compresses_long_chains():
    graph = ChannelGraph()
    nodes = graph.new_nodes(50)
    for left, right in itertools.pairwise(nodes):
        graph.union(right, left)
    assert graph.find(nodes[-1]) == nodes[0]
    assert graph.parent[nodes[-1]] == nodes[0]
