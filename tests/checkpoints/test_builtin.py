"""The built-in models: shipped files, their cards, the scores the cards claim, and choosing a scale."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
import torch
from support import REPO_ROOT, load_shipped_recipe, require_shared

import distillsr
from distillsr.checkpoints import builtin
from distillsr.checkpoints.builtin import (
    builtin_card,
    builtin_file,
    builtin_path,
    builtin_scale_for,
    builtin_scales,
    is_builtin,
    read_header,
)
from distillsr.checkpoints.model_loading import load_builtin
from distillsr.efficiency import count_parameters
from distillsr.errors import DistillsrError

SHIPPED = builtin_scales()
# Classic-protocol bicubic rows (../shared/reference/scores.md): a built-in model must beat them clearly.
BICUBIC_SET5 = {2: 33.6734, 3: 30.4033, 4: 28.4290}
CARD_FIELDS = {
    "name", "architecture", "recipe", "data", "iterations", "recipe_iterations", "wall_time_minutes", "device", "scores",
    "params", "macs_3x256x256", "cpu_latency_ms_3x180x320_1thread", "started_from", "teachers",
    "lineage_licences", "licence",
}


def test_the_package_ships_the_default_x4_model():
    assert 4 in SHIPPED
    assert set(SHIPPED) <= {2, 3, 4}


@pytest.mark.parametrize("scale", SHIPPED)
def test_each_file_is_small_folded_and_carded(scale):
    path = builtin_file(scale)
    assert path.stat().st_size < 2_000_000
    card = builtin_card(scale)
    assert CARD_FIELDS <= set(card), sorted(CARD_FIELDS - set(card))
    assert card["scale"] == scale and card["form"] == "deploy"
    assert {row["dataset"] for row in card["scores"]} == {"Set5", "Set14"}
    assert all(row["protocol"] == "classic" for row in card["scores"])
    assert card["iterations"] > 0 and card["wall_time_minutes"] > 0
    # the lineage may only name weights whose licence allows it: never IMDN's (no licence)
    assert card["lineage_licences"] and not any("IMDN" in line for line in card["lineage_licences"])
    assert not any("imdn" in name.lower() for name in card["started_from"] + card["teachers"])


@pytest.mark.parametrize("scale", SHIPPED)
def test_the_card_matches_the_model_and_its_recipe(scale):
    card = builtin_card(scale)
    model = load_builtin(scale)
    assert model.name == "builtin" and model.scale == scale
    assert model.metadata["architecture"] == card["model"]
    assert count_parameters(model.network).total == card["params"]
    recipe_path = REPO_ROOT / card["recipe"]
    recipe = load_shipped_recipe(recipe_path)  # anyone can rerun it: it must still parse
    assert recipe.model.name == card["model"] and recipe.model.scale == scale
    assert sum(stage.iterations for stage in recipe.stages) == card["recipe_iterations"]
    assert 0 < card["iterations"] <= card["recipe_iterations"]  # a run may ship an earlier, better checkpoint


@pytest.mark.parametrize("scale", SHIPPED)
def test_the_card_set5_score_is_reproduced(scale):
    set5 = require_shared("data", "Set5", "HR")
    claimed = next(row for row in builtin_card(scale)["scores"] if row["dataset"] == "Set5")
    [result] = distillsr.evaluate("builtin", set5, scale=scale)
    assert result.mean.psnr == pytest.approx(claimed["psnr"], abs=0.01)
    assert result.mean.ssim == pytest.approx(claimed["ssim"], abs=1e-3)
    assert result.mean.psnr > BICUBIC_SET5[scale] + 2.0


def test_names_and_scales():
    assert is_builtin("builtin") and is_builtin(" BuiltIn ") and not is_builtin("dipnet") and not is_builtin(None)
    assert builtin_scale_for(None) == 4 and builtin_scale_for(4) == 4 and builtin_scale_for(4.0) == 4
    assert builtin_scale_for(8) == max(SHIPPED)  # nothing larger: the largest, then resized up
    for bad in (0, -1, float("nan"), float("inf"), True, "4"):
        with pytest.raises(DistillsrError, match="positive number"):
            builtin_scale_for(bad)


def test_a_scale_without_its_own_model_takes_the_smallest_larger_one(tmp_path, monkeypatch):
    for scale in (2, 4):
        (tmp_path / f"builtin_x{scale}.safetensors").write_bytes(b"")
    (tmp_path / "builtin_xbad.safetensors").write_bytes(b"")  # not a scale: ignored
    monkeypatch.setattr(builtin, "builtin_folder", lambda: tmp_path)
    assert builtin_scales() == (2, 4)
    assert [builtin_scale_for(s) for s in (1, 1.5, 2, 2.5, 3, 4, 6)] == [2, 2, 2, 4, 4, 4, 4]
    assert builtin_path(3) == tmp_path / "builtin_x4.safetensors"


def test_an_install_without_built_in_files_says_so(tmp_path, monkeypatch):
    monkeypatch.setattr(builtin, "builtin_folder", lambda: tmp_path / "missing")
    with pytest.raises(DistillsrError, match="no built-in models.*reinstall"):
        builtin_path(4)
    with pytest.raises(DistillsrError, match="no built-in x4 model"):
        builtin_card(4)


def _header_file(path: Path, header: bytes) -> Path:
    path.write_bytes(struct.pack("<Q", len(header)) + header)
    return path


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"abc", "truncated"),
        (struct.pack("<Q", 1 << 40), "not a safetensors file"),
        (struct.pack("<Q", 4) + b"\xff\xfe{}", "damaged"),
        (struct.pack("<Q", 2) + b"[]", "damaged"),
    ],
)
def test_damaged_headers_are_one_line_errors(tmp_path, content, fragment):
    path = tmp_path / "x.safetensors"
    path.write_bytes(content)
    with pytest.raises(DistillsrError, match=fragment):
        read_header(path)


def test_a_safetensors_file_without_a_card_is_refused(tmp_path, monkeypatch):
    _header_file(tmp_path / "builtin_x4.safetensors", json.dumps({"__metadata__": {"other": "1"}}).encode())
    monkeypatch.setattr(builtin, "builtin_folder", lambda: tmp_path)
    with pytest.raises(DistillsrError, match="no model card"):
        builtin_card(4)


def test_the_header_reader_agrees_with_safetensors():
    from safetensors import safe_open

    path = builtin_file(4)
    with safe_open(str(path), "pt") as handle:
        assert read_header(path)["__metadata__"] == handle.metadata()


def test_api_defaults_to_the_built_in_model():
    image = (np.random.default_rng(0).random((20, 24, 3)) * 255).astype(np.uint8)
    out = distillsr.upscale(image)
    assert out.shape == (80, 96, 3) and out.dtype == np.uint8
    model = distillsr.load_model()
    assert model.name == "builtin" and model.scale == 4
    expected = distillsr.upscale(image, model)
    assert np.array_equal(out, expected)
    with torch.no_grad():
        direct = model(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255)
    reference = (direct[0].clamp(0, 1) * 255).round().permute(1, 2, 0).numpy()
    exact = distillsr.upscale(image, precision="fp32")
    assert np.abs(exact.astype(np.float64) - reference).max() <= 1  # the engine's rounding may differ at .5


# --- `-m builtin` everywhere: eval, profile, export -----------------------------------------------


def test_eval_uses_the_built_in_model_by_default_and_by_name(tmp_path, capsys):
    import shutil

    from distillsr.cli import main

    baby = require_shared("data", "Set5", "HR", "baby.png")
    folder = tmp_path / "one"
    folder.mkdir()
    shutil.copy(baby, folder / "baby.png")
    reports = []
    for args in ([], ["-m", "builtin", "-s", "4"]):
        report = tmp_path / f"r{len(reports)}.json"
        assert main(["eval", *args, "-d", str(folder), "-q", "--json", str(report)]) == 0
        reports.append(json.loads(report.read_text()))
    assert reports[0] == reports[1]
    assert reports[0]["model"] == "builtin" and reports[0]["scale"] == 4
    [expected] = distillsr.evaluate(load_builtin(4), folder, scale=4)
    assert reports[0]["results"][0]["psnr"] == pytest.approx(expected.mean.psnr, abs=1e-9)
    [bicubic] = distillsr.evaluate("bicubic", folder, scale=4)
    assert reports[0]["results"][0]["psnr"] > bicubic.mean.psnr + 1.0
    assert main(["eval", "-m", "builtin", "-s", "5", "-d", str(folder), "-q"]) == 1
    assert "no built-in x5 model" in capsys.readouterr().err


def test_profile_measures_the_built_in_model_by_default(capsys):
    from distillsr.cli import main

    assert main(["profile", "--input", "3x24x24", "--repeats", "1", "--warmup", "0"]) == 0
    out = capsys.readouterr().out
    assert "model builtin x4" in out
    assert f"{builtin_card(4)['params']:,}" in out


def test_export_of_the_built_in_model_matches_it(tmp_path):
    pytest.importorskip("onnxruntime", reason='ONNX export needs the onnx extra: pip install "distillsr[onnx]"')
    from distillsr.cli import main
    from distillsr.inference.onnx_backend import OnnxModel

    target = tmp_path / "builtin.onnx"
    assert main(["-q", "export", "builtin", "-o", str(target)]) == 0
    onnx_model = OnnxModel.load(target)
    x = torch.rand(1, 3, 20, 24, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected = load_builtin(4)(x)
    assert onnx_model.scale == 4
    assert torch.allclose(onnx_model(x), expected, atol=1e-4)
