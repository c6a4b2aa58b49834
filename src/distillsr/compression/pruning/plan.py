"""What one pruning step removes: a fraction of every group, exact group widths, or just enough
to land on a cost target.

Every function here chooses channels (weakest first, :mod:`.ranking`) and leaves the removal to
:func:`~.surgery.remove_channels`, so a plan can be costed before anything is cut.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from distillsr.compression.pruning.costs import CostModel, narrowed
from distillsr.compression.pruning.groups import (
    Channel,
    ChannelGroup,
    find_groups,
    group_by_name,
    prunable_groups,
)
from distillsr.compression.pruning.ranking import Importance, removal_count, weakest
from distillsr.compression.pruning.surgery import remove_channels
from distillsr.errors import DistillsrError
from distillsr.models.pruned_widths import layer_widths

BISECTION_STEPS = 40


def ranked(
    network: nn.Module, groups: list[ChannelGroup], importance: Importance | None = None
) -> dict[str, list[Channel]]:
    """Every prunable group's channels, weakest first (L2 filter norms unless ``importance`` is given)."""
    return {group.name: weakest(network, group, group.width, importance) for group in prunable_groups(groups)}


def plan_fraction(
    network: nn.Module,
    groups: list[ChannelGroup],
    fraction: float,
    *,
    at_least_one: bool = True,
    min_width: int = 1,
    order: dict[str, list[Channel]] | None = None,
) -> list[Channel]:
    """The weakest ``int(width * fraction)`` channels of every prunable group (one at least, if asked)."""
    order = order if order is not None else ranked(network, groups)
    removal: list[Channel] = []
    for group in prunable_groups(groups):
        count = removal_count(group.width, fraction, min_width=min_width, at_least_one=at_least_one)
        removal.extend(order[group.name][:count])
    return removal


def plan_widths(
    network: nn.Module, groups: list[ChannelGroup], widths: dict[str, int], importance: Importance | None = None
) -> list[Channel]:
    """The weakest channels that bring each named group to its target width."""
    named = group_by_name(groups)
    removal: list[Channel] = []
    for name, width in widths.items():
        group = named.get(name)
        if group is None:
            known = ", ".join(g.name for g in prunable_groups(groups))
            raise DistillsrError(f"no channel group named {name!r}; prunable groups: {known}")
        if not group.prunable:
            raise DistillsrError(f"group {name} cannot be pruned: {group.reason}")
        if not isinstance(width, int) or isinstance(width, bool) or not 1 <= width <= group.width:
            raise DistillsrError(f"group {name} has {group.width} channels; a target width must be 1..{group.width}, got {width!r}")
        removal.extend(weakest(network, group, group.width - width, importance))
    return removal


def prune_to_widths(
    network: nn.Module, widths: dict[str, int], example=None, importance: Importance | None = None
) -> None:
    """Prune ``network`` in place so each named group has exactly the given width.

    E.g. DIPNet's published 44/38 layout from a 48/48 student: the trunk groups (``conv_1`` and
    each block's ``block_k.c5``) to 44, the block-middle groups (``block_k.c1_r``,
    ``block_k.c2_r``) to 38.
    """
    groups = find_groups(network, example)
    remove_channels(network, plan_widths(network, groups, widths, importance))


def prune_fraction(network: nn.Module, fraction: float, example=None, importance: Importance | None = None) -> int:
    """One uniform step in place: ``int(width * fraction)`` (at least one) channels of every prunable group."""
    groups = find_groups(network, example)
    removal = plan_fraction(network, groups, fraction, order=ranked(network, groups, importance))
    remove_channels(network, removal)
    return len(removal)


def land_on_target(
    network: nn.Module,
    groups: list[ChannelGroup],
    step: float,
    costs: CostModel,
    measure: Callable[[int, int], float],
    target: float,
    importance: Importance | None = None,
) -> tuple[list[Channel], float]:
    """A removal of at most a full ``step`` whose cost ``measure(params, macs)`` is just <= ``target``.

    A uniform fraction is found by bisection, the largest that still misses the target. The rest
    of the way goes one channel at a time (each group's next weakest, never past its full-step
    count): the biggest that does not cross the target, until every candidate would cross; then
    the one landing closest. So the result lands within one small channel's cost of the target,
    not one uniform fraction's (a trunk channel alone can be several percent of a model).
    """
    widths = layer_widths(network)
    order = ranked(network, groups, importance)
    prunable = prunable_groups(groups)
    cap = {g.name: removal_count(g.width, step, at_least_one=True) for g in prunable}

    def value(removal: list[Channel]) -> float:
        cost = costs.costs(narrowed(widths, removal))
        return measure(cost.params, cost.macs)

    def counts_at(fraction: float) -> dict[str, int]:
        return {g.name: min(cap[g.name], removal_count(g.width, fraction)) for g in prunable}

    def removal_of(counts: dict[str, int]) -> list[Channel]:
        return [channel for name, count in counts.items() for channel in order[name][:count]]

    low, high = 0.0, step
    for _ in range(BISECTION_STEPS):
        middle = (low + high) / 2
        if value(removal_of(counts_at(middle))) <= target:
            high = middle
        else:
            low = middle
    counts = counts_at(low)
    chosen = removal_of(counts)
    while value(chosen) > target:
        options = {name: value(chosen + [order[name][count]]) for name, count in counts.items() if count < cap[name]}
        if not options:
            break  # cannot happen when a full step reaches the target; the caller measures anyway
        short_of = [name for name, after in options.items() if after > target]
        if short_of:  # the biggest piece that still does not cross the target
            pick = min(short_of, key=options.__getitem__)
        else:  # every piece crosses: the one landing closest
            pick = max(options, key=options.__getitem__)
        chosen.append(order[pick][counts[pick]])
        counts[pick] += 1
    return chosen, high
