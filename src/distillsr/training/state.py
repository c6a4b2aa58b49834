"""The training state on disk: everything needed to continue a run as if it had never stopped.

Model, EMA, optimizer, the iteration and stage, the data order (sampler state) and the random
number generators of Python, NumPy and PyTorch. Written atomically (a crash while saving keeps the
previous checkpoint) and read back with ``weights_only=True``: NumPy's RNG state is stored as plain
lists so that no pickled objects are needed.
"""

from __future__ import annotations

import io
import random
import re
from pathlib import Path

import numpy as np
import torch

from distillsr.atomic import atomic_write_bytes
from distillsr.errors import DistillsrError

STATE_FORMAT = "distillsr-training-state"
STATE_VERSION = 1
STATE_NAME = re.compile(r"stage(\d+)_iter(\d+)\.pt$")
"""How training states are named in an experiment's ``checkpoints/`` folder: ``stage<k>_iter<n>.pt``."""


def capture_rng() -> dict:
    """Every global generator's state, in a ``weights_only``-loadable form."""
    version, mt_state, gauss = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state()
    state = {
        "python": [version, list(mt_state), gauss],
        "numpy": [kind, [int(k) for k in keys], int(position), int(has_gauss), float(cached)],
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict) -> None:
    version, mt_state, gauss = state["python"]
    random.setstate((version, tuple(mt_state), gauss))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_state(path: str | Path, state: dict) -> None:
    """Write ``state`` (plain containers of tensors and numbers) atomically."""
    buffer = io.BytesIO()
    torch.save({"format": STATE_FORMAT, "version": STATE_VERSION, **state}, buffer)
    atomic_write_bytes(path, buffer.getvalue())


def load_training_state(path: str | Path) -> dict:
    """Read a state written by :func:`save_training_state` (never unpickles objects)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DistillsrError(f"no training state at {path}") from None
    except Exception as error:
        raise DistillsrError(f"{path}: not a readable training state ({type(error).__name__})") from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise DistillsrError(f"{path}: not a distillsr training state")
    if state.get("version", 0) > STATE_VERSION:
        raise DistillsrError(f"{path}: written by a newer distillsr; upgrade to resume it")
    return state


def find_states(folder: str | Path) -> list[tuple[int, int, Path]]:
    """``(stage, iteration, path)`` of the training states in ``folder``, oldest first (none if it is absent)."""
    folder = Path(folder)
    found = []
    for path in folder.glob("stage*_iter*.pt") if folder.is_dir() else ():
        match = STATE_NAME.search(path.name)
        if match:
            found.append((int(match.group(1)), int(match.group(2)), path))
    return sorted(found)
