"""The Python API: :func:`upscale`, :func:`load_model`, :func:`evaluate` and :func:`profile`.

Each is the engine behind one command (``distillsr upscale``, ``eval``, ``profile``), so a script
gets the very numbers and pixels the command prints and writes. ``import distillsr`` exposes them
lazily (nothing here is imported until one is used), and nothing in this module imports torch at
import time: a caller pays for PyTorch only when a model is built.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np

from distillsr.console import get_logger
from distillsr.errors import DistillsrError
from distillsr.inference.outscale import output_scale
from distillsr.inference.precision_names import PrecisionChoice
from distillsr.inference.resolve import ModelLike, resolve_model
from distillsr.inference.width import at_width, width_of

if TYPE_CHECKING:
    from PIL import Image
    from torch import nn

    from distillsr.efficiency.report import EfficiencyReport
    from distillsr.evaluation.runner import SetResult
    from distillsr.checkpoints.model_loading import ZooWeights
    from distillsr.inference.width_policy.costs import DynamicWidths
    from distillsr.inference.session import UpscaleSession
    from distillsr.models.sr_model import SRModel

__all__ = ["at_width", "evaluate", "load_model", "output_scale", "profile", "resolve_model", "upscale", "width_of"]

PathLike = str | os.PathLike[str]
PROFILE_SCALE = 4  # the scale a zoo name is measured at when none is given (the challenges' x4)
log = get_logger(__name__)


# --------------------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------------------


def load_model(
    model: str | os.PathLike[str] | None = None,
    *,
    weights: PathLike | None = None,
    scale: int | None = None,
    device: str = "cpu",
) -> SRModel:
    """A trained model, ready to call on ``(N, C, H, W)`` tensors in [0, 1].

    ``model`` is nothing or ``"builtin"`` (distillsr's own model for ``scale``, default x4, shipped
    in the package), a zoo name (``"e-rfdn"``: its ``weights=``, or without them the official
    file, downloaded into ``$DISTILLSR_HOME`` once), or a weights file (a distillsr
    ``.safetensors`` or an official ``.pth``/``.safetensors``, recognised by its key layout).
    ``scale`` checks the file, or picks the scale of a built-in or official model. ``bicubic``
    needs no weights, only a scale. Random weights are never handed back (build an untrained
    network with :func:`distillsr.models.zoo.build_model`).

    Each call returns a new model object: changing its device or width affects no one else.
    """
    return _open(model, weights, scale, device)


def _open(
    model: ModelLike,
    weights: PathLike | None,
    scale: int | None,
    device: str,
    width: float | None = None,
    *,
    default_scale: int | None = None,
    zoo_weights: ZooWeights = "official",
) -> SRModel:
    """The torch model a caller named (:func:`~distillsr.checkpoints.model_spec.model_spec` decides
    what that is and refuses conflicts), opened and moved to ``device``; a loaded SRModel as it is."""
    from distillsr.checkpoints.model_loading import open_spec
    from distillsr.checkpoints.model_spec import model_spec
    from distillsr.devices import resolve_device
    from distillsr.models.sr_model import SRModel

    spec = model_spec(model, weights=weights, scale=scale, width=width, exact=True, default_scale=default_scale)
    if spec.kind == "loaded" and not isinstance(spec.model, SRModel):
        raise DistillsrError(f"model must be a zoo name, a weights path or an SRModel, not {type(model).__name__}")
    return open_spec(spec, zoo_weights=zoo_weights, weights_option="weights=FILE").to(resolve_device(device))


# --------------------------------------------------------------------------------------------------
# Upscaling
# --------------------------------------------------------------------------------------------------


def upscale(
    image: np.ndarray | Image.Image,
    model: ModelLike = None,
    *,
    weights: PathLike | None = None,
    scale: float | None = None,
    tile: int | Literal["auto"] | None = "auto",
    device: str = "auto",
    precision: PrecisionChoice = "auto",
    alpha: Literal["bicubic", "model"] = "bicubic",
    width: float | None = None,
) -> np.ndarray | Image.Image:
    """Upscale an image array or a PIL image; the result is of the same kind.

    ``image``: a uint8/uint16 NumPy array, ``HxW`` (grey), ``HxWx1``, ``HxWx3`` or ``HxWx4``
    (RGBA), returned with the same dtype and layout; or a PIL image, returned as a PIL image in
    the same mode where one exists (``L``, ``I;16``, ``RGB``, ``RGBA``, ``LA``); palette, CMYK and
    other colour modes come back ``RGB``/``RGBA``, ``1`` comes back ``L``. EXIF orientation is
    not applied here (use ``PIL.ImageOps.exif_transpose`` first); a PIL image's ICC profile is
    carried to the result when it still describes it.

    ``model``: a zoo name (with ``weights=``, except ``bicubic``), a checkpoint path (``.safetensors``
    or an official ``.pth``), or a loaded model (:func:`load_model`). Models named by name or path
    are cached between calls. ``scale``: the output scale, by default the model's; another value
    resizes the model's output with MATLAB bicubic, as ``distillsr upscale -s`` does. ``tile``:
    ``"auto"`` (the whole image when its forward fits in memory, else the widest tiles that do; the
    forward's memory is counted from the model once), a tile side in pixels, or 0/None for none.
    ``precision``: ``"auto"`` (bf16 on a CPU with native bf16 and fp16 on CUDA, for models that
    take it; else fp32), or ``"fp32"`` for the exact path (within one 8-bit level of plain
    float32), ``"bf16"``, ``"fp16"`` (CUDA). ``alpha``: how an alpha channel is upscaled (MATLAB
    bicubic, or the model). ``width``: run a channel-splitting (CSD) model at one of the widths it
    was trained at (e.g. 0.5) for this call only; other models refuse it.
    """
    from PIL import Image as PILImage

    from distillsr.inference.session import upscale_session

    with upscale_session(model, weights=weights, scale=scale, width=width, device=device, precision=precision,
                         tile=tile) as session:
        if isinstance(image, PILImage.Image):
            from distillsr.imaging.pil_arrays import array_to_pil, pil_to_array

            pixels, mode = pil_to_array(image)
            return array_to_pil(_upscale_array(pixels, session, alpha), mode, image)
        if not isinstance(image, np.ndarray):
            raise DistillsrError(f"image must be a NumPy array or a PIL image, not {type(image).__name__}")
        return _upscale_array(image, session, alpha)


def _upscale_array(image: np.ndarray, session: UpscaleSession, alpha: str) -> np.ndarray:
    out = session.upscale(image, alpha)
    if image.ndim == 3 and image.shape[2] == 1:
        out = out[..., None]  # the engine drops a single channel axis; give back the caller's layout
    return out


# --------------------------------------------------------------------------------------------------
# Scores and costs
# --------------------------------------------------------------------------------------------------


def evaluate(
    model: ModelLike,
    data: PathLike | Sequence[PathLike],
    *,
    weights: PathLike | None = None,
    scale: int | None = None,
    protocol: str = "classic",
    degradation: str = "BI",
    seed: int = 0,
    self_ensemble: bool = False,
    save_images: PathLike | None = None,
    cache_dir: PathLike | None = None,
    cache: bool = True,
    device: str = "auto",
    progress: bool = False,
    precision: str = "fp32",
    width: float | None = None,
    width_policy: Literal["calibrated"] | DynamicWidths | None = None,
) -> list[SetResult]:
    """PSNR/SSIM of a model on benchmark folders under a named protocol, one result per folder.

    ``data``: one or more folders, each a folder of HR images (LR made by ``degradation``: BI, BD
    or DN) or a set folder with ``HR/`` and ``LR_bicubic/X<s>/`` (stored LR used for BI).
    ``protocol``: ``classic`` (8-bit SR, Y channel, border = scale — the numbers SR papers print)
    or ``ntire`` (RGB, border 4). Each :class:`~distillsr.evaluation.runner.SetResult` has the
    per-image scores and ``.mean``; every score names its protocol. ``save_images``: a folder for
    the SR images (``<folder>/<set>/<name>.png``), checked for writability before any work.
    ``precision``: ``fp32`` (plain float32, as papers score; the default), ``bf16`` or ``fp16``
    (autocast, to see what reduced-precision upscaling costs); each result names it. ``width``: score
    a channel-splitting (CSD) model at one of its widths (the model's width is restored after).
    ``width_policy``: run each image at the width a policy picks instead (dynamic inference):
    ``"calibrated"`` for the thresholds ``distillsr calibrate`` stored in the checkpoint, or a
    :class:`~distillsr.inference.width_policy.costs.DynamicWidths`; each result's ``.spent`` then says
    which widths ran and what they cost in MACs.
    """
    from distillsr.evaluation.runner import evaluate_folders
    from distillsr.metrics.protocols import get_protocol
    from distillsr.writable import check_output_folder

    if width is not None and width_policy is not None:
        raise DistillsrError("a width policy chooses each image's width itself: drop the fixed width (--width/width=)")
    folders = [Path(data)] if isinstance(data, (str, os.PathLike)) else [Path(folder) for folder in data]
    if not folders:
        raise DistillsrError("evaluate needs at least one benchmark folder")
    scoring = get_protocol(protocol)
    save_dir = None if save_images is None else check_output_folder(save_images, "SR image folder")
    loaded = _open(model, weights, scale, device, width)
    policy = _width_policy(loaded, width_policy)  # a model without calibrated thresholds fails before any image
    with at_width(loaded, width) as running:  # a width the model lacks is refused before any image is read
        return evaluate_folders(
            running, folders, scoring, degradation=degradation, seed=seed, self_ensemble=self_ensemble,
            save_dir=save_dir, cache_dir=cache_dir, cache=cache, progress=progress, precision=precision, policy=policy,
        )


def _width_policy(model: SRModel, policy: Literal["calibrated"] | DynamicWidths | None) -> DynamicWidths | None:
    """The chooser of a dynamic evaluation: the checkpoint's calibrated one, or the caller's own."""
    if policy is None or not isinstance(policy, str):
        return policy
    if policy != "calibrated":
        raise DistillsrError(f"width_policy must be 'calibrated' or a DynamicWidths chooser, not {policy!r}")
    from distillsr.inference.width_policy.costs import dynamic_widths

    return dynamic_widths(model)


def profile(
    model: ModelLike = None,
    *,
    weights: PathLike | None = None,
    scale: int | None = None,
    input_size: Sequence[int] | str = (3, 256, 256),
    device: str = "cpu",
    runtime: bool = True,
    memory: bool = True,
    repeats: int = 10,
    warmup: int = 2,
    width: float | None = None,
) -> EfficiencyReport:
    """Parameters, MACs/FLOPs, activations, conv layers, runtime and peak memory of a model.

    The definitions are NTIRE efficient-SR's, at an LR ``input_size`` of ``C x H x W`` (default
    ``3x256x256``, also accepted as the string ``"3x256x256"``). A zoo name without weights is
    measured with fresh weights (costs do not depend on them), at ``scale`` (default 4). ``width``:
    measure a channel-splitting (CSD) model at one of its widths: parameters are those that width
    uses (:func:`~distillsr.nn.slimmable.active_parameter_count`), and MACs, FLOPs, activations,
    runtime and memory are those of its forward.
    """
    from distillsr.devices import resolve_device
    from distillsr.efficiency.input_size import parse_input_shape
    from distillsr.efficiency.report import profile_model

    # costs do not depend on the weights: a zoo name alone is measured with fresh ones (no download), at x4 by default
    loaded = _open(model, weights, scale, device, width, default_scale=PROFILE_SCALE, zoo_weights="fresh")
    shape = parse_input_shape(input_size)
    target = resolve_device(device)
    if loaded.in_channels is not None and shape[1] != loaded.in_channels:
        raise DistillsrError(f"{loaded.name} takes {loaded.in_channels} channels, not {shape[1]}")
    with at_width(loaded, width):
        report = profile_model(
            loaded.network, shape, device=target.type, runtime=runtime, memory=memory, repeats=repeats, warmup=warmup
        )
        return report if width is None else _at_width_figures(report, loaded.network, float(width))


def _at_width_figures(report: EfficiencyReport, network: nn.Module, width: float) -> EfficiencyReport:
    """``report`` with the parameter count of the width that ran.

    MACs, the kit's FLOPs (which read each conv's active slice), activations, runtime and memory
    come from the narrow forward itself; the parameter count would list the full weights.
    """
    import dataclasses

    from distillsr.efficiency.params import ParamCount
    from distillsr.nn.slimmable import active_parameter_count

    active = active_parameter_count(network, width)
    trainable = active if report.params.trainable == report.params.total else min(active, report.params.trainable)
    return dataclasses.replace(report, params=ParamCount(total=active, trainable=trainable))
