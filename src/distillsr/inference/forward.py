"""One forward of a prepared model on one input: the one place a model runs on an image.

``distillsr eval`` (:func:`~distillsr.inference.predict.predict`), the upscaler's tiles
(:meth:`~distillsr.inference.upscaler.Upscaler.forward_tile`) and ``bench``'s timed networks
(:mod:`distillsr.comparison.precision`) all call :func:`forward`, so the precision's autocast, the input
layout and the float32 result are decided once, and a non-finite output is refused in the same
words everywhere (:func:`check_finite`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from distillsr.errors import DistillsrError
from distillsr.inference.fast_path import computing_at, fast_input
from distillsr.inference.precision_names import Precision


def forward(
    call: Callable[[torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    precision: Precision,
    device: torch.device,
    *,
    fast_layout: bool = True,
) -> torch.Tensor:
    """``call(x)`` under the precision's autocast, the result in float32.

    ``fast_layout``: give the input the layout :func:`~distillsr.inference.fast_path.prepare_network`
    gave the network (channels-last on the CPU); ``False`` keeps it as it is, for a network run
    eagerly in NCHW the way papers score (``eval``'s fp32).
    """
    with computing_at(precision, device):
        return call(fast_input(x, device) if fast_layout else x).float()


def all_finite(out: torch.Tensor) -> bool:
    """One pass over the output: its extremes are finite exactly when every value is (NaN propagates)."""
    low, high = torch.aminmax(out)
    return bool(torch.isfinite(low) & torch.isfinite(high))


def looks_broken(x: torch.Tensor, out: torch.Tensor) -> bool:
    """Non-finite values, or an all-black output for an input that is not black (a reduced precision's failure)."""
    low, high = torch.aminmax(out)
    if not bool(torch.isfinite(low) & torch.isfinite(high)):
        return True
    return bool(max(-float(low), float(high)) < 1e-6 and float(x.abs().max()) > 1e-3)


def check_finite(out: torch.Tensor, model: object) -> torch.Tensor:
    """``out``, or an error that blames the weights when it holds NaN or infinity."""
    if not all_finite(out):
        raise DistillsrError(non_finite_output_message(model))
    return out


def non_finite_output_message(model: object) -> str:
    """Blame the weights, naming the file: finite [0, 1] inputs cannot make a sound model emit NaN."""
    metadata = getattr(model, "metadata", None) or {}
    source = f" ({metadata['weights']})" if metadata.get("weights") else ""
    name = getattr(model, "name", "the model")
    return f"{name} produced NaN or infinite values: its weights{source} are probably broken"
