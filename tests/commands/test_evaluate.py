"""`distillsr eval`: the published bicubic rows, reports, saved images, and one-line errors for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from support.cli import assert_one_line_error, run_cli_process

from distillsr.cli import main


def _one_image_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(folder / "a.png")
    return folder


def test_eval_bicubic_prints_the_papers_rows(set5_dir, set14_hr, tmp_path):
    report = tmp_path / "report.json"
    result = run_cli_process(
        "eval", "--model", "bicubic", "--data", f"{set5_dir / 'HR'},{set14_hr}", "--scale", "4", "--json", str(report)
    )
    assert result.returncode == 0, result.stderr
    rows = {line.split()[0]: line.split() for line in result.stdout.splitlines() if line.startswith("Set")}
    assert rows["Set5"][1:] == ["5", "28.4290", "0.8111"]
    assert rows["Set14"][1:] == ["14", "25.9940", "0.7029"]
    assert "PSNR classic" in result.stdout and "SSIM classic" in result.stdout
    data = json.loads(report.read_text())
    assert data["protocol"] == "classic"
    set5 = data["results"][0]
    assert set5["dataset"] == "Set5" and set5["protocol"] == "classic"
    assert set5["psnr"] == pytest.approx(28.4290, abs=5e-5) and set5["ssim"] == pytest.approx(0.81114, abs=5e-6)
    assert len(set5["per_image"]) == 5


def test_eval_verbose_ntire_and_saved_images(set5_dir, tmp_path, capsys):
    out_dir = tmp_path / "sr"
    code = main(
        ["eval", "-m", "bicubic", "-d", str(set5_dir), "-s", "2", "--protocol", "ntire", "-v", "-q",
         "--save-images", str(out_dir)]
    )
    assert code == 0
    text = capsys.readouterr().out
    assert "PSNR ntire" in text and "baby" in text and "woman" in text
    saved = sorted(p.name for p in (out_dir / "Set5").iterdir())
    assert saved == ["baby.png", "bird.png", "butterfly.png", "head.png", "woman.png"]
    assert np.asarray(Image.open(out_dir / "Set5" / "baby.png")).shape == (512, 512, 3)


def test_self_ensemble_of_bicubic_is_close_to_plain(set5_dir, capsys):
    # bicubic is symmetric, so the 8 views agree up to boundary rounding: a wiring check with a known answer
    assert main(["eval", "-m", "bicubic", "-d", str(set5_dir / "HR"), "-s", "4", "-q", "--self-ensemble"]) == 0
    row = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Set5")][0].split()
    assert abs(float(row[2]) - 28.4290) < 0.02


def test_save_images_never_overwrites_inputs(tmp_path, rng, capsys):
    folder = tmp_path / "Mine"
    folder.mkdir()
    original = rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)
    Image.fromarray(original).save(folder / "x.png")
    code = main(["eval", "-m", "bicubic", "-d", str(folder), "-s", "2", "-q", "--save-images", str(tmp_path)])
    assert code == 1
    assert "refusing to overwrite" in capsys.readouterr().err
    np.testing.assert_array_equal(np.asarray(Image.open(folder / "x.png")), original)


# --------------------------------------------------------------------------------------------------
# One clear error for bad input
# --------------------------------------------------------------------------------------------------


def test_corrupt_image_is_one_clear_error(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(folder / "good.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    assert_one_line_error(run_cli_process("eval", "-m", "bicubic", "-d", str(folder), "-s", "2", "-q"), "broken.png")


def test_missing_folder_is_one_clear_error(tmp_path):
    assert_one_line_error(
        run_cli_process("eval", "-m", "bicubic", "-d", str(tmp_path / "missing"), "-s", "4"), "does not exist", "missing"
    )


def test_unpaired_hr_lr_is_one_clear_error(tmp_path):
    for name in ("a", "b"):
        (tmp_path / "HR").mkdir(exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "HR" / f"{name}.png")
    (tmp_path / "LR_bicubic" / "X4").mkdir(parents=True)
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "LR_bicubic" / "X4" / "ax4.png")
    assert_one_line_error(
        run_cli_process("eval", "-m", "bicubic", "-d", str(tmp_path), "-s", "4"), "do not pair up", "b.png"
    )


def test_unknown_protocol_model_and_degradation_are_clear_errors(tmp_path, capsys):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    assert_one_line_error(
        run_cli_process("eval", "-m", "bicubic", "-d", str(tmp_path), "-s", "2", "--protocol", "psnr-rgb"),
        "unknown protocol",
    )
    assert main(["eval", "-m", "bicubc", "-d", str(tmp_path), "-s", "2"]) == 1
    assert "did you mean bicubic" in capsys.readouterr().err
    assert main(["eval", "-m", "bicubic", "-d", str(tmp_path), "-s", "2", "--degradation", "XYZ"]) == 1
    assert "unknown degradation" in capsys.readouterr().err


def test_eval_image_smaller_than_the_scale_is_named(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(folder / "a.png")
    Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(folder / "tiny.png")
    assert_one_line_error(run_cli_process("eval", "-m", "bicubic", "-d", str(folder), "-s", "4", "-q"),
                          str(folder / "tiny.png"), "smaller than the scale 4")


def test_eval_image_too_small_to_score_is_named(tmp_path):
    folder = _one_image_folder(tmp_path)  # 16x16 at x4 leaves 8x8 after the border: below SSIM's window
    assert_one_line_error(run_cli_process("eval", "-m", "bicubic", "-d", str(folder), "-s", "4", "-q"),
                          str(folder / "a.png"), "ssim needs images of at least 11x11")


# --------------------------------------------------------------------------------------------------
# Outputs checked before the work (issue 8: results were lost after a whole evaluation)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["folder", "under-a-file"])
def test_eval_json_that_cannot_be_written_fails_before_evaluating(tmp_path, monkeypatch, capsys, where):
    import distillsr.evaluation.runner as runner

    monkeypatch.setattr(runner, "predict", lambda *a, **k: pytest.fail("evaluated before the --json check"))
    folder = _one_image_folder(tmp_path)
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    target = tmp_path if where == "folder" else blocker / "report.json"
    assert main(["eval", "-m", "bicubic", "-d", str(folder), "-s", "2", "--json", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.count("distillsr: error:") == 1 and f"cannot write --json report {target}" in err


# --------------------------------------------------------------------------------------------------
# --width: a channel-splitting (CSD) checkpoint scored at one of its widths
# --------------------------------------------------------------------------------------------------


def _slim_checkpoint(folder):
    """A tiny random IMDN-CSD x2 checkpoint (widths 1, 0.75, 0.5, 0.25)."""
    from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
    from distillsr.models.zoo import build_model

    kwargs = {"channels": 16, "num_blocks": 1, "cca_reduction": 4}
    save_checkpoint(path := folder / "slim.safetensors", build_model("imdn-csd", 2, **kwargs).network.state_dict(),
                    CheckpointInfo("imdn-csd", 2, kwargs))
    return path


def _photo_folder(tmp_path, rng):
    folder = tmp_path / "hr"
    folder.mkdir()
    smooth = np.kron(rng.integers(0, 256, (6, 6, 3)), np.ones((4, 4, 1))).astype(np.uint8)  # 24x24, blocky
    Image.fromarray(smooth).save(folder / "a.png")
    return folder


def test_eval_width_scores_the_model_at_that_width(tmp_path, rng, capsys):
    from distillsr import api
    from distillsr.checkpoints.model_loading import load_or_build

    checkpoint, folder, report = _slim_checkpoint(tmp_path), _photo_folder(tmp_path, rng), tmp_path / "r.json"
    assert main(["eval", "-w", str(checkpoint), "-d", str(folder), "--width", "0.5", "-q", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "model imdn-csd x2 at width 0.5 |" in out
    lines = out.splitlines()
    header = next(line for line in lines if line.startswith("dataset"))
    row = lines[lines.index(header) + 2]
    assert header.split()[:3] == ["dataset", "images", "width"] and row.split()[1:3] == ["1", "0.5"]
    data = json.loads(report.read_text())
    assert data["width"] == 0.5
    by_hand = load_or_build(None, None, str(checkpoint))
    by_hand.set_width(0.5)  # the same width set directly, scored without --width
    [expected] = api.evaluate(by_hand, folder)
    assert data["results"][0]["psnr"] == pytest.approx(expected.mean.psnr, abs=1e-9)
    assert float(row.split()[3]) == pytest.approx(expected.mean.psnr, abs=5e-5)
    [full] = api.evaluate(load_or_build(None, None, str(checkpoint)), folder)
    assert abs(full.mean.psnr - expected.mean.psnr) > 1e-3, "--width changed nothing"


def test_eval_of_a_slimmable_model_names_its_width_and_others_have_none(tmp_path, rng, capsys):
    checkpoint, folder, report = _slim_checkpoint(tmp_path), _photo_folder(tmp_path, rng), tmp_path / "r.json"
    assert main(["eval", "-w", str(checkpoint), "-d", str(folder), "-q", "--json", str(report)]) == 0
    assert "at width 1 |" in capsys.readouterr().out and json.loads(report.read_text())["width"] == 1.0
    assert main(["eval", "-m", "bicubic", "-s", "2", "-d", str(folder), "-q", "--json", str(report)]) == 0
    assert "width" not in capsys.readouterr().out and json.loads(report.read_text())["width"] is None


def test_eval_width_refusals_are_one_line(tmp_path, rng, capsys):
    checkpoint, folder = _slim_checkpoint(tmp_path), _photo_folder(tmp_path, rng)
    assert_one_line_error(
        run_cli_process("eval", "-w", str(checkpoint), "-d", str(folder), "--width", "0.3"),
        "imdn-csd was trained at widths 1, 0.75, 0.5, 0.25, not 0.3",
    )
    assert main(["eval", "-m", "bicubic", "-s", "2", "-d", str(folder), "--width", "0.5"]) == 1
    assert "bicubic is not a channel-splitting model" in capsys.readouterr().err
    assert main(["eval", "-m", "e-rfdn", "-d", str(folder), "--width", "0.5"]) == 1  # refused before any download
    assert "e-rfdn is not a channel-splitting model" in capsys.readouterr().err


def test_unknown_model_errors_offer_builtin_too(tmp_path, capsys):
    """``builtin`` is a name every model option takes: the list of known names and the suggestions include it."""
    folder = _one_image_folder(tmp_path)
    assert main(["eval", "-m", "xyzzy", "-d", str(folder), "-s", "2"]) == 1
    line = capsys.readouterr().err.strip()
    assert line.startswith("distillsr: error: unknown model 'xyzzy'; known models: builtin, ") and "e-rfdn" in line
    assert main(["eval", "-m", "bultin", "-d", str(folder), "-s", "2"]) == 1
    assert "did you mean builtin" in capsys.readouterr().err
