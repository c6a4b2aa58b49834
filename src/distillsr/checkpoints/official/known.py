"""Official files recognised by their sha256, before any layout is read.

A key layout says which network the tensors fit, not what the network was trained on: RLFN and
DIPNet share one layout but take 0-255 and 0-1 input (:mod:`.dipnet`). The released files are
fixed bytes, so each is named exactly by its checksum: the zoo records every official file with
its sha256 (:class:`~distillsr.models.zoo.OfficialWeights`, used for downloads too), and that is
the table here: sha256 -> zoo model, scale and the file's hyperparameters (the entry's defaults
and the file's own ``kwargs``). One table, so a file the zoo can download is a file it recognises.
The tensors are still checked key for key against the network the table names
(:func:`~.conversion.check_layout`): a table entry that did not fit its file would be refused, not
loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

import torch

from distillsr.checkpoints.official.conversion import Conversion, check_layout, strip_prefix

if TYPE_CHECKING:
    from distillsr.models.zoo import OfficialWeights


@dataclass(frozen=True)
class KnownFile:
    """An official file of the zoo: the entry that publishes it and its record (name, scale, URL, size, kwargs)."""

    model: str
    weights: OfficialWeights

    def kwargs(self) -> dict:
        from distillsr.models.zoo import get_entry

        return {**get_entry(self.model).defaults, **self.weights.kwargs}


@lru_cache(maxsize=1)
def known_files() -> dict[str, KnownFile]:
    """sha256 (lower case) -> the official file it is, over every zoo entry's published files."""
    from distillsr.models.zoo import ZOO

    table: dict[str, KnownFile] = {}
    for entry in ZOO.values():
        for weights in entry.weights:
            table.setdefault(weights.sha256.lower(), KnownFile(entry.name, weights))
    return table


def known_file(sha256: str) -> KnownFile | None:
    """The official file with this sha256, or None."""
    return known_files().get(sha256.lower())


def known_conversion(sha256: str, state_dict: dict[str, torch.Tensor]) -> Conversion | None:
    """The :class:`Conversion` of a known official file (None for any other sha256).

    The table decides what the file *is* (zoo model, scale, so the input range); the family's
    detector still reads the hyperparameters from the shapes, so the file reads with the same kwargs
    as a re-saved copy of its tensors would (and, for a layout two families share, is read as the
    table's family). Should the detector not find the table's model there, the table's kwargs are
    used. Either way the tensors are checked key for key against the network (:func:`check_layout`):
    a table entry that did not fit its file raises :class:`~.conversion.LayoutMismatch` rather than
    load on a guess.
    """
    from distillsr.checkpoints.official.conversion import AmbiguousLayout, LayoutMismatch
    from distillsr.checkpoints.official.registry import detect_official
    from distillsr.models.zoo import get_entry

    known = known_file(sha256)
    if known is None:
        return None
    model, scale = known.model, known.weights.scale
    state = strip_prefix(state_dict)
    try:
        detected = detect_official(state)
        read_as = None if detected is None else detected.layout
    except AmbiguousLayout as ambiguity:
        detected, read_as = ambiguity.choose(model), ambiguity.layout
    except LayoutMismatch:
        detected, read_as = None, None
    if detected is not None and (detected.model, detected.scale) == (model, scale):
        kwargs = dict(detected.kwargs)
        layout = f"{read_as}; recognised by its sha256 as the official {known.weights.filename}"
    else:
        kwargs = known.kwargs()
        layout = f"{known.weights.filename}, the official {model} x{scale} file (recognised by its sha256)"
    check_layout(state, model, scale, kwargs, layout)
    return Conversion(
        model=model, scale=scale, kwargs=kwargs, state_dict=state, layout=layout, input_range=get_entry(model).input_range
    )
