"""A channel-splitting (CSD) model at one fixed width for one call, its own width given back after.

:func:`at_width` is what ``--width``/``width=`` does everywhere (upscale, eval, profile and the
Python API); per-input widths (dynamic inference) are :mod:`distillsr.inference.width_policy`'s. It
lives below the API so that the upscale session (:mod:`.session`) uses it too.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TypeVar

from distillsr.checkpoints.model_spec import no_widths_message
from distillsr.errors import DistillsrError

M = TypeVar("M")


@contextmanager
def at_width(model: M, width: float | None) -> Iterator[M]:
    """Run a channel-splitting (CSD) model at ``width`` inside the block, then restore its width.

    ``None`` leaves the model as it is. A model without widths, or a width it was not trained at,
    is refused in one line that lists the valid ones. (A forward-memory count is never reused at
    another width: the width is part of its cache key, :func:`~distillsr.inference.memory_model.model_signature`.)
    Restoring the width matters because models named by a name or a path are cached between
    :func:`distillsr.upscale` calls.
    """
    if width is None:
        yield model
        return
    if isinstance(width, bool) or not isinstance(width, (int, float)):
        raise DistillsrError(f"width must be a number such as 0.5, not {width!r}")
    network = getattr(model, "network", None)
    widths = getattr(network, "widths", None)
    name = getattr(model, "name", type(model).__name__)
    if not callable(getattr(network, "set_width", None)) or not widths:
        raise DistillsrError(no_widths_message(name))
    if width not in widths:
        valid = ", ".join(f"{w:g}" for w in widths)
        raise DistillsrError(f"{name} was trained at widths {valid}, not {width:g}")
    from distillsr.nn.slimmable import width as running_at

    with running_at(network, float(width)):
        yield model


def width_of(model: object) -> float | None:
    """The width a channel-splitting model runs at now; None for any other model."""
    network = getattr(model, "network", None)
    return float(network.width) if getattr(network, "widths", None) else None
