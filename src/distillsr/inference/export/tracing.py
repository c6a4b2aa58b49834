"""Tracing a model's deploy graph into ONNX bytes, with the exporter's console noise kept away.

Exporter choice: the TorchScript exporter (``dynamo=False``). Both exporters handle every zoo
model with dynamic shapes in torch 2.13, but the TorchScript one is 3-5x faster, needs no
``onnxscript``, and constant-folds the sliced weights of a narrowed CSD model (EDSR at width 0.25:
11 MB instead of the full 173 MB of weights the dynamo exporter keeps).

Dynamic batch, height and width: every zoo model computes its shapes from the input (ESA
interpolates to ``x.shape``, the dynamic branch reshapes by ``x.shape[0]``), which the tracer
records as graph ops. The tracer's warnings are kept, since each may mean a frozen value; its
deprecation chatter and its C++ IR dump on failure are silenced (the one-line error says what failed).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import torch

from distillsr.errors import DistillsrError
from distillsr.inference.export.graph import INPUT_NAME, OUTPUT_NAME, ImageGraph
from distillsr.inference.onnx_backend import first_line
from distillsr.models.sr_model import SRModel


def failed_op(error: BaseException) -> str | None:
    """The operator an exporter error is about, when its message names one."""
    match = re.search(r"'((?:aten|prim|onnx|quantized)::\w+)'", str(error)) or re.search(
        r"(?:operator|ONNX export of operator) (\w+)", str(error)
    )
    return match.group(1) if match else None


def explain(error: BaseException, opset: int) -> str:
    """The failing op and, when the exporter knows one, the opset that would support it."""
    op = failed_op(error)
    if op is None:
        return f"{type(error).__name__}: {first_line(error)}"
    newer = re.search(r"added in version (\d+)", str(error))
    hint = f"; it needs opset {newer.group(1)} or later" if newer else ""
    return f"op {op} is not exportable at opset {opset}{hint}"


def trace_to_onnx(graph: ImageGraph, sample: torch.Tensor, model: SRModel, opset: int) -> tuple[bytes, tuple[str, ...]]:
    """Serialized ONNX bytes, and the tracer's warnings (each may mean a frozen shape).

    The exporter's own deprecation chatter and its IR dump on failure are kept off the console.
    """
    buffer = io.BytesIO()
    with warnings.catch_warnings(record=True) as caught, console_silenced():
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
            raise DistillsrError(f"{model.name} cannot be exported to ONNX: {explain(error, opset)}") from None
    tracer = tuple(sorted({_where(w) for w in caught if issubclass(w.category, torch.jit.TracerWarning)}))
    return buffer.getvalue(), tracer


def _flush_c_stdio() -> None:
    """Flush C-level stdio buffers (C++ ``std::cout`` writes through them), where libc is reachable."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).fflush(None)


@contextlib.contextmanager
def console_silenced() -> Iterator[None]:
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
