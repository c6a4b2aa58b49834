"""What an exported ``.onnx`` file says about itself (``metadata_props``, keys ``distillsr.*``).

:class:`~distillsr.inference.onnx_backend.OnnxModel` rebuilds the model contract (scale,
channels, minimum size) from it, and a user without distillsr can read what the graph is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from distillsr.errors import DistillsrError
from distillsr.inference.onnx_backend import FORMAT_NAME, FORMAT_VERSION, encode_metadata, first_line, require_module
from distillsr.models.sr_model import SRModel


def export_metadata(model: SRModel, opset: int) -> dict[str, Any]:
    """What a user of the file needs to know, without distillsr's code (values before encoding)."""
    from distillsr.nn.reparam import is_deployed
    from distillsr.version import package_version

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
        "distillsr_version": package_version(),
        "opset": opset,
    }


def with_metadata(data: bytes, metadata: dict[str, Any]) -> tuple[bytes, int]:
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
