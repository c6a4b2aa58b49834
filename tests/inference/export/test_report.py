"""The export report: verified means measured, and the worst difference is the largest one."""

from __future__ import annotations

from pathlib import Path

from distillsr.inference.export import DEFAULT_ATOL, ExportReport


def _report(**changes) -> ExportReport:
    fields = dict(path=Path("m.onnx"), model="dipnet", scale=2, opset=17, source_form="train", width=None,
                  stored_values=10, file_bytes=100, seconds=0.5)
    return ExportReport(**{**fields, **changes})


def test_an_unverified_report():
    report = _report()
    assert not report.verified and report.worst_diff is None
    assert report.atol == DEFAULT_ATOL == 1e-4 and report.image_source is None and report.warnings == ()


def test_a_verified_report():
    report = _report(sizes=((1, 40, 40), (2, 30, 27)), max_abs_diff=(2e-6, 5e-6), image_source="a photo")
    assert report.verified and report.worst_diff == 5e-6
