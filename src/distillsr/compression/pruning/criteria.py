"""The names of the channel rankings, torch-free: the command's ``--help`` and the recipes read them.

``sensitivity`` is the default because it kept pruned models best in ``benchmarks/prune_criteria.py``
(E-RFDN, DIPNet, IMDN and DDistill-SR pruned to 75 % and 60 % of their parameters without
fine-tuning, scored on Set5/Set14: the table is in the README); ``taylor`` won on DDistill-SR but
collapsed on DIPNet at 60 %; ``l2`` is DIPNet's own choice, kept for reproducing it.
"""

from __future__ import annotations

CRITERIA: tuple[str, ...] = ("sensitivity", "taylor", "activation", "l2")
DEFAULT_CRITERION = "sensitivity"
