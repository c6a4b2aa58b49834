"""Tracing to ONNX: dynamic axes, other opsets, failures named in one line, the IR dump kept off the console."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

ort = pytest.importorskip("onnxruntime", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
onnx = pytest.importorskip("onnx", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')

from distillsr.errors import DistillsrError  # noqa: E402
from distillsr.inference.export import export_onnx  # noqa: E402
from distillsr.inference.export.tracing import explain, failed_op  # noqa: E402
from distillsr.inference.onnx_backend import OnnxModel  # noqa: E402
from distillsr.models.sr_model import SRModel  # noqa: E402


class _Spectral(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(torch.fft.fft2(x).real, scale_factor=2.0)


def test_an_unexportable_op_is_named_and_the_ir_dump_kept_off_the_console(tmp_path, capfd):
    model = SRModel(network=_Spectral(), name="spectral", scale=2)
    with pytest.raises(DistillsrError, match=r"spectral cannot be exported to ONNX: op aten::fft_fft2"):
        export_onnx(model, tmp_path / "s.onnx")
    captured = capfd.readouterr()
    assert "graph(" not in captured.out + captured.err and "%" not in captured.err, "no IR dump on the console"
    assert not (tmp_path / "s.onnx").exists()


def test_exporter_errors_are_explained_in_one_line():
    unsupported = RuntimeError(
        "Exporting the operator 'aten::grid_sampler' to ONNX opset version 13 is not supported. "
        "Support for this operator was added in version 16, try exporting with this version.\nmore"
    )
    assert failed_op(unsupported) == "aten::grid_sampler"
    assert explain(unsupported, 13) == "op aten::grid_sampler is not exportable at opset 13; it needs opset 16 or later"
    assert failed_op(ValueError("shapes differ")) is None
    assert explain(ValueError("shapes differ\nsecond line"), 17) == "ValueError: shapes differ"


def test_another_opset(small_model, photo, tolerance, tmp_path):
    report = export_onnx(small_model("e-rfdn"), tmp_path / "m.onnx", opset=11, verify_image=photo)
    assert report.opset == 11 and max(report.max_abs_diff) <= tolerance
    assert onnx.load(str(report.path)).opset_import[0].version == 11


def test_one_session_runs_any_batch_height_and_width(exported_ddistill, photo, crop_tensor, tolerance):
    model, report = exported_ddistill
    graph_input = onnx.load(str(report.path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in graph_input] == ["batch", 3, "height", "width"]
    onnx_model = OnnxModel.load(report.path)
    for batch in (crop_tensor(photo, 17, 23), torch.cat([crop_tensor(photo, 31, 16), crop_tensor(photo, 31, 16, 5, 9)])):
        with torch.no_grad():
            expected = model(batch)
        got = onnx_model(batch)
        assert got.shape == expected.shape
        assert float((got - expected).abs().max()) <= tolerance
