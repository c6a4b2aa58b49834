"""A weights file read and recognised: its tensors in distillsr's layout and what model they are, or exactly why not.

Building the network and putting the tensors in it is :mod:`.model_loading`'s job; this module
only reads files (and holds the strict state-dict load both use).

Two kinds of file are accepted:

* distillsr checkpoints (``.safetensors`` with metadata) — they name their model and scale;
* official ``.pth`` files of the papers' repositories — read with ``weights_only=True`` (no
  arbitrary unpickling) and recognised by their sha256 when they are a released file
  (:mod:`.official.known`), else by their key layout (:mod:`.official.registry`). A layout two
  families share (RLFN and DIPNet: 0-255 vs 0-1 input) is refused in one line naming the choices,
  unless the caller names the model.

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

from distillsr.checkpoints.format import METADATA_KEY, CheckpointInfo, read_safetensors
from distillsr.checkpoints.misfit import listed, misfits
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
    """A ``.pth``'s state dict via ``weights_only=True``: refuses pickled code with a clear message.

    The one reader of PyTorch weights files (official files, teachers, the contrastive loss's VGG):
    ``torch.load`` reports a file that is not a checkpoint with whatever its parser trips on
    (``KeyError: 101`` for a text file, ``UnpicklingError``, ``EOFError``), so every failure is one line here.
    """
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise DistillsrError(f"weights file {path} does not exist") from None
    except IsADirectoryError:
        raise DistillsrError(f"weights path {path} is a folder, not a file") from None
    except OSError as error:  # unreadable (permissions, I/O): not a question of the file's format
        raise DistillsrError(f"cannot read weights file {path}: {error.strerror or error}") from None
    except Exception as error:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        refusal = describe_refused_pickle(str(error))
        if refusal:
            raise DistillsrError(f"{path}: {refusal}") from None
        raise DistillsrError(f"{path}: not a readable PyTorch weights file (corrupt, truncated or another format)") from None
    return _unwrap(obj, path)


# The two ways torch's weights-only unpickler words a refusal (torch 2.6 - 2.13):
# a class it does not allow, and a callable from a module it blocks outright (os, subprocess, ...).
_NOT_ALLOWED = re.compile(r"Unsupported global: GLOBAL (\S+) was not an allowed global")
_BLOCKED = re.compile(r"unsupported GLOBAL (\S+) whose module (\S+) is blocked")


def describe_refused_pickle(text: str) -> str | None:
    """What the safe loader refused and why, in one line; None when ``text`` is another error.

    Saying "corrupt or truncated" here would send a user looking for a bad download when the file
    is intact and asks to run code: the distinction matters for safety, so it is named.
    """
    blocked = _BLOCKED.search(text)
    if blocked:
        return (
            f"refusing to unpickle: the file asks to call {blocked.group(1)} while loading (module "
            f"{blocked.group(2)} is blocked by PyTorch's safe loader); a weights file never needs that, so it may be "
            "malicious — do not load it with weights_only=False"
        )
    allowed = _NOT_ALLOWED.search(text)
    if allowed:
        return (
            f"refusing to unpickle the Python object {allowed.group(1)}: the safe loader (weights_only=True) "
            "takes only tensors and plain containers; this is not a plain state dict — load it only with code you "
            "trust and save its state_dict"
        )
    return None


def check_finite(state_dict: dict[str, torch.Tensor], source: Path) -> None:
    """Refuse weights holding NaN or infinity: every output would be garbage, so say which file it is."""
    broken = [
        name
        for name, tensor in state_dict.items()
        if tensor.is_floating_point() and not bool(torch.isfinite(tensor).all())
    ]
    if broken:
        raise DistillsrError(
            f"{source}: {len(broken)} weight tensor(s) hold NaN or infinite values ({listed(broken)}); "
            "the weights are broken (a diverged training run?)"
        )


def read_weights(
    path: str | os.PathLike[str], *, model: str | None = None, scale: int | None = None
) -> LoadedWeights:
    """Read a distillsr checkpoint or recognise an official file; nothing is built yet.

    A file that says nothing about itself (a ``.safetensors`` without distillsr metadata, a ``.pth``
    in no official layout) is still accepted when its tensors are in an official layout, or when
    the caller names the zoo ``model`` and ``scale`` it belongs to — the strict load that follows
    then checks every tensor name and shape against that model.
    """
    source = Path(path)
    if not source.exists():
        raise DistillsrError(f"weights file {source} does not exist")
    if source.suffix.lower() in SAFETENSORS_SUFFIXES:
        metadata, tensors = read_safetensors(source)
        if METADATA_KEY in metadata:
            loaded = LoadedWeights(CheckpointInfo.from_json(metadata[METADATA_KEY], str(source)), tensors)
        else:
            loaded = _recognise(source, tensors, model, scale, "a safetensors file without distillsr metadata")
    else:
        loaded = _recognise(source, read_torch_file(source), model, scale, "not a checkpoint layout distillsr knows")
    check_finite(loaded.state_dict, source)
    return loaded


def _recognise(
    source: Path, state_dict: dict[str, torch.Tensor], model: str | None, scale: int | None, what: str
) -> LoadedWeights:
    """A released official file by its sha256, else an official layout by its keys, else the zoo
    model the caller named, else an error saying how to name it.

    A file in an official layout whose tensors do not fit the network its shapes imply is refused
    here, naming the file and the tensors, unless the caller named the model and scale: then it is
    taken as that model's state dict and the strict load names what does not fit (and a stage's
    ``strict: false`` can still start from the tensors that do). A layout two families share is
    read as the family of the model the caller named (a model of neither family, named with its
    scale, takes the file as its own state dict, as above); with no model named it is refused
    naming the ``-m`` choices.
    """
    from distillsr.checkpoints.official.conversion import AmbiguousLayout, LayoutMismatch
    from distillsr.checkpoints.official.known import known_conversion
    from distillsr.checkpoints.official.registry import detect_official

    sha256 = sha256_of(source)
    provenance = {"converted_from": source.name, "sha256": sha256}
    try:
        conversion = known_conversion(sha256, state_dict) or detect_official(state_dict)
    except AmbiguousLayout as ambiguity:
        conversion = ambiguity.choose(model) if model is not None else None
        if conversion is None and (model is None or scale is None):
            named = f" ({model} is neither)" if model is not None else ""
            raise DistillsrError(
                f"{source}: {ambiguity}{named}; name the model: {' or '.join(ambiguity.options)}"
            ) from None
        # a model of neither family named with its scale: taken as that model's state dict, as below
    except LayoutMismatch as mismatch:
        if model is None or scale is None:
            raise DistillsrError(
                f"{source}: {mismatch}; the file is damaged or holds a variant distillsr does not build "
                f"(if it is a zoo model's state dict, name it: distillsr convert {source} -m MODEL -s SCALE -o OUT.safetensors)"
            ) from None
        conversion = None
    if conversion is not None:
        info = CheckpointInfo(
            model=conversion.model,
            scale=conversion.scale,
            kwargs=conversion.kwargs,
            input_range=conversion.input_range,
            form=_official_form(conversion),
            provenance={**provenance, "layout": conversion.layout},
        )
        return LoadedWeights(info, conversion.state_dict)
    if model is not None and scale is not None:
        from distillsr.models.zoo import get_entry

        entry = get_entry(model)
        info = CheckpointInfo(
            model=entry.name,
            scale=scale,
            input_range=entry.input_range,
            form=entry.form,
            provenance={**provenance, "layout": f"{entry.name} state dict (named by the user)"},
        )
        return LoadedWeights(info, state_dict)
    sample = ", ".join(list(state_dict)[:3])
    raise DistillsrError(
        f"{source}: {what} (first keys: {sample}); distillsr recognises RFDN/E-RFDN, IMDN, DDistill-SR, "
        "DIPNet/EDIPv1, RLFN, EFDN, SPAN and DIPNet-slim-v2 official files and distillsr .safetensors; if it is the "
        "state dict of a zoo model, name "
        f"it: distillsr convert {source} -m MODEL -s SCALE -o OUT.safetensors"
    )


def _official_form(conversion) -> str:
    """Official files are in their zoo entry's form, unless the layout says it was folded."""
    from distillsr.models.zoo import get_entry

    return "deploy" if conversion.kwargs.get("deploy") else get_entry(conversion.model).form


def load_state_dict_strictly(network: nn.Module, state_dict: dict[str, torch.Tensor], what: str) -> None:
    """``load_state_dict(strict=True)`` with an error that says exactly what does not fit."""
    problems = misfits(state_dict, {name: tuple(tensor.shape) for name, tensor in network.state_dict().items()})
    if problems:
        raise DistillsrError(f"weights do not fit {what}: {'; '.join(problems)}")
    network.load_state_dict(state_dict, strict=True)
