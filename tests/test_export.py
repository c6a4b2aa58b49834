"""ONNX export: every family exports folded, takes [0, 1] at any size, and matches PyTorch on a real image.

Skipped as a whole without the ``onnx`` extra (``pip install "distillsr[onnx]"``), so the suite
passes without it. Small hyperparameters keep it fast; the official checkpoints (where present
under ``../shared/weights/official``) check the real models.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

ort = pytest.importorskip("onnxruntime", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
onnx = pytest.importorskip("onnx", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')

from support import official_weights  # noqa: E402

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint  # noqa: E402
from distillsr.cli import main  # noqa: E402
from distillsr.errors import DistillsrError  # noqa: E402
from distillsr.inference.export import ExportReport, export_onnx, verification_image  # noqa: E402
from distillsr.inference.onnx_backend import OnnxModel  # noqa: E402
from distillsr.models.sr_model import SRModel  # noqa: E402
from distillsr.models.zoo import ZOO, build_model, load_model  # noqa: E402
from distillsr.nn.reparam import deploy, is_deployed  # noqa: E402

TOLERANCE = 1e-4

# Small versions of every zoo model but bicubic (which is refused, see below).
SMALL = {
    "e-rfdn": dict(channels=16, num_blocks=1),
    "rfdn": dict(channels=16, num_blocks=1),
    "rfdn-l": dict(channels=16, num_blocks=1),
    "imdn": dict(channels=16, num_blocks=1),
    "ddistill-sr": dict(channels=16, num_blocks=1, fusion_rank=4),
    "dipnet": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "edipv1": dict(channels=16, mid_channels=12, esa_channels=8, num_blocks=1),
    "dipnet-student": dict(channels=16, mid_channels=16, esa_channels=8, num_blocks=1, expansion=32),
    "edsr-baseline": dict(num_blocks=1, channels=16),
    "edsr": dict(num_blocks=1, channels=16),
    "rcan": dict(num_groups=1, num_blocks=1, channels=16, reduction=4),
    "carn": dict(channels=16),
}

OFFICIAL = [
    ("rfdn", "RFDN_AIM.pth", "e-rfdn"),
    ("ddistill_sr", "DDistill-SRx4_inference.pth", "ddistill-sr"),
    ("dipnet", "DIPNet.pth", "dipnet"),
]


def small_model(name: str, scale: int = 2) -> SRModel:
    torch.manual_seed(0)
    return build_model(name, scale, **SMALL[name])


def perturb_batchnorms(model: SRModel) -> SRModel:
    """Non-trivial running statistics, so folding them is actually exercised."""
    generator = torch.Generator().manual_seed(1)
    for module in model.network.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            module.running_mean.copy_(0.1 * torch.randn(module.running_mean.shape, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(module.running_var.shape, generator=generator))
    return model


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    """A 40x40 crop of a real photo (Set5 baby, else scikit-image's astronaut)."""
    image, source = verification_image(3, 40)
    if "synthetic" in source:
        pytest.skip("no real photo available (neither ../shared nor scikit-image)")
    return image


def photo_tensor(photo: np.ndarray, height: int, width: int, top: int = 0, left: int = 0) -> torch.Tensor:
    crop = photo[top : top + height, left : left + width].astype(np.float32) / 255
    return torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1)))[None]


@pytest.fixture(scope="module")
def exported_ddistill(tmp_path_factory, photo) -> tuple[SRModel, ExportReport]:
    """A train-form DDistill-SR (dynamic branch, DBB with BatchNorms), exported once for several tests."""
    model = perturb_batchnorms(small_model("ddistill-sr"))
    model.metadata["provenance"] = {"source": "test", "seed": 0}
    path = tmp_path_factory.mktemp("ddistill") / "ddistill.onnx"
    return model, export_onnx(model, path, verify_image=photo, image_source="test photo")


# --- every family ---------------------------------------------------------------------------------


def test_the_small_table_covers_the_zoo():
    assert set(SMALL) == set(ZOO) - {"bicubic"}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_family_exports_and_matches_pytorch(name, photo, tmp_path):
    model = perturb_batchnorms(small_model(name))
    report = export_onnx(model, tmp_path / f"{name}.onnx", verify_image=photo[:32, :32])
    assert report.path.is_file() and report.file_bytes == report.path.stat().st_size
    assert report.verified and len(report.sizes) == 2
    assert len({size[1:] for size in report.sizes}) == 2, "two different spatial sizes"
    assert max(report.max_abs_diff) <= TOLERANCE, report.max_abs_diff
    assert report.opset == 17


def test_slimmable_model_exports_at_its_current_width(photo, tmp_path):
    model = small_model("edsr-baseline")
    full = export_onnx(model, tmp_path / "full.onnx")
    model.set_width(0.5)
    half = export_onnx(model, tmp_path / "half.onnx", verify_image=photo)
    assert half.width == 0.5 and full.width == 1.0
    assert max(half.max_abs_diff) <= TOLERANCE
    # only the active weight slices are stored, not the full tensors plus slicing ops
    assert half.stored_values < 0.5 * full.stored_values
    assert OnnxModel.load(half.path).metadata["width"] == 0.5


def test_bicubic_is_refused_with_the_reason(tmp_path):
    with pytest.raises(DistillsrError, match="bicubic cannot be exported.*NumPy"):
        export_onnx(build_model("bicubic", 2), tmp_path / "b.onnx")
    assert not (tmp_path / "b.onnx").exists()


class _Spectral(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(torch.fft.fft2(x).real, scale_factor=2.0)


class _FrozenStatistic(nn.Module):
    """``.item()`` becomes a constant in the trace: right at the traced size only."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.interpolate(x, scale_factor=2.0) + 0.01 * x.sum().item()


def test_an_unexportable_op_is_named(tmp_path):
    model = SRModel(network=_Spectral(), name="spectral", scale=2)
    with pytest.raises(DistillsrError, match=r"spectral cannot be exported to ONNX: op aten::fft_fft2"):
        export_onnx(model, tmp_path / "s.onnx")


def test_a_graph_that_disagrees_is_not_written(photo, tmp_path):
    model = SRModel(network=_FrozenStatistic(), name="frozen", scale=2)
    target = tmp_path / "frozen.onnx"
    with pytest.raises(DistillsrError, match=r"frozen: ONNX output differs from PyTorch by .* at 1x40x40.*not written"):
        export_onnx(model, target, verify_image=photo)
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file


def test_bad_opset_and_bad_verification_image(tmp_path, photo):
    model = small_model("dipnet")
    with pytest.raises(DistillsrError, match="opset must be an integer from 11 to 20"):
        export_onnx(model, tmp_path / "m.onnx", opset=9)
    with pytest.raises(DistillsrError, match=r"HxWx3"):
        export_onnx(model, tmp_path / "m.onnx", verify_image=photo[..., 0])
    with pytest.raises(DistillsrError, match="too small to test two sizes"):
        export_onnx(model, tmp_path / "m.onnx", verify_image=photo[:15, :15])
    assert not (tmp_path / "m.onnx").exists()


def test_another_opset(photo, tmp_path):
    report = export_onnx(small_model("e-rfdn"), tmp_path / "m.onnx", opset=11, verify_image=photo)
    assert report.opset == 11 and max(report.max_abs_diff) <= TOLERANCE
    assert onnx.load(str(report.path)).opset_import[0].version == 11


# --- official checkpoints ---------------------------------------------------------------------------


@pytest.mark.parametrize("family, filename, name", OFFICIAL, ids=[o[2] for o in OFFICIAL])
def test_official_checkpoints_match_pytorch(family, filename, name, photo, tmp_path):
    model = load_model(None, None, str(official_weights(family, filename)))
    assert model.name == name
    report = export_onnx(model, tmp_path / f"{name}.onnx", verify_image=photo[:24, :24])
    assert max(report.max_abs_diff) <= TOLERANCE, report.max_abs_diff
    metadata = OnnxModel.load(report.path).metadata
    assert metadata["network_input_range"] == model.input_range == (255.0 if name == "e-rfdn" else 1.0)
    assert metadata["provenance"]["converted_from"] == filename
    # a plain onnxruntime user feeds [0, 1] and gets [0, 1], whatever range the network wants
    session = ort.InferenceSession(str(report.path), providers=["CPUExecutionProvider"])
    x = photo_tensor(photo, 16, 20, top=8, left=4)
    out = session.run(None, {"input": x.numpy()})[0]
    with torch.no_grad():
        expected = model(x).numpy()
    assert out.shape == (1, 3, 64, 80)
    assert np.abs(out - expected).max() <= TOLERANCE
    assert abs(float(out.mean()) - float(x.mean())) < 0.05


# --- dynamic shapes, folding, metadata -----------------------------------------------------------


def test_one_session_runs_any_batch_height_and_width(exported_ddistill, photo):
    model, report = exported_ddistill
    graph_input = onnx.load(str(report.path)).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in graph_input] == ["batch", 3, "height", "width"]
    onnx_model = OnnxModel.load(report.path)
    for batch in (photo_tensor(photo, 17, 23), torch.cat([photo_tensor(photo, 31, 16), photo_tensor(photo, 31, 16, 5, 9)])):
        with torch.no_grad():
            expected = model(batch)
        got = onnx_model(batch)
        assert got.shape == expected.shape
        assert float((got - expected).abs().max()) <= TOLERANCE


def test_train_form_is_exported_folded(exported_ddistill):
    model, report = exported_ddistill
    assert report.source_form == "train" and not is_deployed(model.network), "the caller's model is left as it was"
    assert max(report.max_abs_diff) <= TOLERANCE, "compared with the train-form PyTorch model"
    deployed = deploy(build_model("ddistill-sr", 2, **SMALL["ddistill-sr"]).network)
    train_params = sum(p.numel() for p in model.network.parameters())
    deploy_params = sum(p.numel() for p in deployed.parameters())
    assert report.stored_values < 0.7 * train_params
    assert abs(report.stored_values - deploy_params) < 0.02 * deploy_params
    # the only BatchNorms left are the dynamic branches' BatchNorm1d (part of the deploy form too)
    nodes = [node.op_type for node in onnx.load(str(report.path)).graph.node]
    batchnorm1d = sum(isinstance(m, nn.BatchNorm1d) for m in deployed.modules())
    assert nodes.count("BatchNormalization") == batchnorm1d
    assert sum(isinstance(m, nn.BatchNorm2d) for m in model.network.modules()) > 10


def test_rrrb_student_folds_into_plain_convs(photo, tmp_path):
    model = small_model("dipnet-student")
    report = export_onnx(model, tmp_path / "student.onnx", verify_image=photo)
    assert max(report.max_abs_diff) <= TOLERANCE
    train_params = sum(p.numel() for p in model.network.parameters())
    assert report.stored_values < 0.6 * train_params
    kernels = [init for init in onnx.load(str(report.path)).graph.initializer if len(init.dims) == 4]
    assert all(init.dims[0] <= 16 * 4 for init in kernels), "no 32-wide RRRB expansion left"


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


def test_the_upscaler_runs_the_onnx_backend(exported_ddistill, photo):
    from distillsr.inference.upscaler import Upscaler

    model, report = exported_ddistill
    image = photo[:24, :28]
    via_onnx = Upscaler(OnnxModel.load(report.path), device="cpu", tile=None).upscale_array(image)
    via_torch = Upscaler(model, device="cpu", tile=None).upscale_array(image)
    assert via_onnx.shape == (48, 56, 3) and via_onnx.dtype == np.uint8
    assert np.abs(via_onnx.astype(int) - via_torch.astype(int)).max() <= 1


# --- the ONNX backend's errors -----------------------------------------------------------------------


def _foreign_onnx(path) -> None:
    """A plain x2 SR graph written by another tool: no distillsr metadata."""
    net = nn.Sequential(nn.Conv2d(3, 12, 3, padding=1), nn.PixelShuffle(2)).eval()
    torch.onnx.export(
        net, (torch.rand(1, 3, 8, 8),), str(path), dynamo=False, input_names=["x"], output_names=["y"],
        dynamic_axes={"x": {0: "n", 2: "h", 3: "w"}, "y": {0: "n", 2: "h2", 3: "w2"}},
    )


def test_corrupt_missing_and_wrong_inputs(tmp_path, exported_ddistill):
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"\x08\x07not really a protobuf" * 10)
    with pytest.raises(DistillsrError, match="is not a readable ONNX model"):
        OnnxModel.load(corrupt)
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(exported_ddistill[1].path.read_bytes()[:5000])
    with pytest.raises(DistillsrError, match="is not a readable ONNX model"):
        OnnxModel.load(truncated)
    with pytest.raises(DistillsrError, match="not found"):
        OnnxModel.load(tmp_path / "absent.onnx")
    model = OnnxModel.load(exported_ddistill[1].path)
    with pytest.raises(DistillsrError, match="takes 3 channels, got 1"):
        model(torch.rand(1, 1, 20, 20))
    with pytest.raises(DistillsrError, match="at least 15x15"):
        model(torch.rand(1, 3, 10, 20))
    with pytest.raises(DistillsrError, match="is a x2 ddistill-sr model, but x4 was asked for"):
        OnnxModel.load(exported_ddistill[1].path, scale=4)
    with pytest.raises(DistillsrError, match="provider"):
        OnnxModel.load(exported_ddistill[1].path, providers=["NoSuchExecutionProvider"])


def test_a_foreign_graph_runs_when_given_its_scale(tmp_path):
    path = tmp_path / "foreign.onnx"
    _foreign_onnx(path)
    with pytest.raises(DistillsrError, match="no distillsr metadata.*give the scale"):
        OnnxModel.load(path)
    model = OnnxModel.load(path, scale=2)
    assert (model.name, model.in_channels, model.input_range) == ("foreign", 3, 1.0)
    assert model(torch.rand(2, 3, 9, 7)).shape == (2, 3, 18, 14)
    with pytest.raises(DistillsrError, match="not an x3 upscale"):
        OnnxModel.load(path, scale=3)(torch.rand(1, 3, 9, 7))


def test_missing_extra_gives_the_install_hint(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(DistillsrError, match=r'pip install "distillsr\[onnx\]"'):
        export_onnx(small_model("dipnet"), tmp_path / "m.onnx")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(DistillsrError, match=r'pip install "distillsr\[onnx\]"'):
        OnnxModel.load(tmp_path / "m.onnx")


def test_importing_does_not_import_onnx():
    code = (
        "import sys, distillsr.cli, distillsr.inference.export, distillsr.inference.onnx_backend;"
        "print(sorted(m for m in ('onnx', 'onnxruntime', 'onnxscript') if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_verification_image_falls_back_and_says_so(monkeypatch):
    from distillsr.inference import export

    monkeypatch.setattr(export, "_shared_candidates", list)
    if importlib.util.find_spec("skimage") is not None:
        image, source = verification_image(3, 48)
        assert image.shape == (48, 48, 3) and image.dtype == np.uint8 and "astronaut" in source
    monkeypatch.setitem(sys.modules, "skimage", None)
    image, source = verification_image(1, 48)
    assert image.shape == (48, 48, 1) and "synthetic" in source
    assert np.array_equal(image, verification_image(1, 48)[0]), "deterministic"
    assert image.std() > 20, "has structure to upscale"


# --- the command -------------------------------------------------------------------------------------


def _small_checkpoint(path, name: str) -> None:
    model = small_model(name)
    info = CheckpointInfo(
        model=name, scale=2, kwargs=SMALL[name], input_range=model.input_range,
        form=ZOO[name].form if ZOO[name].form != "plain" else "deploy", provenance={"made_by": "test_export"},
    )
    save_checkpoint(path, model.network.state_dict(), info)


def test_cli_exports_verifies_and_refuses_to_overwrite(tmp_path, capsys):
    checkpoint = tmp_path / "dipnet_small.safetensors"
    _small_checkpoint(checkpoint, "dipnet")
    output = tmp_path / "out" / "dipnet.onnx"
    assert main(["export", str(checkpoint), "-o", str(output)]) == 0
    printed = capsys.readouterr().out
    assert "exported dipnet x2" in printed and "verified with onnxruntime against PyTorch" in printed
    assert "crop of" in printed  # says which image it verified on
    loaded = OnnxModel.load(output)
    assert loaded.metadata["provenance"]["made_by"] == "test_export"
    before = output.read_bytes()

    assert main(["export", str(checkpoint), "-o", str(output)]) == 1
    error = capsys.readouterr().err
    assert error.count("distillsr: error:") == 1 and "exists; pass --overwrite" in error
    assert output.read_bytes() == before

    assert main(["export", str(checkpoint), "-o", str(output), "--overwrite", "--no-verify", "--opset", "13"]) == 0
    assert "not verified" in capsys.readouterr().out
    assert OnnxModel.load(output).metadata["opset"] == 13


def test_cli_width_and_user_errors(tmp_path, capsys):
    checkpoint = tmp_path / "carn_small.safetensors"
    _small_checkpoint(checkpoint, "carn")
    output = tmp_path / "carn.onnx"
    assert main(["export", str(checkpoint), "--width", "0.25", "-o", str(output)]) == 0
    assert "width 0.25" in capsys.readouterr().out
    assert OnnxModel.load(output).metadata["width"] == 0.25

    cases = [
        (["export", "dipnet", "-s", "4", "--width", "0.5", "-o", str(tmp_path / "a.onnx")], "not a channel-splitting model"),
        (["export", str(checkpoint), "-o", str(tmp_path / "a.pt")], "must end in .onnx"),
        (["export", str(checkpoint), "-w", str(checkpoint), "-o", str(tmp_path / "a.onnx")], "already a weights file"),
        (["export", "dipnet", "-o", str(tmp_path / "a.onnx")], "give the scale"),
        (["export", "bicubic", "-s", "2", "-o", str(tmp_path / "a.onnx")], "bicubic cannot be exported"),
        (["export", "dipnett", "-s", "2", "-o", str(tmp_path / "a.onnx")], "did you mean dipnet"),
    ]
    for argv, fragment in cases:
        assert main(argv) == 1, argv
        error = capsys.readouterr().err
        assert error.count("distillsr: error:") == 1 and fragment in error, (argv, error)
    assert not (tmp_path / "a.onnx").exists()
