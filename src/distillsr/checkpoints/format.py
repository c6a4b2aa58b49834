"""distillsr's checkpoint format: safetensors tensors plus a JSON description of the model.

A checkpoint must be enough to rebuild and trust the model without the code that trained it: the
zoo name and constructor arguments, the scale, the input value range, whether the weights are the
train-time or the folded deploy form, where they came from, and what they scored (with the
protocol). safetensors cannot execute code on load, unlike pickle-based ``.pth`` files.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Literal

import torch

from distillsr.atomic import atomic_write_bytes
from distillsr.errors import DistillsrError

FORMAT_NAME = "distillsr-checkpoint"
FORMAT_VERSION = 1
METADATA_KEY = "distillsr"


@dataclass
class CheckpointInfo:
    """Everything a checkpoint says about its model besides the tensors."""

    model: str
    scale: int
    kwargs: dict = field(default_factory=dict)
    input_range: float = 1.0
    form: Literal["train", "deploy"] = "train"
    provenance: dict = field(default_factory=dict)
    scores: list[dict] = field(default_factory=list)
    format: str = FORMAT_NAME
    version: int = FORMAT_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str, source: str) -> "CheckpointInfo":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise DistillsrError(f"{source}: its distillsr metadata is not valid JSON ({error})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
            raise DistillsrError(f"{source}: not a distillsr checkpoint (no '{FORMAT_NAME}' metadata)")
        if data.get("version", 0) > FORMAT_VERSION:
            raise DistillsrError(
                f"{source}: written by a newer distillsr (format version {data['version']}); upgrade distillsr"
            )
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise DistillsrError(f"{source}: unknown checkpoint metadata field(s): {', '.join(unknown)}")
        missing = sorted({"model", "scale"} - set(data))
        if missing:
            raise DistillsrError(f"{source}: checkpoint metadata lacks {', '.join(missing)}")
        return cls(**data)


def save_checkpoint(path: str | os.PathLike[str], state_dict: dict[str, torch.Tensor], info: CheckpointInfo) -> None:
    """Write ``state_dict`` and ``info`` to a ``.safetensors`` file atomically."""
    from safetensors.torch import save

    # safetensors refuses shared or non-contiguous storage; a private contiguous copy is cheap here.
    tensors = {name: tensor.detach().to("cpu").contiguous().clone() for name, tensor in state_dict.items()}
    atomic_write_bytes(path, save(tensors, metadata={METADATA_KEY: info.to_json()}))


def read_safetensors(path: str | os.PathLike[str]) -> tuple[dict[str, str], dict[str, torch.Tensor]]:
    """The metadata strings and tensors of any ``.safetensors`` file (never executes code)."""
    from safetensors import SafetensorError, safe_open

    source = Path(path)
    if not source.is_file():
        raise DistillsrError(f"checkpoint {source} does not exist")
    try:
        with safe_open(str(source), framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
            tensors = {name: handle.get_tensor(name) for name in handle.keys()}
    except (SafetensorError, ValueError, OSError) as error:
        raise DistillsrError(f"{source}: not a readable safetensors file ({error})") from None
    return metadata, tensors


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[CheckpointInfo, dict[str, torch.Tensor]]:
    """Read a distillsr ``.safetensors`` checkpoint: tensors plus the metadata that describes them."""
    metadata, tensors = read_safetensors(path)
    if METADATA_KEY not in metadata:
        raise DistillsrError(
            f"{path}: a safetensors file without distillsr metadata; if it holds a zoo model's state dict, "
            f"name the model: distillsr convert {path} -m MODEL -s SCALE -o OUT.safetensors"
        )
    return CheckpointInfo.from_json(metadata[METADATA_KEY], str(path)), tensors
