"""The file: tracing with dynamic axes, failures named in one line, metadata, the atomic write."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

ort = pytest.importorskip("onnxruntime", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
onnx = pytest.importorskip("onnx", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')

from distillsr.errors import DistillsrError  # noqa: E402
from distillsr.inference.export import export_onnx  # noqa: E402
from distillsr.inference.export.onnx_file import explain, failed_op  # noqa: E402
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


def test_a_write_failure_names_the_path_and_leaves_nothing(small_model, tmp_path):
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("a file where a folder should be")
    target = blocker / "m.onnx"
    with pytest.raises(DistillsrError) as raised:
        export_onnx(small_model("dipnet"), target)
    message = str(raised.value)
    assert message.startswith(f"cannot write {target}") and "\n" not in message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not_a_folder"]


def test_missing_extra_gives_the_install_hint(small_model, monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(DistillsrError, match=r'pip install "distillsr\[onnx\]"'):
        export_onnx(small_model("dipnet"), tmp_path / "m.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(DistillsrError, match=r'pip install "distillsr\[onnx\]"'):
        OnnxModel.load(tmp_path / "m.onnx")


def test_importing_does_not_import_onnx():
    code = (
        "import sys, distillsr.cli, distillsr.inference.export, distillsr.inference.onnx_backend;"
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'onnxscript', 'skimage') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
