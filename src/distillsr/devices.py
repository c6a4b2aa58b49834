"""Turning a user's device name into a ``torch.device``, with errors a user can act on."""

from __future__ import annotations

import torch

from distillsr.errors import DistillsrError

DeviceLike = str | torch.device


def resolve_device(device: DeviceLike, *, allow_meta: bool = False) -> torch.device:
    """Turn a user's device spec into a concrete device, failing early with a readable message.

    A bare ``cuda`` gets the current index so it compares equal to where tensors actually live.
    ``meta`` (shapes only, no data) is accepted where only shapes matter, e.g. counting MACs of
    a 43M-parameter model without running it.
    """
    if device == "auto":
        return resolve_device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise DistillsrError(f"unknown device {device!r}: use 'cpu' or 'cuda'") from exc
    if dev.type == "cpu":
        return torch.device("cpu")
    if dev.type == "meta" and allow_meta:
        return dev
    if dev.type != "cuda":
        raise DistillsrError(f"unsupported device {str(dev)!r}: use 'cpu' or 'cuda'")
    if not torch.cuda.is_available():
        raise DistillsrError(f"device {str(dev)!r} requested but CUDA is not available")
    index = torch.cuda.current_device() if dev.index is None else dev.index
    if index >= torch.cuda.device_count():
        count = torch.cuda.device_count()
        raise DistillsrError(f"device {str(dev)!r} requested but only {count} CUDA device(s) exist")
    return torch.device("cuda", index)
