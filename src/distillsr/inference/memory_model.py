"""How much memory a forward needs, computed from the model instead of probed from the process.

A tile size used to come from two forwards under an RSS sampler on every run: a quarter to half
a second, and an answer that moved from run to run. Here the peak is counted instead: every
tensor the forward creates is seen as it is made (a dispatch mode) and forgotten when it dies,
and the largest sum of live bytes is the peak. Two small forwards give the fixed part and the
part that grows with the pixel count; activations are linear in the pixels, so the line holds
for any size. It misses only the scratch space an operator keeps to itself (oneDNN's
workspaces), which the budget's margin covers.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass
from typing import Any, Callable

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

PROBE_SIDES = (32, 64)
# What operators keep to themselves (oneDNN reorders, a pixel shuffle's copy) and the runtime's own
# one-time allocations are not counted. Against the process's resident memory (IMDN and DDistill-SR,
# 180x320 and 360x640, fp32 and bf16) the part that grows with the pixels was 0.8-1.4 times the
# count, plus about 150-200 MB that does not grow: budgets keep both back before they are spent.
SCRATCH_MARGIN = 1.5
FIXED_ALLOWANCE = 256 << 20


def spendable(budget: int) -> int:
    """The counted bytes a forward may reach within ``budget`` bytes of resident memory."""
    return max(0, int((budget - FIXED_ALLOWANCE) / SCRATCH_MARGIN))


@dataclass(frozen=True)
class ForwardMemory:
    """Peak bytes of a forward on an ``H x W`` input: ``fixed + per_pixel * H * W``."""

    fixed: float
    per_pixel: float

    def peak(self, height: int, width: int) -> int:
        return int(math.ceil(self.fixed + self.per_pixel * height * width))

    def pixels_within(self, budget: int) -> int:
        """The most input pixels whose forward stays within ``budget`` bytes."""
        return max(0, int((budget - self.fixed) / max(self.per_pixel, 1.0)))


class _LiveBytes(TorchDispatchMode):
    """Counts the bytes of the storages that the ops create and that are still referenced."""

    def __init__(self, external: set[int]) -> None:
        super().__init__()
        self.external = external  # storages that existed before (inputs, weights): never counted
        self.holders: dict[int, int] = {}  # storage address -> live tensors viewing it
        self.sizes: dict[int, int] = {}
        self.tracked: set[int] = set()  # ids of tensor objects with a finaliser
        self.live = 0
        self.peak = 0

    def _release(self, key: int, tensor_id: int) -> None:
        self.tracked.discard(tensor_id)
        self.holders[key] -= 1
        if self.holders[key] == 0:
            del self.holders[key]
            self.live -= self.sizes.pop(key)

    def _track(self, tensor: torch.Tensor) -> None:
        if id(tensor) in self.tracked or tensor.device.type == "meta":
            return
        storage = tensor.untyped_storage()
        key = storage.data_ptr()
        if key in self.external or key == 0:
            return
        if key not in self.holders:
            self.holders[key] = 0
            self.sizes[key] = storage.nbytes()
            self.live += storage.nbytes()
            self.peak = max(self.peak, self.live)
        self.holders[key] += 1
        self.tracked.add(id(tensor))
        weakref.finalize(tensor, self._release, key, id(tensor))

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for item in tree_flatten(out)[0]:
            if isinstance(item, torch.Tensor):
                self._track(item)
        return out


def peak_live_bytes(call: Callable[[torch.Tensor], Any], x: torch.Tensor, known: list[torch.Tensor]) -> int:
    """The peak of the bytes ``call(x)`` holds at once, beyond ``x`` and the ``known`` tensors (weights)."""
    external = {t.untyped_storage().data_ptr() for t in (x, *known)}
    mode = _LiveBytes(external)
    with torch.inference_mode(), mode:
        out = call(x)
        del out
    return mode.peak


def forward_memory(
    call: Callable[[torch.Tensor], Any],
    make_input: Callable[[int, int], torch.Tensor],
    known: list[torch.Tensor],
    sides: tuple[int, int] = PROBE_SIDES,
) -> ForwardMemory:
    """Fit ``fixed + per_pixel * pixels`` through the peaks of two square forwards of ``sides``."""
    small, large = (peak_live_bytes(call, make_input(side, side), known) for side in sides)
    pixels_small, pixels_large = sides[0] ** 2, sides[1] ** 2
    per_pixel = max((large - small) / (pixels_large - pixels_small), large / pixels_large / 4)
    return ForwardMemory(fixed=max(0.0, large - per_pixel * pixels_large), per_pixel=per_pixel)


CACHE_FILE = "forward-memory.json"


def model_signature(model: object, precision: str, device: torch.device, channels: int) -> str | None:
    """What a forward's memory depends on: the architecture and its hyperparameters, not the weights.

    None for a model that does not describe itself (its count is kept for the process only).
    """
    metadata = getattr(model, "metadata", None)
    if not isinstance(metadata, dict) or "kwargs" not in metadata:
        return None
    import json

    architecture = metadata.get("architecture", getattr(model, "name", "?"))
    kwargs = json.dumps(metadata["kwargs"], sort_keys=True, default=str)
    width = getattr(getattr(model, "network", None), "width", None)  # a channel-splitting model's current width
    return (
        f"{architecture}|x{getattr(model, 'scale', '?')}|{kwargs}|{metadata.get('form', '')}|{precision}|"
        f"{device.type}|{channels}ch|width {width}|torch {torch.__version__}"
    )


def read_cached(signature: str) -> ForwardMemory | None:
    """The count stored for ``signature`` in ``$DISTILLSR_HOME``; None when absent or unreadable."""
    import json

    from distillsr.home import distillsr_home

    try:
        entry = json.loads((distillsr_home() / CACHE_FILE).read_text()).get(signature)
        return None if entry is None else ForwardMemory(float(entry[0]), float(entry[1]))
    except (OSError, ValueError, TypeError, IndexError, AttributeError):
        return None


def store_cached(signature: str, memory: ForwardMemory) -> None:
    """Add ``memory`` under ``signature``; a cache that cannot be written is skipped (it only saves time)."""
    import json

    from distillsr.atomic import atomic_write_text
    from distillsr.home import distillsr_home

    path = distillsr_home() / CACHE_FILE
    try:
        entries = json.loads(path.read_text()) if path.is_file() else {}
        if not isinstance(entries, dict):
            entries = {}
    except (OSError, ValueError):
        entries = {}
    entries[signature] = [memory.fixed, memory.per_pixel]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, json.dumps(entries, indent=1, sort_keys=True) + "\n")
    except OSError:
        pass
