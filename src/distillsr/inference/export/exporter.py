"""The entry point: check, prepare the verification batches, trace, label, verify, then write.

Everything that can be refused cheaply (the model, the opset, the verification image) is refused
before the deploy copy and the trace are paid for, and nothing is written until verification
has passed, so a failed export leaves no file, not even a temporary one.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from distillsr.errors import DistillsrError
from distillsr.inference.export.graph import DEFAULT_OPSET, check_exportable, deployed_graph, trace_input
from distillsr.inference.export.metadata import export_metadata, with_metadata
from distillsr.inference.export.tracing import trace_to_onnx
from distillsr.inference.export.report import ExportReport
from distillsr.inference.export.verify import DEFAULT_ATOL, quiet, verification_batches, verification_tensor, verify
from distillsr.inference.onnx_backend import require_module
from distillsr.models.sr_model import SRModel


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

    With ``verify_image`` (an ``HxW`` or ``HxWxC`` image; uint8, uint16 or float in [0, 1]; grey
    is replicated and alpha dropped as by :func:`~distillsr.imaging.tensors.image_to_tensor`) the
    graph is checked against the PyTorch model with onnxruntime at two sizes before anything is
    written; ``image_source`` only labels it in the report. Without it the file is written
    unverified. :func:`~distillsr.inference.export.sample_image.verification_image` gives one
    when the caller has none.
    """
    start = time.perf_counter()
    opset = DEFAULT_OPSET if opset is None else opset
    check_exportable(model, opset, atol)
    batches = None
    if verify_image is not None:
        batches = verification_batches(verification_tensor(verify_image, model.in_channels or 3), model.min_size)
    require_module("onnx", "ONNX export")
    with quiet():
        graph = deployed_graph(model)
    data, tracer_warnings = trace_to_onnx(graph, trace_input(model), model, opset)
    metadata = export_metadata(model, opset)
    data, values = with_metadata(data, metadata)
    sizes: tuple[tuple[int, int, int], ...] = ()
    diffs: tuple[float, ...] = ()
    if batches is not None:
        sizes, diffs = verify(model, data, batches, atol)
    target = Path(path)
    write_onnx(target, data)
    return ExportReport(
        path=target, model=model.name, scale=model.scale, opset=opset, source_form=metadata["source_form"],
        width=metadata["width"], stored_values=values, file_bytes=len(data),
        seconds=time.perf_counter() - start, sizes=sizes, max_abs_diff=diffs, atol=atol,
        image_source=image_source if batches is not None else None, warnings=tracer_warnings,
    )


def write_onnx(target: Path, data: bytes) -> None:
    """Write atomically, so a failed or interrupted export never leaves half a model behind."""
    from distillsr.atomic import atomic_write_bytes

    try:
        atomic_write_bytes(target, data)
    except OSError as error:
        raise DistillsrError(f"cannot write {target}: {error.strerror or error}") from None
