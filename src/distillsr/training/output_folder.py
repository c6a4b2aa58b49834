"""An experiment folder holds one run: a new run never mixes its files with another run's.

A run into a folder that already holds training states would otherwise write its model files over
the old run's, append its rows to the old ``log.csv``, and leave the old states beside its own, so
that ``--resume`` would continue the *old* run while ``models/last.safetensors`` held the new one.
So a folder with states is refused unless the run resumes them (``--resume``) or replaces them
(``--overwrite``). Replacing deletes nothing: the previous run's files are moved, whole, into
``previous-run-<n>/`` inside the folder, where they can still be read or resumed from.
"""

from __future__ import annotations

import os
from pathlib import Path

from distillsr.errors import DistillsrError
from distillsr.training.state import find_states

RUN_ENTRIES = ("checkpoints", "models", "log.csv", "tensorboard", "train.log", "recipe.yaml")
"""What a run writes into its folder (see :mod:`distillsr.training.trainer`): what ``--overwrite`` moves aside."""
PREVIOUS_RUN = "previous-run-{}"


def states_folder(folder: Path) -> Path:
    """Where a run's training states live."""
    return folder / "checkpoints"


def newest_state(folder: Path) -> Path | None:
    """The state ``--resume`` (without a path) continues from: the highest (stage, iteration) in the folder."""
    found = find_states(states_folder(folder))
    return found[-1][2] if found else None


def claim_output_folder(folder: Path, *, overwrite: bool, move: bool = True) -> Path | None:
    """Make ``folder`` ready for a new run; returns where a previous run was moved (None: nothing was there).

    Refuses, in one line, a folder holding another run's training states unless ``overwrite``;
    with it the previous run's files go into the first free ``previous-run-<n>/``. ``move=False``
    (processes other than the main one) checks only: one process moves, the others must not race it.
    """
    newest = newest_state(folder)
    if newest is None:
        return None
    if not overwrite:
        raise DistillsrError(
            f"{folder} already holds the training states of another run (newest: {newest}); continue that run with "
            f"--resume, start a new one in its place with --overwrite (its files move to "
            f"{folder / PREVIOUS_RUN.format('N')}), or choose another --output-dir"
        )
    if not move:
        return None
    target = _free_name(folder)
    try:
        target.mkdir()
        for name in RUN_ENTRIES:
            if os.path.lexists(folder / name):
                os.replace(folder / name, target / name)
    except OSError as error:
        raise DistillsrError(
            f"--overwrite: cannot move the previous run's files into {target}: {error.strerror or error} "
            "(what was moved is there; nothing was deleted)"
        ) from None
    return target


def _free_name(folder: Path) -> Path:
    number = 1
    while os.path.lexists(folder / PREVIOUS_RUN.format(number)):
        number += 1
    return folder / PREVIOUS_RUN.format(number)
