"""The traced graph: what is refused up front, the folded copy, [0, 1] baked in, the trace input."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

from distillsr.errors import DistillsrError
from distillsr.inference.export.graph import (
    TRACE_SIZE,
    ImageGraph,
    check_exportable,
    deployed_graph,
    trace_input,
)
from distillsr.models.sr_model import SRModel
from distillsr.models.zoo import build_model
from distillsr.nn.reparam import deploy, is_deployed

needs_onnx = pytest.mark.skipif(
    importlib.util.find_spec("onnx") is None or importlib.util.find_spec("onnxruntime") is None,
    reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"',
)


def _export_onnx():
    from distillsr.inference.export import export_onnx

    return export_onnx


# --- refused before any work ---------------------------------------------------------------------


def test_bicubic_is_refused_with_the_reason(tmp_path):
    with pytest.raises(DistillsrError, match="bicubic cannot be exported.*NumPy"):
        _export_onnx()(build_model("bicubic", 2), tmp_path / "b.onnx")
    assert not (tmp_path / "b.onnx").exists()


def test_bad_opset_tolerance_and_model_are_refused(small_model, tmp_path):
    model = small_model("dipnet")
    with pytest.raises(DistillsrError, match="opset must be an integer from 11 to 20"):
        _export_onnx()(model, tmp_path / "m.onnx", opset=9)
    for opset in (21, True, 17.0):
        with pytest.raises(DistillsrError, match="opset must be an integer from 11 to 20"):
            check_exportable(model, opset, 1e-4)
    for atol in (-1.0, float("inf"), float("nan"), "1e-4"):
        with pytest.raises(DistillsrError, match="tolerance must be a non-negative number"):
            check_exportable(model, 17, atol)
    with pytest.raises(DistillsrError, match="takes an SRModel.*not Sequential"):
        check_exportable(nn.Sequential(), 17, 1e-4)
    check_exportable(model, 17, 0)  # a zero tolerance is allowed
    assert not (tmp_path / "m.onnx").exists()


# --- the graph ------------------------------------------------------------------------------------


class _Double(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([x, x], dim=-1) + 1.0  # the +1 makes the input range matter


def test_image_graph_bakes_in_the_input_range():
    x = torch.rand(1, 3, 5, 6)
    for input_range in (1.0, 255.0):
        model = SRModel(network=_Double(), name="double", scale=1, input_range=input_range)
        graph = ImageGraph(_Double(), input_range)
        assert torch.equal(graph(x), model(x)), input_range
    assert not torch.equal(ImageGraph(_Double(), 255.0)(x), ImageGraph(_Double(), 1.0)(x))


def test_deployed_graph_is_a_folded_copy(small_model):
    model = small_model("dipnet-student")
    graph = deployed_graph(model)
    assert is_deployed(graph.network) and not is_deployed(model.network), "the caller's model is left as it was"
    assert not graph.training
    assert all(p.dtype == torch.float32 and p.device.type == "cpu" for p in graph.parameters())
    x = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        assert torch.allclose(graph(x), model(x), atol=1e-5)


def test_trace_input_is_deterministic_and_not_square(small_model):
    model = small_model("dipnet")
    sample = trace_input(model)
    assert torch.equal(sample, trace_input(model))
    _, channels, height, width = sample.shape
    assert channels == 3 and height >= max(TRACE_SIZE, model.min_size) and width != height


# --- what the deploy form means in the file ------------------------------------------------------


@needs_onnx
def test_train_form_is_exported_folded(exported_ddistill, small_table, tolerance):
    import onnx

    model, report = exported_ddistill
    assert report.source_form == "train" and not is_deployed(model.network), "the caller's model is left as it was"
    assert max(report.max_abs_diff) <= tolerance, "compared with the train-form PyTorch model"
    deployed = deploy(build_model("ddistill-sr", 2, **small_table["ddistill-sr"]).network)
    train_params = sum(p.numel() for p in model.network.parameters())
    deploy_params = sum(p.numel() for p in deployed.parameters())
    assert report.stored_values < 0.7 * train_params
    assert abs(report.stored_values - deploy_params) < 0.02 * deploy_params
    # the only BatchNorms left are the dynamic branches' BatchNorm1d (part of the deploy form too)
    nodes = [node.op_type for node in onnx.load(str(report.path)).graph.node]
    batchnorm1d = sum(isinstance(m, nn.BatchNorm1d) for m in deployed.modules())
    assert nodes.count("BatchNormalization") == batchnorm1d
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.network.modules()) > 10


@needs_onnx
def test_rrrb_student_folds_into_plain_convs(small_model, photo, tolerance, tmp_path):
    import onnx

    model = small_model("dipnet-student")
    report = _export_onnx()(model, tmp_path / "student.onnx", verify_image=photo)
    assert max(report.max_abs_diff) <= tolerance
    train_params = sum(p.numel() for p in model.network.parameters())
    assert report.stored_values < 0.6 * train_params
    kernels = [init for init in onnx.load(str(report.path)).graph.initializer if len(init.dims) == 4]
    assert all(init.dims[0] <= 16 * 4 for init in kernels), "no 32-wide RRRB expansion left"


@needs_onnx
def test_slimmable_model_exports_at_its_current_width(small_model, photo, tolerance, tmp_path):
    from distillsr.inference.onnx_backend import OnnxModel

    model = small_model("edsr-baseline")
    full = _export_onnx()(model, tmp_path / "full.onnx")
    model.set_width(0.5)
    half = _export_onnx()(model, tmp_path / "half.onnx", verify_image=photo)
    assert half.width == 0.5 and full.width == 1.0
    assert max(half.max_abs_diff) <= tolerance
    # only the active weight slices are stored, not the full tensors plus slicing ops
    assert half.stored_values < 0.5 * full.stored_values
    assert OnnxModel.load(half.path).metadata["width"] == 0.5
