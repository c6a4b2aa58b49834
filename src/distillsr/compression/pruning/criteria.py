"""The names of the channel rankings, torch-free: the command's ``--help`` and the recipes read them.

``taylor`` is the default because it kept pruned models best in ``benchmarks/prune_criteria.py``
(the table is in the README); ``l2`` is DIPNet's own choice, kept for reproducing it.
"""

from __future__ import annotations

CRITERIA: tuple[str, ...] = ("sensitivity", "taylor", "activation", "l2")
DEFAULT_CRITERION = "taylor"
