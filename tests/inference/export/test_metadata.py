"""The metadata an exported file carries, and the count of values it stores."""

from __future__ import annotations

import pytest

ort = pytest.importorskip("onnxruntime", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
onnx = pytest.importorskip("onnx", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')

from distillsr.inference.onnx_backend import OnnxModel  # noqa: E402


def test_metadata_round_trips(exported_ddistill):
    _, report = exported_ddistill
    props = {p.key: p.value for p in onnx.load(str(report.path)).metadata_props}
    assert all(isinstance(v, str) for v in props.values())
    assert props["distillsr.model"] == "ddistill-sr" and props["distillsr.form"] == "deploy"
    loaded = OnnxModel.load(report.path, threads=1)
    assert (loaded.name, loaded.scale, loaded.in_channels, loaded.min_size) == ("ddistill-sr", 2, 3, 15)
    assert loaded.input_range == 1.0 and loaded.metadata["network_input_range"] == 1.0
    assert getattr(loaded, "network", None) is None
    from distillsr import __version__

    meta = loaded.metadata
    assert meta["distillsr_version"] == __version__ and meta["opset"] == 17
    assert meta["source_form"] == "train" and meta["provenance"] == {"source": "test", "seed": 0}
    assert meta["kwargs"]["fusion_rank"] == 4


def test_stored_values_match_the_file(exported_ddistill):
    from distillsr.inference.export import stored_values

    _, report = exported_ddistill
    proto = onnx.load(str(report.path))
    assert stored_values(proto) == report.stored_values > 0
    assert report.file_bytes == report.path.stat().st_size
