"""Export a model to ONNX: the folded deploy form, [0, 1] in and out, any size, verified.

What an exported file promises, and the module that keeps each promise:

* **Deploy form, [0, 1] images** (:mod:`.graph`): train-time branches are folded away on a copy
  (the caller's model is untouched) and the network's input range is baked into the graph.
* **Dynamic batch, height and width; self-describing** (:mod:`.tracing`, :mod:`.metadata`): traced with symbolic
  axes, labelled with ``distillsr.*`` metadata that
  :class:`~distillsr.inference.onnx_backend.OnnxModel` reads back, written atomically.
* **Verified** (:mod:`.verify`): onnxruntime against the PyTorch model as given, at two sizes, on
  the user's image or a synthetic pattern (:mod:`.sample_image`); a file that disagrees by more
  than ``atol`` is not written.

:func:`export_onnx` (:mod:`.exporter`) runs these steps and returns an :class:`ExportReport`.
"""

from distillsr.inference.export.exporter import export_onnx
from distillsr.inference.export.graph import (
    DEFAULT_OPSET,
    INPUT_NAME,
    MAX_OPSET,
    MIN_OPSET,
    NOT_EXPORTABLE,
    OUTPUT_NAME,
    ImageGraph,
    deployed_graph,
)
from distillsr.inference.export.metadata import export_metadata, stored_values
from distillsr.inference.export.report import ExportReport
from distillsr.inference.export.sample_image import synthetic_image, verification_image
from distillsr.inference.export.verify import DEFAULT_ATOL, verification_batches, verify

__all__ = [
    "DEFAULT_ATOL",
    "DEFAULT_OPSET",
    "INPUT_NAME",
    "MAX_OPSET",
    "MIN_OPSET",
    "NOT_EXPORTABLE",
    "OUTPUT_NAME",
    "ExportReport",
    "ImageGraph",
    "deployed_graph",
    "export_metadata",
    "export_onnx",
    "stored_values",
    "synthetic_image",
    "verification_batches",
    "verification_image",
    "verify",
]
