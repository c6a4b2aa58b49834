"""Small seeded checkpoints for the bench tests (no download, no ../shared)."""

from __future__ import annotations

from pathlib import Path

from support.models import SMALL_ZOO_KWARGS, small_zoo_model

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.nn.reparam import is_deployed

SCALE = 2


def save_small_checkpoint(folder: Path, name: str, *, input_range: float = 1.0) -> Path:
    """A seeded small zoo model ``name`` at x2, saved as a distillsr checkpoint in ``folder``."""
    model = small_zoo_model(name, SCALE)
    form = "deploy" if is_deployed(model.network) else "train"
    path = folder / f"tiny_{name}_x{SCALE}.safetensors"
    info = CheckpointInfo(name, SCALE, dict(SMALL_ZOO_KWARGS[name]), input_range=input_range, form=form)
    save_checkpoint(path, model.network.state_dict(), info)
    return path
