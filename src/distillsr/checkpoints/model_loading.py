"""Opening a model: the one way every command and the Python API get a model with its weights.

:mod:`distillsr.models` only knows how to *build* networks (:func:`~distillsr.models.zoo.build_model`);
putting weights in them lives here, next to the file formats, so the dependency runs one way
(``checkpoints`` -> ``models``, never back). What a user named has already been read and checked
by :func:`~.model_spec.model_spec`; this module only opens it:

* :func:`open_spec` — a :class:`~.model_spec.ModelSpec`: the shipped model, a file, or a zoo name
  alone with its official file (downloaded once) or, where the caller asks, fresh weights;
* :func:`open_model` — the same from what a user typed (``model_spec`` then ``open_spec``);
* :func:`load_or_build` — a zoo name and scale and/or a weights file; without weights, fresh ones
  (what pruning, conversion and tests build). (:func:`distillsr.load_model` is the user's loader:
  it never hands back random weights.)
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Literal

from distillsr.checkpoints.model_spec import (
    BUILTIN_NAME,
    WEIGHTS_OPTION,
    ModelSpec,
    integer_scale,
    model_spec,
    needs_weights_message,
)
from distillsr.console import get_logger
from distillsr.errors import DistillsrError

if TYPE_CHECKING:
    from torch import nn

    from distillsr.checkpoints.format import CheckpointInfo
    from distillsr.models.sr_model import SRModel
    from distillsr.models.zoo import ZooEntry

#: What a zoo name alone opens: its official file (upscale, eval, the API), that file where one is
#: published and fresh weights otherwise (export), or fresh weights (profile: costs do not depend on them).
ZooWeights = Literal["official", "official-or-fresh", "fresh"]


def open_spec(spec: ModelSpec, *, zoo_weights: ZooWeights = "official", weights_option: str | None = None) -> SRModel:
    """The model ``spec`` names, in eval mode; random weights only where ``zoo_weights`` asks for them.

    ``weights_option``: how the caller takes a weights file (default ``-w/--weights FILE``), quoted
    when a zoo name has no weights to offer; ``bench`` takes one as ``-m FILE``.
    """
    if spec.kind == "loaded":
        return spec.model  # type: ignore[return-value]
    if spec.kind == "onnx":
        raise DistillsrError(f"{spec.path} is an ONNX model: it runs through --backend onnxruntime, not as a torch model")
    if spec.kind == "builtin":
        return load_builtin(spec.scale)
    if spec.kind == "file":
        return load_file(spec.path, name=spec.name, scale=spec.integer_scale if spec.exact else None)
    if spec.name == "bicubic":
        from distillsr.models.zoo import build_model

        return build_model("bicubic", spec.integer_scale if spec.exact else max(1, math.ceil(spec.scale - 1e-9)))
    if zoo_weights != "fresh":
        from distillsr.checkpoints.official_download import official_weights_file
        from distillsr.models.zoo import get_entry

        option = weights_option or WEIGHTS_OPTION
        official = official_weights_file(spec.name, spec.scale, exact=spec.exact, weights_option=option)  # cached once
        if official is not None:
            return load_file(official, name=spec.name)
        if zoo_weights == "official":
            raise DistillsrError(needs_weights_message(get_entry(spec.name), spec.scale, option))
    if spec.scale is None:
        raise DistillsrError("give a model name and a scale, or a weights file")
    from distillsr.models.zoo import build_model

    return build_model(spec.name, integer_scale(spec.scale))


def open_model(
    spec: str | os.PathLike[str] | None,
    *,
    weights: str | os.PathLike[str] | None = None,
    scale: float | None = None,
    width: float | None = None,
    exact: bool = True,
    weights_option: str | None = None,
) -> SRModel:
    """The model a user names, with the rules every command and the Python API share
    (:func:`~.model_spec.model_spec`): nothing or ``builtin`` is the shipped model for ``scale``
    (default x4), a file what it holds, a zoo name with ``weights`` that file, a zoo name alone its
    official file (downloaded once); ``bicubic`` needs only a scale. Never random weights.

    ``exact=False`` lets a scale without a model of its own take the nearest one (the upscaler
    then resizes the result); evaluation and export keep ``exact=True``: the scale is the model's.
    """
    named = model_spec(spec, weights=weights, scale=scale, width=width, exact=exact)
    return open_spec(named, weights_option=weights_option)


def load_or_build(name: str | None, scale: int | None, weights: str | os.PathLike[str] | None) -> SRModel:
    """A zoo model with weights from a distillsr checkpoint or an official file, in eval mode.

    ``name`` and ``scale`` may be None when ``weights`` is given (the file says what it is); when
    given, they must agree with the file, or the error names the mismatch. Without ``weights``,
    ``name`` and ``scale`` build the model with fresh weights (costs, shapes and tests need that);
    with neither a name nor weights, or ``builtin``, it is the shipped model for ``scale``.
    """
    return open_spec(model_spec(name, weights=weights, scale=scale, exact=True), zoo_weights="fresh")


#: The old name of :func:`load_or_build`, kept while ``benchmarks/prune_criteria.py`` and
#: ``benchmarks/dynamic_vs_fixed.py`` (another developer's files) import it; delete it then.
load_model = load_or_build


def load_builtin(scale: float | None = None) -> SRModel:
    """The built-in model that serves ``scale`` (default x4), named ``builtin``; its card and its
    architecture (a zoo name) are in the metadata."""
    from distillsr.checkpoints.builtin import builtin_card, builtin_path

    model = load_file(builtin_path(scale))
    model.metadata.update(card=builtin_card(model.scale), architecture=model.name, builtin=True)
    model.name = BUILTIN_NAME  # what the user named; the architecture stays in the metadata
    return model


def load_file(weights: str | os.PathLike[str], *, name: str | None = None, scale: int | None = None) -> SRModel:
    """The zoo model a weights file holds (a distillsr checkpoint or an official file), in eval mode.

    ``name`` and ``scale``, when given, must agree with the file, or the error names the mismatch;
    they also name the model of a bare state dict.
    """
    from distillsr.checkpoints.weights_file import load_state_dict_strictly, read_weights
    from distillsr.checkpoints.model_spec import user_entry
    from distillsr.models.sr_model import SRModel
    from distillsr.models.zoo import check_scale, get_entry

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
