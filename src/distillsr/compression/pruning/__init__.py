"""Structured (channel) pruning: dependency groups traced from the model, L2-norm ranking,
physical removal, and the iterative prune / fine-tune loop of DIPNet.

The pieces, in the order data flows through them:

* :mod:`.trace` and :mod:`.channel_graph` — one forward pass ties channels that must go together;
* :mod:`.groups` — those ties as named groups (``conv_1``, ``block_1.c1_r``...), prunable or not and why;
* :mod:`.ranking` — which channels of a group go first (L2 filter norms, or activations on images);
* :mod:`.plan` — what a step removes (a fraction, exact widths, or just enough to land on a target);
* :mod:`.costs` — parameters and MACs of candidate widths without rebuilding;
* :mod:`.surgery` — the removal itself (and the zeroing used to check it);
* :mod:`.iterative` — ``prune_iteratively``; :mod:`.finetune` — ψ and validation from the engine's pieces;
* :mod:`.checkpoint` — a pruned model's metadata, so the zoo reloads it.
"""

from distillsr.compression.pruning.groups import (
    Channel,
    ChannelGroup,
    find_groups,
    prunable_groups,
)
from distillsr.compression.pruning.iterative import (
    PruneResult,
    PruneStep,
    PruneTarget,
    prune_iteratively,
)
from distillsr.compression.pruning.plan import prune_fraction, prune_to_widths
from distillsr.compression.pruning.ranking import (
    activation_importance,
    weight_importance,
)
from distillsr.compression.pruning.surgery import (
    apply_widths,
    remove_channels,
    silence_channels,
)

__all__ = [
    "Channel",
    "ChannelGroup",
    "PruneResult",
    "PruneStep",
    "PruneTarget",
    "activation_importance",
    "apply_widths",
    "find_groups",
    "prunable_groups",
    "prune_fraction",
    "prune_iteratively",
    "prune_to_widths",
    "remove_channels",
    "silence_channels",
    "weight_importance",
]
