"""The `distillsr` command: the published bicubic rows, reports, and one-line errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from distillsr.cli import main


def _run(*args: str) -> subprocess.CompletedProcess:
    """The real command in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "distillsr", *args], capture_output=True, text=True, timeout=300)


def _assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("distillsr: error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]


def test_eval_bicubic_prints_the_papers_rows(set5_dir, set14_hr, tmp_path):
    report = tmp_path / "report.json"
    result = _run(
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


def test_corrupt_image_is_one_clear_error(tmp_path):
    folder = tmp_path / "bad"
    folder.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(folder / "good.png")
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    _assert_one_line_error(_run("eval", "-m", "bicubic", "-d", str(folder), "-s", "2", "-q"), "broken.png")


def test_missing_folder_is_one_clear_error(tmp_path):
    _assert_one_line_error(
        _run("eval", "-m", "bicubic", "-d", str(tmp_path / "missing"), "-s", "4"), "does not exist", "missing"
    )


def test_unpaired_hr_lr_is_one_clear_error(tmp_path):
    for name in ("a", "b"):
        (tmp_path / "HR").mkdir(exist_ok=True)
        Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "HR" / f"{name}.png")
    (tmp_path / "LR_bicubic" / "X4").mkdir(parents=True)
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).save(tmp_path / "LR_bicubic" / "X4" / "ax4.png")
    _assert_one_line_error(_run("eval", "-m", "bicubic", "-d", str(tmp_path), "-s", "4"), "do not pair up", "b.png")


def test_unknown_protocol_model_and_degradation_are_clear_errors(tmp_path, capsys):
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    _assert_one_line_error(
        _run("eval", "-m", "bicubic", "-d", str(tmp_path), "-s", "2", "--protocol", "psnr-rgb"), "unknown protocol"
    )
    assert main(["eval", "-m", "bicubc", "-d", str(tmp_path), "-s", "2"]) == 1
    assert "did you mean bicubic" in capsys.readouterr().err
    assert main(["eval", "-m", "bicubic", "-d", str(tmp_path), "-s", "2", "--degradation", "XYZ"]) == 1
    assert "unknown degradation" in capsys.readouterr().err


def test_profile_prints_efficiency_figures(capsys, tmp_path):
    report = tmp_path / "p.json"
    assert main(["profile", "-m", "bicubic", "--input", "3x32x40", "--repeats", "2", "--json", str(report)]) == 0
    text = capsys.readouterr().out
    assert "MACs" in text and "Params" in text and "Activations" in text
    data = json.loads(report.read_text())
    assert data["model"] == "bicubic"
    assert data["params"]["total"] == 0


# --------------------------------------------------------------------------------------------------
# The front door: fast --help, --version, one console
# --------------------------------------------------------------------------------------------------

COMMAND_NAMES = ("eval", "profile", "zoo", "convert", "data", "upscale", "export", "train")


@pytest.mark.parametrize("command", ["", *COMMAND_NAMES])
def test_help_imports_neither_torch_nor_numpy(command):
    """`python -X importtime` lists every module imported: --help must not pay for torch (about 1 s)."""
    argv = [sys.executable, "-X", "importtime", "-m", "distillsr", *([command] if command else []), "--help"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "usage: distillsr" in result.stdout, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "distillsr.cli" in imported  # the listing really is of our run
    assert "torch" not in imported and "numpy" not in imported


def test_version_comes_from_the_package_metadata():
    from importlib.metadata import version

    result = _run("--version")
    assert result.returncode == 0 and result.stdout == f"distillsr {version('distillsr')}\n"


def test_quiet_keeps_errors_and_hides_info_lines(tmp_path, capsys):
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(tmp_path / "a.png")
    assert main(["eval", "-m", "bicubic", "-d", str(tmp_path), "-s", "2", "-q"]) == 0
    assert f"images from {tmp_path}" in capsys.readouterr().err
    assert main(["-q", "eval", "-m", "bicubic", "-d", str(tmp_path), "-s", "2", "-q"]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and "PSNR classic" in captured.out  # results still printed
    assert main(["-q", "eval", "-m", "bicubic", "-d", str(tmp_path / "nope"), "-s", "2"]) == 1
    assert capsys.readouterr().err.startswith("distillsr: error: ")


def test_warnings_are_one_line_and_the_console_is_restored(monkeypatch, capsys):
    import logging
    import warnings

    from distillsr.commands import zoo

    def noisy(args):
        warnings.warn("something third-party is deprecated\n  and this is its second line", UserWarning)
        return 0

    monkeypatch.setattr(zoo, "run", noisy)
    before = warnings.showwarning
    assert main(["zoo"]) == 0
    assert capsys.readouterr().err == "warning: something third-party is deprecated\n"
    assert warnings.showwarning is before and not logging.getLogger("distillsr").handlers


def test_an_unexpected_oserror_is_one_line_naming_the_path(monkeypatch, capsys):
    from distillsr.commands import zoo

    def denied(args):
        raise PermissionError(13, "Permission denied", "/somewhere/locked.png")

    monkeypatch.setattr(zoo, "run", denied)
    assert main(["zoo"]) == 1
    assert capsys.readouterr().err == "distillsr: error: /somewhere/locked.png: Permission denied\n"


# --------------------------------------------------------------------------------------------------
# Outputs checked before the work (issue 8: results were lost after a whole evaluation)
# --------------------------------------------------------------------------------------------------


def _one_image_folder(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(folder / "a.png")
    return folder


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


def test_profile_json_is_checked_first(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert main(["profile", "-m", "bicubic", "--json", str(blocker / "p.json")]) == 1
    assert f"cannot write --json report {blocker / 'p.json'}" in capsys.readouterr().err


def test_convert_output_is_checked_before_loading(tmp_path, capsys, monkeypatch):
    import distillsr.models.zoo as zoo

    monkeypatch.setattr(zoo, "load_model", lambda *a, **k: pytest.fail("loaded before the -o check"))
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    target = blocker / "m.safetensors"
    assert main(["convert", str(tmp_path / "whatever.pth"), "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.count("distillsr: error:") == 1 and f"cannot write checkpoint {target}" in err


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes into read-only folders; the parent-is-a-file cases cover root")
def test_read_only_folder_is_refused_before_work(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["profile", "-m", "bicubic", "--json", str(locked / "p.json")]) == 1
        assert "Permission denied" in capsys.readouterr().err
    finally:
        locked.chmod(0o755)


def test_eval_image_smaller_than_the_scale_is_named(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    Image.fromarray(np.zeros((64, 64, 3), np.uint8)).save(folder / "a.png")
    Image.fromarray(np.zeros((3, 3, 3), np.uint8)).save(folder / "tiny.png")
    _assert_one_line_error(_run("eval", "-m", "bicubic", "-d", str(folder), "-s", "4", "-q"),
                           str(folder / "tiny.png"), "smaller than the scale 4")


def test_eval_image_too_small_to_score_is_named(tmp_path):
    folder = _one_image_folder(tmp_path)  # 16x16 at x4 leaves 8x8 after the border: below SSIM's window
    _assert_one_line_error(_run("eval", "-m", "bicubic", "-d", str(folder), "-s", "4", "-q"),
                           str(folder / "a.png"), "ssim needs images of at least 11x11")
