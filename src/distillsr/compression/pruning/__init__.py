"""Structured (channel) pruning: dependency groups traced from the model, data-aware ranking,
physical removal, and the iterative prune / fine-tune loop of DIPNet.

The pieces, in the order data flows through them:

* :mod:`.trace` and :mod:`.channel_graph` — one forward pass ties channels that must go together;
* :mod:`.groups` — those ties as named groups (``conv_1``, ``block_1.c1_r``...), prunable or not and why;
* :mod:`.ranking` — which channels of a group go first (Taylor, activations, or L2 filter norms);
* :mod:`.calibration` — the images the ranking measures on, and the bicubic floor every step must clear;
* :mod:`.plan` — what a step removes (a fraction, exact widths, or just enough to land on a target);
* :mod:`.costs` — parameters and MACs of candidate widths without rebuilding;
* :mod:`.surgery` — the removal itself (and the zeroing used to check it); recording and re-applying
  the widths a checkpoint stores is the model's (:mod:`distillsr.models.pruned_widths`);
* :mod:`.iterative` — ``prune_iteratively``; :mod:`.finetune` — ψ and validation from the engine's pieces;
* :mod:`.pruner` — one pruning run's tools and steps, the same for ``kind: prune`` and ``distillsr prune``;
* :mod:`.checkpoint` — a pruned model's metadata, so the zoo reloads it;
* :mod:`.criteria` — the criteria's names, torch-free (what ``--help`` and recipes read);
* :mod:`.config` and :mod:`.stage` — ``kind: prune``: its options (torch-free) and its runner.

Nothing is re-exported here, so importing one piece does not import the others (and the torch-free
ones stay torch-free).
"""
