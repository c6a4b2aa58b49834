"""Load any supported weights file into the right zoo model, or say exactly why not.

Two kinds of file are accepted:

* distillsr checkpoints (``.safetensors`` with metadata) — they name their model and scale;
* official ``.pth`` files of the papers' repositories — read with ``weights_only=True`` (no
  arbitrary unpickling) and recognised by their key layout (:mod:`.official.registry`).

Weights never load with ``strict=False``: a missing, unexpected or mis-shaped tensor is an error
that names the tensors and the model they were meant for.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from distillsr.checkpoints.format import CheckpointInfo, read_checkpoint
from distillsr.errors import DistillsrError

SAFETENSORS_SUFFIXES = (".safetensors",)
# BasicSR / KAIR / Lightning wrap the state dict under one of these keys.
WRAPPER_KEYS = ("params_ema", "params", "state_dict", "model", "net", "network", "generator")


@dataclass
class LoadedWeights:
    """Tensors in distillsr's layout plus what is known about the model they belong to."""

    info: CheckpointInfo
    state_dict: dict[str, torch.Tensor]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _unwrap(obj: object, source: Path) -> dict[str, torch.Tensor]:
    """The tensor dict inside a torch-saved object, following the usual wrapper keys."""
    for _ in range(3):
        if isinstance(obj, dict) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
            return dict(obj)
        if isinstance(obj, dict):
            inner = next((obj[key] for key in WRAPPER_KEYS if key in obj), None)
            if inner is not None:
                obj = inner
                continue
        break
    raise DistillsrError(f"{source}: no state dict of tensors found in this file")


def read_torch_file(path: Path) -> dict[str, torch.Tensor]:
    """A ``.pth``'s state dict via ``weights_only=True``: refuses pickled code with a clear message."""
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DistillsrError(f"weights file {path} does not exist") from None
    except IsADirectoryError:
        raise DistillsrError(f"weights path {path} is a folder, not a file") from None
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        text = str(error)
        refused = re.search(r"Unsupported global: GLOBAL (\S+)", text)
        if refused:
            raise DistillsrError(
                f"{path}: refusing to unpickle the Python object {refused.group(1)} from this file "
                "(it is not a plain state dict; load it only with code you trust)"
            ) from None
        raise DistillsrError(f"{path}: not a readable PyTorch weights file (corrupt, truncated or another format)") from None
    return _unwrap(obj, path)


def read_weights(path: str | os.PathLike[str]) -> LoadedWeights:
    """Read a distillsr checkpoint or recognise an official file; nothing is built yet."""
    source = Path(path)
    if not source.exists():
        raise DistillsrError(f"weights file {source} does not exist")
    if source.suffix.lower() in SAFETENSORS_SUFFIXES:
        info, tensors = read_checkpoint(source)
        return LoadedWeights(info, tensors)
    from distillsr.checkpoints.official.registry import detect_official

    state_dict = read_torch_file(source)
    conversion = detect_official(state_dict)
    if conversion is None:
        sample = ", ".join(list(state_dict)[:3])
        raise DistillsrError(
            f"{source}: not a checkpoint layout distillsr knows (first keys: {sample}); "
            "supported: RFDN/E-RFDN, IMDN, DDistill-SR, DIPNet/EDIPv1 official files and distillsr .safetensors"
        )
    info = CheckpointInfo(
        model=conversion.model,
        scale=conversion.scale,
        kwargs=conversion.kwargs,
        input_range=conversion.input_range,
        form=_official_form(conversion),
        provenance={"converted_from": source.name, "sha256": sha256_of(source), "layout": conversion.layout},
    )
    return LoadedWeights(info, conversion.state_dict)


def _official_form(conversion) -> str:
    """Official files are in their zoo entry's form, unless the layout says it was folded."""
    from distillsr.models.zoo import get_entry

    return "deploy" if conversion.kwargs.get("deploy") else get_entry(conversion.model).form


def _shape(tensor: torch.Tensor) -> str:
    return "[" + ",".join(str(d) for d in tensor.shape) + "]"


def _listed(names: list[str], limit: int = 3) -> str:
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def load_state_dict_strictly(network: nn.Module, state_dict: dict[str, torch.Tensor], what: str) -> None:
    """``load_state_dict(strict=True)`` with an error that says exactly what does not fit."""
    expected = network.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = [
        f"{k} {_shape(state_dict[k])} vs {_shape(expected[k])}"
        for k in expected
        if k in state_dict and state_dict[k].shape != expected[k].shape
    ]
    problems = []
    if missing:
        problems.append(f"{len(missing)} missing tensor(s) ({_listed(missing)})")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected tensor(s) ({_listed(unexpected)})")
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es) (checkpoint vs model: {_listed(mismatched)})")
    if problems:
        raise DistillsrError(f"weights do not fit {what}: {'; '.join(problems)}")
    network.load_state_dict(state_dict, strict=True)
