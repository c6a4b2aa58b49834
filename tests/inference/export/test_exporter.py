"""export_onnx end to end: cheap refusals first, the report, write failures, the missing extra.

What the ONNX backend makes of the files (corrupt files, foreign graphs, the upscaler running
one) is tested in tests/inference/test_onnx_backend.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
onnx = pytest.importorskip("onnx", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')

from support import require_shared

from distillsr.errors import DistillsrError  # noqa: E402
from distillsr.inference.export import export_onnx, exporter, verification_image  # noqa: E402


def test_image_problems_are_refused_before_tracing(small_model, photo, monkeypatch, tmp_path):
    def no_tracing(*args, **kwargs):
        raise AssertionError("traced before the verification image was checked")

    monkeypatch.setattr(exporter, "trace_to_onnx", no_tracing)
    with pytest.raises(DistillsrError, match="too small to test two sizes"):
        export_onnx(small_model("dipnet"), tmp_path / "m.onnx", verify_image=photo[:10, :10])
    with pytest.raises(DistillsrError, match="does not fit this model"):
        export_onnx(small_model("dipnet"), tmp_path / "m.onnx", verify_image=np.zeros((20, 20, 5), np.uint8))


def test_a_real_photo_given_by_the_caller_is_named_in_the_report(small_model, tolerance, tmp_path):
    from distillsr.imaging.read import read_image

    path = require_shared("data", "Set5", "HR", "baby.png")
    model = small_model("imdn")  # contrast pooling: statistics-dependent
    image, source = verification_image(3, 48, image=read_image(path), name=str(path), min_size=model.min_size)
    report = export_onnx(model, tmp_path / "imdn.onnx", verify_image=image, image_source=source)
    assert report.image_source == f"48x48 centre crop of {path}"
    assert report.sizes[0] == (1, 48, 48) and max(report.max_abs_diff) <= tolerance
    unverified = export_onnx(model, tmp_path / "plain.onnx", image_source="ignored without an image")
    assert not unverified.verified and unverified.image_source is None


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


def test_importing_does_not_import_onnx():
    code = (
        "import sys, distillsr.cli, distillsr.inference.export, distillsr.inference.onnx_backend;"
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'onnxscript', 'skimage') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
