"""Export a model to ONNX: the folded deploy form, [0, 1] in and out, any size, verified.

What the file promises, and why each step is here:

* **Deploy form.** The network is deep-copied and :func:`~distillsr.nn.reparam.deploy`-ed before
  tracing, so train-time branches (DBB and its BatchNorms, RRRB) never reach the graph; the
  caller's model is left untouched. Slimmable (CSD) models are exported at their current width, and the
  constant folding keeps only the active weight slices.
* **[0, 1] images.** The input-range scaling that :class:`SRModel` does in Python (E-RFDN and the
  CSD models expect 0-255) is part of the graph, so ONNX users never need to know about it.
* **Dynamic batch, height and width.** Every zoo model computes its shapes from the input (ESA
  interpolates to ``x.shape``, the dynamic branch reshapes by ``x.shape[0]``), which the tracer
  records as graph ops; verification at two sizes proves nothing was frozen.
* **Metadata** (``metadata_props``, keys ``distillsr.*``) says what the graph is, so
  :class:`~distillsr.inference.onnx_backend.OnnxModel` can rebuild the model contract.
* **Verification** runs onnxruntime against the PyTorch model as given (train form included) on
  a real image at two sizes, and refuses to write a file that disagrees by more than ``atol``.

Exporter choice: the TorchScript exporter (``dynamo=False``). Both exporters handle every zoo
model with dynamic shapes in torch 2.13, but the TorchScript one is 3-5x faster, needs no
``onnxscript``, and constant-folds the sliced weights of a narrowed CSD model (EDSR at width 0.25:
11 MB instead of the full 173 MB of weights the dynamo exporter keeps).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import io
import os
import re
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.inference.onnx_backend import (
    FORMAT_NAME,
    FORMAT_VERSION,
    encode_metadata,
    first_line,
    require_module,
)
from distillsr.models.sr_model import SRModel

DEFAULT_OPSET = 17  # runs on onnxruntime >= 1.11, TensorRT 8.6, OpenVINO 2022+
MIN_OPSET = 11  # ESA's bilinear Resize matches PyTorch only from opset 11
MAX_OPSET = 20  # the highest the TorchScript exporter writes
DEFAULT_ATOL = 1e-4
INPUT_NAME = "input"
OUTPUT_NAME = "output"
TRACE_SIZE = 32  # the tracing input's side (at least the model's min_size); shapes stay symbolic

# Models whose forward computes in NumPy from the input size, so no traced graph generalises.
NOT_EXPORTABLE = {
    "bicubic": (
        "MATLAB-bicubic resize weights are computed in NumPy for each input size (imresize_torch), so a "
        "traced graph would only work at one size; use ONNX Resize (mode=cubic) for a bicubic baseline"
    ),
}


@dataclass(frozen=True)
class ExportReport:
    """What was written and how well it matched PyTorch.

    ``sizes`` and ``max_abs_diff`` are parallel: one ``(batch, height, width)`` verification run
    and its largest absolute difference on [0, 1] outputs. Both are empty when not verified.
    """

    path: Path
    model: str
    scale: int
    opset: int
    source_form: str
    width: float | None
    stored_values: int
    file_bytes: int
    seconds: float
    sizes: tuple[tuple[int, int, int], ...] = ()
    max_abs_diff: tuple[float, ...] = ()
    atol: float = DEFAULT_ATOL
    image_source: str | None = None
    warnings: tuple[str, ...] = ()

    @property
    def verified(self) -> bool:
        return bool(self.sizes)

    @property
    def worst_diff(self) -> float | None:
        return max(self.max_abs_diff) if self.max_abs_diff else None


# --- the graph ----------------------------------------------------------------------------------


class ImageGraph(nn.Module):
    """A network with its input range baked in: [0, 1] images in, [0, 1] images out.

    The arithmetic is exactly :meth:`SRModel.__call__`'s, so the graph matches the PyTorch model
    to float rounding rather than merely approximately.
    """

    def __init__(self, network: nn.Module, input_range: float) -> None:
        super().__init__()
        self.network = network
        self.input_range = float(input_range)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.input_range != 1.0:
            return self.network(x * self.input_range) / self.input_range
        return self.network(x)


def deployed_graph(model: SRModel) -> ImageGraph:
    """A folded float32 CPU copy of ``model``'s network, wrapped to take [0, 1] images.

    A copy, because :func:`deploy` folds in place and the caller may keep training its model.
    """
    from distillsr.nn.reparam import deploy

    network = copy.deepcopy(model.network).to("cpu", torch.float32)
    return ImageGraph(deploy(network), model.input_range).eval()


def _check_exportable(model: SRModel, opset: int, atol: float) -> None:
    if not isinstance(model, SRModel):
        raise DistillsrError(f"export_onnx takes an SRModel (see distillsr.models.zoo.load_model), not {type(model).__name__}")
    reason = NOT_EXPORTABLE.get(model.name)
    if reason is not None:
        raise DistillsrError(f"{model.name} cannot be exported to ONNX: {reason}")
    if not isinstance(opset, int) or isinstance(opset, bool) or not MIN_OPSET <= opset <= MAX_OPSET:
        raise DistillsrError(f"opset must be an integer from {MIN_OPSET} to {MAX_OPSET}, got {opset!r}")
    if not isinstance(atol, (int, float)) or not 0 <= atol < float("inf"):
        raise DistillsrError(f"the tolerance must be a non-negative number, got {atol!r}")


def _failed_op(error: BaseException) -> str | None:
    """The operator an exporter error is about, when its message names one."""
    match = re.search(r"'((?:aten|prim|onnx|quantized)::\w+)'", str(error)) or re.search(
        r"(?:operator|ONNX export of operator) (\w+)", str(error)
    )
    return match.group(1) if match else None


def _explain(error: BaseException, opset: int) -> str:
    """The failing op and, when the exporter knows one, the opset that would support it."""
    op = _failed_op(error)
    if op is None:
        return f"{type(error).__name__}: {first_line(error)}"
    newer = re.search(r"added in version (\d+)", str(error))
    hint = f"; it needs opset {newer.group(1)} or later" if newer else ""
    return f"op {op} is not exportable at opset {opset}{hint}"


def _trace_input(model: SRModel) -> torch.Tensor:
    """A deterministic non-square input, so a height/width mix-up in the trace cannot go unnoticed."""
    side = max(TRACE_SIZE, model.min_size)
    generator = torch.Generator().manual_seed(0)
    return torch.rand(1, model.in_channels or 3, side, side + 8, generator=generator)


def _trace_to_onnx(graph: ImageGraph, sample: torch.Tensor, model: SRModel, opset: int) -> tuple[bytes, tuple[str, ...]]:
    """Serialized ONNX bytes, and the tracer's warnings (each may mean a frozen shape).

    The exporter's own deprecation chatter and its IR dump on failure are kept off the console.
    """
    buffer = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught, _console_silenced():
        warnings.simplefilter("always")
        try:
            torch.onnx.export(
                graph, (sample,), buffer, dynamo=False, opset_version=opset, do_constant_folding=True,
                input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                dynamic_axes={
                    INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                    OUTPUT_NAME: {0: "batch", 2: "out_height", 3: "out_width"},
                },
            )
        except Exception as error:  # the exporter raises many types; all mean "this graph cannot be written"
            raise DistillsrError(f"{model.name} cannot be exported to ONNX: {_explain(error, opset)}") from None
    tracer = tuple(sorted({_where(w) for w in caught if issubclass(w.category, torch.jit.TracerWarning)}))
    return buffer.getvalue(), tracer


def _flush_c_stdio() -> None:
    """Flush C-level stdio buffers (C++ ``std::cout`` writes through them), where libc is reachable."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def _console_silenced() -> Any:
    """Discard what is written to file descriptors 1 and 2 meanwhile, C++ output included.

    The TorchScript exporter prints a whole IR dump from C++ when an op fails (its logging switch
    is always on in torch 2.13); the one-line DistillsrError already says what failed.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    try:
        with open(os.devnull, "w") as devnull:
            for fd in saved:
                os.dup2(devnull.fileno(), fd)
            yield
    finally:
        _flush_c_stdio()
        for fd, copy_fd in saved.items():
            os.dup2(copy_fd, fd)
            os.close(copy_fd)


def _where(warning: warnings.WarningMessage) -> str:
    """``module.py:line: message``: where the tracer froze a value, so users can judge it."""
    return f"{Path(warning.filename).name}:{warning.lineno}: {str(warning.message).splitlines()[0]}"


# --- metadata ---------------------------------------------------------------------------------


def export_metadata(model: SRModel, opset: int) -> dict[str, Any]:
    """What a user of the file needs to know, without distillsr's code (values before encoding)."""
    from distillsr import __version__
    from distillsr.nn.reparam import is_deployed

    width = getattr(model.network, "width", None)
    return {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "model": model.name,
        "scale": model.scale,
        "in_channels": model.in_channels or 3,
        "min_size": model.min_size,
        "network_input_range": model.input_range,  # baked in: the graph itself takes [0, 1]
        "io": "float32 NCHW in [0, 1] -> float32 NCHW in [0, 1], batch/height/width dynamic",
        "form": "deploy",
        "source_form": "deploy" if is_deployed(model.network) else "train",  # what was handed in
        "width": float(width) if isinstance(width, (int, float)) else None,
        "kwargs": model.metadata.get("kwargs") or None,
        "provenance": model.metadata.get("provenance") or None,
        "distillsr_version": __version__,
        "opset": opset,
    }


def _with_metadata(data: bytes, metadata: dict[str, Any]) -> tuple[bytes, int]:
    """The model with ``metadata_props`` set and checked by onnx, and the number of stored values."""
    onnx = require_module("onnx", "ONNX export")
    proto = onnx.load_from_string(data)
    del proto.metadata_props[:]
    for key, value in encode_metadata(metadata).items():
        proto.metadata_props.add(key=key, value=value)
    proto.doc_string = f"distillsr {metadata['model']} x{metadata['scale']} ({metadata['io']})"
    try:
        onnx.checker.check_model(proto)
    except onnx.checker.ValidationError as error:
        raise DistillsrError(f"{metadata['model']}: the exported graph is not valid ONNX: {first_line(error)}") from None
    return proto.SerializeToString(), stored_values(proto)


def stored_values(proto: Any) -> int:
    """Scalars stored in the graph (initializers and constants): the deployed parameter count."""
    total = sum(int(np.prod(t.dims)) for t in proto.graph.initializer)
    for node in proto.graph.node:
        if node.op_type == "Constant":
            total += sum(int(np.prod(a.t.dims)) for a in node.attribute if a.name == "value")
    return total


# --- verification -------------------------------------------------------------------------------


def image_to_tensor(image: np.ndarray, channels: int) -> torch.Tensor:
    """An ``HxW`` or ``HxWxC`` uint8/uint16/float-in-[0,1] array as a ``(1, C, H, W)`` float32 tensor."""
    array = np.asarray(image)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] != channels:
        raise DistillsrError(f"the verification image must be HxWx{channels} for this model, got shape {array.shape}")
    if array.dtype in (np.uint8, np.uint16):
        values = array.astype(np.float32) / np.float32(np.iinfo(array.dtype).max)
    elif np.issubdtype(array.dtype, np.floating):
        values = array.astype(np.float32)
        if not np.isfinite(values).all() or values.min() < 0 or values.max() > 1:
            raise DistillsrError("a float verification image must hold finite values in [0, 1]")
    else:
        raise DistillsrError(f"the verification image must be uint8, uint16 or float, not {array.dtype}")
    return torch.from_numpy(np.ascontiguousarray(values.transpose(2, 0, 1)))[None]


def verification_batches(image: torch.Tensor, min_size: int) -> list[torch.Tensor]:
    """The whole image (batch 1), then two smaller crops of another shape (batch 2).

    Two spatial sizes prove height and width are dynamic; the second batch size proves the batch
    is, and the per-sample ops (DDistill-SR's dynamic branch) keep samples apart.
    """
    _, _, height, width = image.shape
    h2 = max(min_size, height - max(1, height // 4))
    w2 = max(min_size, width - max(1, width // 3))
    if min(height, width) < min_size or (h2, w2) == (height, width):
        raise DistillsrError(
            f"the verification image ({height}x{width}) is too small to test two sizes; "
            f"give one larger than {min_size}x{min_size} pixels"
        )
    top_left = image[..., :h2, :w2]
    bottom_right = image[..., height - h2 :, width - w2 :].flip(-1)
    return [image, torch.cat([top_left, bottom_right])]


@contextlib.contextmanager
def _quiet() -> Any:
    """Silence Python warnings from model code (e.g. empty Linears in tiny test models)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _reference(model: SRModel, batches: list[torch.Tensor]) -> list[np.ndarray]:
    """PyTorch outputs of the model as given, on a float32 CPU copy in eval mode.

    A copy keeps the caller's device and training flag; the CPU keeps TF32 and other GPU
    shortcuts from counting as export error.
    """
    network = copy.deepcopy(model.network).to("cpu", torch.float32).eval()
    reference = dataclasses.replace(model, network=network)
    with torch.inference_mode(), _quiet():
        return [reference(batch).numpy() for batch in batches]


def _onnxruntime_outputs(data: bytes, batches: list[torch.Tensor], name: str) -> list[np.ndarray]:
    ort = require_module("onnxruntime", "verifying an ONNX export")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        return [session.run([OUTPUT_NAME], {INPUT_NAME: batch.numpy()})[0] for batch in batches]
    except Exception as error:  # onnxruntime's pybind exceptions
        shapes = ", ".join("x".join(map(str, batch.shape)) for batch in batches)
        raise DistillsrError(f"{name}: onnxruntime cannot run the exported graph on {shapes}: {first_line(error)}") from None


def verify(model: SRModel, data: bytes, image: np.ndarray, atol: float) -> tuple[tuple[tuple[int, int, int], ...], tuple[float, ...]]:
    """Compare onnxruntime with PyTorch at two sizes; an error names every measured difference."""
    tensor = image_to_tensor(image, model.in_channels or 3)
    batches = verification_batches(tensor, model.min_size)
    expected = _reference(model, batches)
    actual = _onnxruntime_outputs(data, batches, model.name)
    sizes = tuple((b.shape[0], b.shape[2], b.shape[3]) for b in batches)
    diffs = []
    for size, want, got in zip(sizes, expected, actual):
        if got.shape != want.shape:
            raise DistillsrError(
                f"{model.name}: the ONNX graph returned shape {got.shape} for input {size}, PyTorch {want.shape}; "
                "a shape was frozen during export"
            )
        diffs.append(float(np.abs(got.astype(np.float64) - want.astype(np.float64)).max()))
    if not all(d <= atol for d in diffs):  # also catches NaN
        measured = ", ".join(f"{d:.3g} at {n}x{h}x{w}" for (n, h, w), d in zip(sizes, diffs))
        raise DistillsrError(f"{model.name}: ONNX output differs from PyTorch by {measured} (tolerance {atol:g}); file not written")
    return sizes, tuple(diffs)


# --- the entry point ----------------------------------------------------------------------------


def export_onnx(
    model: SRModel,
    path: str | os.PathLike[str],
    *,
    opset: int | None = None,
    verify_image: np.ndarray | None = None,
    atol: float = DEFAULT_ATOL,
    image_source: str | None = None,
) -> ExportReport:
    """Write ``model``'s deploy form to ``path`` as ONNX and return what was done.

    With ``verify_image`` (an ``HxWxC`` image; uint8, uint16 or float in [0, 1]) the graph is
    checked against the PyTorch model with onnxruntime at two sizes before anything is written;
    ``image_source`` only labels it in the report. Without it the file is written unverified.
    """
    start = time.perf_counter()
    opset = DEFAULT_OPSET if opset is None else opset
    _check_exportable(model, opset, atol)
    require_module("onnx", "ONNX export")
    with _quiet():
        graph = deployed_graph(model)
    data, tracer_warnings = _trace_to_onnx(graph, _trace_input(model), model, opset)
    metadata = export_metadata(model, opset)
    data, values = _with_metadata(data, metadata)
    sizes: tuple[tuple[int, int, int], ...] = ()
    diffs: tuple[float, ...] = ()
    if verify_image is not None:
        sizes, diffs = verify(model, data, verify_image, atol)
    target = Path(path)
    _write(target, data)
    return ExportReport(
        path=target, model=model.name, scale=model.scale, opset=opset, source_form=metadata["source_form"],
        width=metadata["width"], stored_values=values, file_bytes=len(data),
        seconds=time.perf_counter() - start, sizes=sizes, max_abs_diff=diffs, atol=atol,
        image_source=image_source if verify_image is not None else None, warnings=tracer_warnings,
    )


def _write(target: Path, data: bytes) -> None:
    from distillsr.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(target, data)
    except OSError as error:
        raise DistillsrError(f"cannot write {target}: {error.strerror or error}") from None


# --- a real image for verification ----------------------------------------------------------------


def _shared_candidates() -> list[Path]:
    """Where the project's ``shared`` folder may be: $DISTILLSR_SHARED, beside the cwd or the repo."""
    roots = []
    if os.environ.get("DISTILLSR_SHARED"):
        roots.append(Path(os.environ["DISTILLSR_SHARED"]))
    roots.append(Path.cwd().parent / "shared")
    roots.append(Path(__file__).resolve().parents[3].parent / "shared")
    return [root / "data" / "Set5" / "HR" / "baby.png" for root in roots]


def _centre_crop(image: np.ndarray, size: int) -> np.ndarray:
    height, width = image.shape[:2]
    top, left = max(0, (height - size) // 2), max(0, (width - size) // 2)
    return np.ascontiguousarray(image[top : top + size, left : left + size])


def _synthetic_image(size: int) -> np.ndarray:
    """Smooth gradients, rings and sharp edges: deterministic content with SR-relevant structure."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float64) / max(size - 1, 1)
    rings = 0.5 + 0.5 * np.sin(40.0 * np.hypot(x - 0.4, y - 0.6))
    edges = ((x * 8).astype(int) + (y * 5).astype(int)) % 2
    rgb = np.stack([0.6 * x + 0.4 * rings, 0.5 * rings + 0.5 * edges, 0.3 + 0.4 * y * edges], axis=-1)
    return np.round(np.clip(rgb, 0, 1) * 255).astype(np.uint8)


def verification_image(channels: int = 3, size: int = 64) -> tuple[np.ndarray, str]:
    """A ``size x size`` uint8 crop of a real photo for :func:`export_onnx`, and where it came from.

    Set5's ``baby.png`` if the shared data is at hand, else scikit-image's astronaut, else a
    synthetic pattern (the description says which, since only real images exercise the
    statistics-dependent layers realistically).
    """
    rgb, source = None, None
    for candidate in _shared_candidates():
        if candidate.is_file():
            from distillsr.imaging.io import read_image

            rgb, source = read_image(candidate), f"Set5 baby.png ({candidate})"
            break
    if rgb is None:
        with contextlib.suppress(ImportError):
            from skimage import data as skimage_data

            rgb, source = skimage_data.astronaut(), "scikit-image astronaut"
    if rgb is None:
        rgb, source = _synthetic_image(size), "a synthetic pattern (no real image available)"
    crop = _centre_crop(rgb[..., :3] if rgb.ndim == 3 else np.repeat(rgb[..., None], 3, axis=2), size)
    if channels == 1:
        from distillsr.imaging.color import rgb_to_grey

        crop = np.round(rgb_to_grey(crop)).astype(np.uint8)[..., None]
    elif channels != 3:
        raise DistillsrError(f"no verification image for a {channels}-channel model; pass one")
    return crop, f"{size}x{size} centre crop of {source}"
