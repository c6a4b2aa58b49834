"""Shared preparation of a model and a synthetic input for every measurement.

All measurements must see the model the same way (eval mode, the requested device and dtype, a
validated input shape) and must leave the caller's model exactly as they found it, so that
profiling a model in the middle of training never changes what training does next.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch import nn

from distillsr.devices import DeviceLike, resolve_device  # noqa: F401  (re-exported)
from distillsr.errors import DistillsrError

#: NTIRE efficient-SR challenge convention: FLOPs, activations and runtime are quoted for one
#: 256x256 RGB low-resolution input.
DEFAULT_INPUT_SHAPE: tuple[int, ...] = (1, 3, 256, 256)

def validate_shape(input_shape: Sequence[int]) -> tuple[int, ...]:
    """Reject shapes that would otherwise fail deep inside the model with an unhelpful error."""
    try:
        shape = tuple(int(s) for s in input_shape)
    except (TypeError, ValueError) as exc:
        raise DistillsrError(f"input shape must be integers, got {input_shape!r}") from exc
    truncated = any(s != orig for s, orig in zip(shape, input_shape))  # e.g. 2.5 -> 2
    if not shape or truncated or any(s <= 0 for s in shape):
        raise DistillsrError(f"input shape must be positive integers, got {tuple(input_shape)!r}")
    return shape


def shape_str(shape: Sequence[int]) -> str:
    """Format a shape the way papers and NTIRE tables write it (1x3x256x256)."""
    return "x".join(str(s) for s in shape)


def make_input(shape: tuple[int, ...], device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """A seeded image-like input in [0, 1], so data-dependent models behave reproducibly."""
    if device.type == "meta":
        return torch.empty(shape, device=device, dtype=dtype)
    generator = torch.Generator(device=device).manual_seed(0)
    return torch.rand(shape, generator=generator, device=device, dtype=dtype)


def _already_placed(model: nn.Module, device: torch.device, dtype: torch.dtype) -> bool:
    tensors = [*model.parameters(), *model.buffers()]
    return all(
        t.device == device and (t.dtype == dtype or not t.is_floating_point()) for t in tensors
    )


@contextlib.contextmanager
def prepared(model: nn.Module, device: torch.device, dtype: torch.dtype) -> Iterator[nn.Module]:
    """Yield the model in eval mode on ``device``/``dtype`` and undo every change on exit.

    ``nn.Module.to`` works in place, so a model not yet on the target device or dtype is copied
    rather than moved; otherwise the caller's model is used directly and only its train/eval flags
    are switched and restored.
    """
    if not isinstance(model, nn.Module):
        raise DistillsrError(f"expected a torch.nn.Module, got {type(model).__name__}")
    if _already_placed(model, device, dtype):
        target = model
    else:
        try:
            target = copy.deepcopy(model).to(device=device, dtype=dtype)
        except Exception as exc:  # deepcopy can fail on arbitrary user attributes
            raise DistillsrError(
                f"cannot copy the model to {device}/{dtype}: move it there yourself first ({exc})"
            ) from exc
    modes = {m: m.training for m in target.modules()}
    target.eval()
    try:
        yield target
    finally:
        for module, training in modes.items():
            module.train(training)


def forward(model: nn.Module, x: torch.Tensor) -> Any:
    """Run one forward pass, turning a model/shape mismatch into a one-line user error."""
    try:
        return model(x)
    except RuntimeError as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DistillsrError(
            f"model forward failed on input {shape_str(x.shape)}: {first_line}"
        ) from exc
