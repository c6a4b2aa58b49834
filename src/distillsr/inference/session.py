"""One upscaling session: the model a user named, ready to upscale images at the output scale they asked.

``distillsr upscale`` and :func:`distillsr.upscale` do the same things in the same order — read what
was named (:func:`~.resolve.resolve_model`), settle the output scale (:func:`~.outscale.output_scale`),
run a channel-splitting model at ``width`` for this session only (:func:`~.width.at_width`), choose
per-tile widths when asked (``dynamic``), build the :class:`~.upscaler.Upscaler`, and upscale each
image with the resize the output scale needs (:func:`~.outscale.upscale_pixels`). :func:`upscale_session`
is that sequence, written once; the command keeps only its files and lines, the API only its
image types.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from distillsr.errors import DistillsrError
from distillsr.inference.outscale import needs_resize, output_scale, upscale_pixels
from distillsr.inference.resolve import BackendName, ModelLike, resolve_model
from distillsr.inference.width import at_width

if TYPE_CHECKING:
    import numpy as np

    from distillsr.inference.width_policy.costs import DynamicWidths
    from distillsr.inference.precision_names import PrecisionChoice
    from distillsr.inference.upscaler import Backend, Upscaler

AlphaMode = Literal["bicubic", "model"]


@dataclass
class UpscaleSession:
    """A ready :class:`~.upscaler.Upscaler` and the output scale every image gets.

    ``chooser``: the per-tile width policy of a ``dynamic`` session (its :meth:`summary` says what
    the widths cost); ``width``: the fixed width the session runs at (None: the model's own).
    """

    upscaler: Upscaler
    outscale: float | None = None
    chooser: DynamicWidths | None = None
    width: float | None = None

    @property
    def model(self) -> Backend:
        return self.upscaler.model

    @property
    def resized(self) -> bool:
        """Whether each output is the model's, resized (an output scale the model does not have)."""
        return needs_resize(self.upscaler.scale, self.outscale)

    def upscale(self, pixels: np.ndarray, alpha: AlphaMode = "bicubic") -> np.ndarray:
        """One image, upscaled and resized to the session's output scale (same dtype and layout)."""
        return upscale_pixels(self.upscaler, pixels, self.outscale, alpha=alpha)


@contextmanager
def upscale_session(
    model: ModelLike = None,
    *,
    weights: str | os.PathLike[str] | None = None,
    scale: float | None = None,
    width: float | None = None,
    dynamic: bool = False,
    backend: BackendName = "torch",
    threads: int | None = None,
    device: str = "auto",
    precision: PrecisionChoice = "auto",
    tile: int | Literal["auto"] | None = "auto",
    pad: int | None = None,
    progress: bool = False,
    memory_limit: int | None = None,
) -> Iterator[UpscaleSession]:
    """The session for what a user named; the model's own width is given back when the block ends.

    ``scale`` is the output scale (the model's own by default; another value resizes its output);
    ``width`` a fixed width of a channel-splitting model, ``dynamic`` each tile's width from the
    thresholds its checkpoint stores (not both). The rest are the :class:`~.upscaler.Upscaler`'s.
    """
    if dynamic and width is not None:
        raise DistillsrError("--dynamic chooses each tile's width itself: drop --width")
    ready = resolve_model(model, weights=weights, scale=scale, backend=backend, threads=threads, width=width)
    outscale = output_scale(ready, scale)
    from distillsr.inference.upscaler import DEFAULT_PAD, Upscaler

    with at_width(ready, width) as running:  # this session only: a cached model keeps its own width
        chooser = None
        if dynamic:
            from distillsr.inference.width_policy.costs import dynamic_widths

            chooser = dynamic_widths(running)
        upscaler = Upscaler(
            running, device=device, precision=precision, tile=tile, pad=DEFAULT_PAD if pad is None else pad,
            progress=progress, width_for=chooser, memory_limit=memory_limit,
        )
        yield UpscaleSession(upscaler, outscale, chooser, width)
