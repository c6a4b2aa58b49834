"""Run an exported ONNX model with onnxruntime behind the same contract as :class:`SRModel`.

:class:`OnnxModel` is a drop-in backend for :class:`~distillsr.inference.upscaler.Upscaler`: it has
``name``, ``scale``, ``in_channels`` and ``min_size`` and is called on ``(N, C, H, W)`` float
tensors in [0, 1]. Graphs written by :func:`distillsr.inference.export.export_onnx` take and
return [0, 1] images whatever range the network was trained on, so ``input_range`` is always 1.0
here; the network's own range is kept in :attr:`OnnxModel.metadata` for reference.

It deliberately has no ``network`` attribute: an ONNX graph cannot be given whole-image
statistics, so the upscaler runs it in a single tiled pass where each tile sees only itself (the
pooling of IMDN and DDistill-SR, ESA's mask interpolation). Use large tiles, or none, where the
result must equal the untiled one.

``onnxruntime`` is an optional dependency (``pip install "distillsr[onnx]"``); it is imported
when a model is loaded, never when this module is imported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from distillsr.errors import DistillsrError
from distillsr.models.sr_model import padded_to_minimum

INSTALL_HINT = 'pip install "distillsr[onnx]"'
METADATA_PREFIX = "distillsr."
FORMAT_NAME = "distillsr-onnx"
FORMAT_VERSION = 1
DEFAULT_PROVIDERS = ("CPUExecutionProvider",)
# Keys whose values are JSON-encoded (everything that is not naturally a string).
JSON_KEYS = frozenset(
    {"scale", "network_input_range", "in_channels", "min_size", "opset", "format_version", "width", "kwargs", "provenance"}
)
# onnxruntime words allocation failures in several ways; the upscaler retries smaller tiles on MemoryError.
_ALLOCATION_FAILURES = ("failed to allocate", "bad_alloc", "out of memory")


def require_module(name: str, purpose: str) -> Any:
    """Import an optional dependency, or explain how to install it.

    A bare ``ModuleNotFoundError`` would not tell users that the extra exists.
    """
    import importlib

    try:
        return importlib.import_module(name)
    except ImportError as error:
        raise DistillsrError(f"{purpose} needs the '{name}' package ({error}); install it with: {INSTALL_HINT}") from None


def encode_metadata(values: dict[str, Any]) -> dict[str, str]:
    """``metadata_props`` entries: prefixed keys, strings as is and everything else as JSON.

    ONNX metadata values must be strings; JSON keeps numbers and nested provenance readable by
    any tool, not only distillsr.
    """
    encoded = {}
    for key, value in values.items():
        if value is None:
            continue
        text = value if isinstance(value, str) and key not in JSON_KEYS else json.dumps(value, sort_keys=True, default=str)
        encoded[METADATA_PREFIX + key] = text
    return encoded


def decode_metadata(props: dict[str, str], source: str) -> dict[str, Any]:
    """The distillsr entries of ``props`` without their prefix, JSON values decoded."""
    decoded = {}
    for key, text in props.items():
        if not key.startswith(METADATA_PREFIX):
            continue
        name = key[len(METADATA_PREFIX) :]
        if name in JSON_KEYS:
            try:
                decoded[name] = json.loads(text)
            except json.JSONDecodeError:
                raise DistillsrError(f"{source}: metadata entry {key!r} is not valid JSON: {text[:60]!r}") from None
        else:
            decoded[name] = text
    return decoded


def first_line(error: BaseException) -> str:
    """An exception as one printable line (onnxruntime and the exporter write long multi-line messages)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class OnnxModel:
    """An ONNX super-resolution graph in an onnxruntime session, called like an :class:`SRModel`."""

    input_range = 1.0  # the exported graph takes [0, 1] images; the network's range is baked in

    def __init__(
        self,
        session: Any,
        *,
        name: str,
        scale: int,
        in_channels: int | None,
        min_size: int = 1,
        metadata: dict[str, Any] | None = None,
        path: Path | None = None,
    ) -> None:
        self.session = session
        self.name = name
        self.scale = scale
        self.in_channels = in_channels
        self.min_size = min_size
        self.metadata = metadata or {}
        self.path = path
        self._input_name = session.get_inputs()[0].name
        self._output_name = session.get_outputs()[0].name

    # --- loading -------------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        *,
        providers: Sequence[str] | None = None,
        threads: int | None = None,
        scale: int | None = None,
    ) -> OnnxModel:
        """Open ``path`` in onnxruntime and read distillsr's metadata back.

        A graph exported by another tool has no metadata; it still runs when ``scale`` is given
        (channels are read from the graph's input shape), because many published SR models ship
        as plain ONNX files. With metadata, a ``scale`` that disagrees is an error.
        """
        ort = require_module("onnxruntime", "running an ONNX model")
        source = Path(path)
        if not source.is_file():
            raise DistillsrError(f"ONNX model {source} not found" if not source.exists() else f"{source} is not a file")
        session = _open_session(ort, source, providers, threads)
        _check_image_signature(session, source)
        props = dict(session.get_modelmeta().custom_metadata_map)
        metadata = decode_metadata(props, str(source))
        if metadata.get("format") == FORMAT_NAME:
            return cls._from_metadata(session, source, metadata, scale)
        return cls._foreign(session, source, scale)

    @classmethod
    def _from_metadata(cls, session: Any, source: Path, metadata: dict[str, Any], scale: int | None) -> OnnxModel:
        version = metadata.get("format_version", 0)
        if not isinstance(version, int) or version > FORMAT_VERSION:
            raise DistillsrError(f"{source}: written by a newer distillsr (ONNX format version {version}); upgrade distillsr")
        missing = sorted({"model", "scale"} - set(metadata))
        if missing:
            raise DistillsrError(f"{source}: distillsr metadata lacks {', '.join(missing)}")
        stored = metadata["scale"]
        if not isinstance(stored, int) or stored < 1:
            raise DistillsrError(f"{source}: invalid scale {stored!r} in its metadata")
        if scale is not None and scale != stored:
            raise DistillsrError(f"{source} is a x{stored} {metadata['model']} model, but x{scale} was asked for")
        return cls(
            session,
            name=str(metadata["model"]),
            scale=stored,
            in_channels=metadata.get("in_channels", _graph_channels(session)),
            min_size=int(metadata.get("min_size", 1)),
            metadata=metadata,
            path=source,
        )

    @classmethod
    def _foreign(cls, session: Any, source: Path, scale: int | None) -> OnnxModel:
        if scale is None:
            raise DistillsrError(f"{source} has no distillsr metadata, so its scale is unknown; give the scale to run it")
        if not isinstance(scale, int) or isinstance(scale, bool) or scale < 1:
            raise DistillsrError(f"scale must be a positive integer, got {scale!r}")
        return cls(session, name=source.stem, scale=scale, in_channels=_graph_channels(session), path=source)

    # --- running -------------------------------------------------------------------------------

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Upscale ``(N, C, H, W)`` in [0, 1]; computed in float32 on the CPU side of onnxruntime.

        The result comes back on ``x``'s device so the caller's pipeline does not change.
        """
        self._check_input(x)
        return padded_to_minimum(self._run, x, self.min_size, self.scale)  # the SRModel contract

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        array = x.detach().to("cpu", torch.float32).contiguous().numpy()
        try:
            out = self.session.run([self._output_name], {self._input_name: array})[0]
        except Exception as error:  # onnxruntime raises its own pybind exception types
            message = first_line(error)
            if any(marker in message.lower() for marker in _ALLOCATION_FAILURES):
                raise MemoryError(f"{self.name}: onnxruntime ran out of memory on a {tuple(x.shape)} input") from None
            raise DistillsrError(f"{self.name}: onnxruntime failed on a {tuple(x.shape)} input: {message}") from None
        self._check_output(x, out)
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32)).to(x.device)

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor) or x.ndim != 4:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise DistillsrError(f"{self.name} expects an (N, C, H, W) tensor, got {shape}")
        if self.in_channels is not None and x.shape[1] != self.in_channels:
            raise DistillsrError(f"{self.name} takes {self.in_channels} channels, got {x.shape[1]}")
        if min(x.shape[-2:]) < 1:
            raise DistillsrError(f"{self.name} got an empty image of {tuple(x.shape[-2:])} pixels")

    def _check_output(self, x: torch.Tensor, out: np.ndarray) -> None:
        """A wrong scale (e.g. one guessed for a foreign file) must not pass silently."""
        n, _, h, w = x.shape
        if out.ndim != 4 or out.shape[0] != n or out.shape[2:] != (h * self.scale, w * self.scale):
            raise DistillsrError(
                f"{self.name} returned shape {tuple(out.shape)} for a {tuple(x.shape)} input, "
                f"not an x{self.scale} upscale; is the scale right?"
            )

    def __repr__(self) -> str:
        where = f", path={str(self.path)!r}" if self.path is not None else ""
        return f"OnnxModel(name={self.name!r}, scale={self.scale}, in_channels={self.in_channels}{where})"


def _open_session(ort: Any, source: Path, providers: Sequence[str] | None, threads: int | None) -> Any:
    """An InferenceSession, with one-line errors for unknown providers and unreadable files."""
    chosen = list(providers) if providers else list(DEFAULT_PROVIDERS)
    available = ort.get_available_providers()
    unknown = [p for p in chosen if p not in available]
    if unknown:
        raise DistillsrError(f"onnxruntime provider(s) {', '.join(unknown)} not available; available: {', '.join(available)}")
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: ORT's warnings are about its own optimisations
    if threads is not None:
        if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
            raise DistillsrError(f"threads must be a positive integer, got {threads!r}")
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(source), sess_options=options, providers=chosen)
    except Exception as error:  # InvalidProtobuf, Fail, NoSuchFile ... all pybind types
        raise DistillsrError(f"{source} is not a readable ONNX model: {first_line(error)}") from None


def _check_image_signature(session: Any, source: Path) -> None:
    """One float input of rank 4 and a float output, or this is not an image-to-image model.

    The output's rank is checked only where the graph states it (foreign graphs may not); the
    output shape is checked on every call anyway.
    """
    inputs, output = session.get_inputs(), session.get_outputs()[0]
    if len(inputs) != 1:
        raise DistillsrError(f"{source}: expected one image input, the graph has {len(inputs)}")
    for kind, arg, ranks in (("input", inputs[0], (4,)), ("output", output, (0, 4))):
        rank = len(arg.shape) if arg.shape is not None else 0
        if rank not in ranks or arg.type != "tensor(float)":
            raise DistillsrError(
                f"{source}: its {kind} {arg.name!r} is {arg.type} of shape {arg.shape}, not an (N, C, H, W) float32 image"
            )


def _graph_channels(session: Any) -> int | None:
    """The input's channel count where the graph fixes it (None for a symbolic dimension)."""
    channels = session.get_inputs()[0].shape[1]
    return channels if isinstance(channels, int) and channels > 0 else None
