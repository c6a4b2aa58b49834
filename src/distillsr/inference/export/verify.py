"""Verification: onnxruntime against the PyTorch model as given, at two sizes, before writing.

The reference is the model as handed in (train form included), so the check covers folding as
well as export. Two spatial sizes prove height and width were not frozen during tracing; a second
batch size proves the batch was not either. A file that disagrees by more than ``atol`` is not
written.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import warnings
from collections.abc import Iterator

import numpy as np
import torch

from distillsr.errors import DistillsrError
from distillsr.inference.export.graph import INPUT_NAME, OUTPUT_NAME
from distillsr.inference.onnx_backend import first_line, require_module
from distillsr.models.sr_model import SRModel

DEFAULT_ATOL = 1e-4

Size = tuple[int, int, int]  # (batch, height, width) of one verification run


def verification_tensor(image: np.ndarray, channels: int) -> torch.Tensor:
    """The verification image as a ``(1, C, H, W)`` tensor, by the toolkit's one conversion.

    Grey is replicated and alpha dropped as everywhere else; the error says it is the
    verification image that does not fit, since the model is not the problem.
    """
    from distillsr.imaging.tensors import image_to_tensor

    try:
        return image_to_tensor(image, channels)
    except DistillsrError as error:
        raise DistillsrError(f"the verification image does not fit this model: {error}") from None


def second_size(height: int, width: int, min_size: int) -> tuple[int, int] | None:
    """The smaller crop's ``(height, width)``: at least ``min_size`` and differing from the whole.

    ``None`` when the image is too small to hold two such sizes.
    """
    h2 = max(min_size, height - max(1, height // 4))
    w2 = max(min_size, width - max(1, width // 3))
    if min(height, width) < min_size or (h2, w2) == (height, width):
        return None
    return h2, w2


def too_small(what: str, height: int, width: int, min_size: int) -> DistillsrError:
    """The one wording for an image that cannot give two verification sizes."""
    return DistillsrError(
        f"{what} ({height}x{width}) is too small to test two sizes; give one larger than {min_size}x{min_size} pixels"
    )


def verification_batches(image: torch.Tensor, min_size: int) -> list[torch.Tensor]:
    """The whole image (batch 1), then two smaller crops of another shape (batch 2).

    Two spatial sizes prove height and width are dynamic; the second batch size proves the batch
    is, and the per-sample ops (DDistill-SR's dynamic branch) keep samples apart.
    """
    _, _, height, width = image.shape
    smaller = second_size(height, width, min_size)
    if smaller is None:
        raise too_small("the verification image", height, width, min_size)
    h2, w2 = smaller
    top_left = image[..., :h2, :w2]
    bottom_right = image[..., height - h2 :, width - w2 :].flip(-1)
    return [image, torch.cat([top_left, bottom_right])]


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Silence Python warnings from model code (e.g. empty Linears in tiny test models)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def pytorch_outputs(model: SRModel, batches: list[torch.Tensor]) -> list[np.ndarray]:
    """PyTorch outputs of the model as given, on a float32 CPU copy in eval mode.

    A copy keeps the caller's device and training flag; the CPU keeps TF32 and other GPU
    shortcuts from counting as export error.
    """
    network = copy.deepcopy(model.network).to("cpu", torch.float32).eval()
    reference = dataclasses.replace(model, network=network)
    with torch.inference_mode(), quiet():
        return [reference(batch).numpy() for batch in batches]


def onnxruntime_outputs(data: bytes, batches: list[torch.Tensor], name: str) -> list[np.ndarray]:
    """The serialized graph's outputs on the CPU provider, the one every onnxruntime build has."""
    ort = require_module("onnxruntime", "verifying an ONNX export")
    options = ort.SessionOptions()
    options.log_severity_level = 3
    try:
        session = ort.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
        return [session.run([OUTPUT_NAME], {INPUT_NAME: batch.numpy()})[0] for batch in batches]
    except Exception as error:  # onnxruntime's pybind exceptions
        shapes = ", ".join("x".join(map(str, batch.shape)) for batch in batches)
        raise DistillsrError(f"{name}: onnxruntime cannot run the exported graph on {shapes}: {first_line(error)}") from None


def verify(model: SRModel, data: bytes, batches: list[torch.Tensor], atol: float) -> tuple[tuple[Size, ...], tuple[float, ...]]:
    """Compare onnxruntime with PyTorch on ``batches``; an error names every measured difference."""
    expected = pytorch_outputs(model, batches)
    actual = onnxruntime_outputs(data, batches, model.name)
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
