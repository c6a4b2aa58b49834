"""Loading a zoo model with its weights: the one way every command and the Python API get a model.

:mod:`distillsr.models` only knows how to *build* networks (:func:`~distillsr.models.zoo.build_model`);
putting weights in them lives here, next to the file formats, so the dependency runs one way
(``checkpoints`` -> ``models``, never back). Two levels:

* :func:`load_model` — a zoo name and scale and/or a weights file; without weights, fresh ones
  (what profiling, pruning and tests build);
* :func:`open_model` — what a user names, with the rules every command and :mod:`distillsr.api`
  share: nothing or ``builtin`` is the shipped model, a zoo name alone its official file
  (downloaded once), a file what it holds; never random weights.

Nothing heavy is imported at module level: :mod:`distillsr.inference.resolve` (imported by the
API, which must not import torch at import time) uses :func:`names_a_file` from here.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import TYPE_CHECKING

from distillsr.console import get_logger
from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from torch import nn

    from distillsr.checkpoints.format import CheckpointInfo
    from distillsr.models.sr_model import SRModel
    from distillsr.models.zoo import ZooEntry

# A model spec with one of these suffixes (or naming an existing file, or a path) is a file, not a zoo name.
CHECKPOINT_SUFFIXES = (".safetensors", ".pth", ".pt", ".ckpt", ".bin", ".onnx")


def names_a_file(spec: str) -> bool:
    """Whether a model spec names a file rather than a zoo model."""
    path = Path(spec)
    return path.suffix.lower() in CHECKPOINT_SUFFIXES or path.is_file() or os.sep in spec or "/" in spec


def user_entry(name: str) -> ZooEntry:
    """The zoo entry a user named; an unknown name's error offers ``builtin`` too, which every model option takes."""
    from distillsr.checkpoints.builtin import BUILTIN_NAME
    from distillsr.models.zoo import get_entry

    return get_entry(name, also=(BUILTIN_NAME,))


def load_model(name: str | None, scale: int | None, weights: str | os.PathLike[str] | None) -> SRModel:
    """A zoo model with weights from a distillsr checkpoint or an official file, in eval mode.

    ``name`` and ``scale`` may be None when ``weights`` is given (the file says what it is); when
    given, they must agree with the file, or the error names the mismatch. Without ``weights``,
    ``name`` and ``scale`` build the model with fresh weights (costs, shapes and tests need that);
    with neither a name nor weights, or ``builtin``, it is the shipped model for ``scale``.
    """
    from distillsr.checkpoints.builtin import (
        builtin_scale_for,
        builtin_scales,
        is_builtin,
        load_builtin,
    )
    from distillsr.checkpoints.load import load_state_dict_strictly, read_weights
    from distillsr.models.sr_model import SRModel
    from distillsr.models.zoo import build_model, check_scale, get_entry

    if is_builtin(name) or name is None and weights is None:  # nothing named: the shipped model
        if weights is not None:
            raise DistillsrError("the built-in models carry their weights: drop -w/--weights")
        if scale is not None and builtin_scale_for(scale) != scale:  # before any file is read
            shipped = ", ".join(f"x{s}" for s in builtin_scales())
            raise DistillsrError(f"no built-in x{scale:g} model: the built-in scales are {shipped}")
        return load_builtin(scale)
    if weights is None:
        if name is None or scale is None:
            raise DistillsrError("give a model name and a scale, or a weights file")
        return build_model(user_entry(name).name, scale)
    weights = os.fspath(weights)
    wanted = None if name is None else user_entry(name).name  # a typo fails before the file is read
    loaded = read_weights(weights, model=wanted, scale=scale)
    info = loaded.info
    try:  # the file's own description may be wrong: the error must name the file
        entry = get_entry(info.model)
        checked_scale = check_scale(entry, info.scale)
    except DistillsrError as error:
        raise DistillsrError(f"{weights}: its metadata does not describe a zoo model ({error})") from None
    if wanted is not None and wanted != entry.name:
        raise DistillsrError(f"{weights} holds the model {info.model} x{info.scale}, not {name}")
    if scale is not None and scale != info.scale:
        raise DistillsrError(f"{weights} is a x{info.scale} {info.model} model, but x{scale} was asked for")
    network = network_of(entry, checked_scale, info)
    get_logger(__name__).debug(
        f"{weights}: {entry.name} x{checked_scale}, {info.form} form, input range 0-{info.input_range:g}, "
        f"{info.provenance.get('layout', 'distillsr checkpoint')}"
    )
    load_state_dict_strictly(network, loaded.state_dict, f"{entry.name} x{info.scale}")
    return SRModel(
        network=network,
        name=entry.name,
        scale=info.scale,
        input_range=info.input_range,
        # a network built for another channel count (a 1-channel RFDN) takes what it was built for
        in_channels=info.kwargs.get("in_channels", entry.in_channels) if entry.in_channels is not None else None,
        metadata={
            "kwargs": {**entry.defaults, **info.kwargs},
            "form": info.form,
            "provenance": info.provenance,
            "weights": weights,
        },
        min_size=entry.min_size,
    ).eval()


def network_of(entry: ZooEntry, scale: int, info: CheckpointInfo) -> nn.Module:
    """The network a checkpoint's tensors fit: built, folded if the file holds a folded train-form
    model (a ``reparameterize`` stage's output), then narrowed to its pruned widths.

    Folding comes before narrowing because pruning happens after reparameterization (DIPNet: the
    RRRB identity needs equal widths): the widths describe the folded layers.
    """
    from distillsr.models.pruned_widths import PRUNED_WIDTHS, apply_widths
    from distillsr.nn.reparam import deploy, is_deployed

    kwargs = dict(info.kwargs)
    widths = kwargs.pop(PRUNED_WIDTHS, None)
    network = entry.build(scale, **kwargs)
    if info.form == "deploy" and not is_deployed(network):
        network = deploy(network)
    if widths:
        apply_widths(network, widths, entry.name)
    return network


def open_model(
    spec: str | os.PathLike[str] | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    scale: float | None = None,
    exact: bool = True,
    weights_option: str | None = None,
) -> SRModel:
    """The model a user names, with the rules every command and the Python API share.

    * nothing, or ``builtin`` — distillsr's own model for ``scale`` (default x4), shipped in the package;
    * a weights file (as ``spec`` or ``weights``) — what it holds, checked against ``scale``;
    * a zoo name with ``weights`` — that file in that architecture;
    * a zoo name alone — its official file, downloaded into the cache once
      (:mod:`distillsr.checkpoints.official_download`); ``bicubic`` needs only a scale.

    ``exact=False`` lets a scale without a model of its own take the nearest one (the upscaler
    then resizes the result); evaluation and export keep ``exact=True``: the scale is the model's.
    ``weights_option``: how the caller takes a weights file (default ``-w/--weights FILE``), quoted
    when a zoo name has no weights to offer; ``bench`` takes one as ``-m FILE``.
    """
    from distillsr.checkpoints.builtin import BUILTIN_NAME, is_builtin, load_builtin
    from distillsr.models.zoo import build_model

    spec = None if spec is None else os.fspath(spec)
    if spec is None and weights is None or is_builtin(spec):
        if weights is not None:
            raise DistillsrError("the built-in models carry their weights: drop -w/--weights (weights= in Python)")
        return load_model(BUILTIN_NAME, scale, None) if exact else load_builtin(scale)
    if spec is not None and names_a_file(spec):
        if weights is not None:
            raise DistillsrError(
                f"{spec} is a weights file itself; give weights (-w/--weights, weights= in Python) only with a zoo model name"
            )
        spec, weights = None, spec
    if weights is not None:
        return load_model(spec, _integer_scale(scale) if exact and scale is not None else None, weights)
    entry = user_entry(spec)
    if entry.name == "bicubic":
        if scale is None:
            raise DistillsrError("bicubic has no scale of its own: give -s/--scale (scale= in Python)")
        return build_model("bicubic", _integer_scale(scale) if exact else max(1, math.ceil(scale - 1e-9)))
    from distillsr.checkpoints.official_download import WEIGHTS_OPTION, official_weights_file

    option = weights_option or WEIGHTS_OPTION
    official = official_weights_file(entry.name, scale, exact=exact, weights_option=option)  # cached once
    if official is None:
        raise DistillsrError(needs_weights_message(entry, scale, option))
    return load_model(entry.name, None, official)


def _integer_scale(scale: object) -> int:
    if isinstance(scale, float) and scale.is_integer():
        scale = int(scale)
    if isinstance(scale, bool) or not isinstance(scale, int) or scale < 1:
        raise DistillsrError(f"scale must be a positive integer, got {scale!r}")
    return scale


def needs_weights_message(entry: ZooEntry, scale: float | None = None, weights_option: str = "-w/--weights FILE") -> str:
    """Say where weights come from, so the user's next step is one download away (``weights_option``: how to give them)."""
    at = "" if scale is None else f" x{scale:g}"
    message = (
        f"model {entry.name}{at} needs trained weights (without them it is randomly initialised): "
        f"give {weights_option}"
    )
    if entry.weights:
        files = ", ".join(f"{w.filename} (x{w.scale}, {w.url})" for w in entry.weights)
        return f"{message}; official weights: {files}"
    return f"{message} (a distillsr checkpoint; no official weights are published for {entry.name})"
