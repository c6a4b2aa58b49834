"""`distillsr bench`: the files it writes, its --ntire columns, and one-line errors for bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from comparison.tiny import save_small_checkpoint
from support.cli import assert_one_line_error, run_cli_process
from support.images import photo, save_image

from distillsr.cli import main


@pytest.fixture(scope="module")
def two_images(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("data") / "Pair"
    image = photo(96, 128)
    save_image(folder / "left.png", image[:32, :40])
    save_image(folder / "right.png", image[40:72, 60:100])
    return folder


@pytest.fixture(scope="module")
def tiny_checkpoint(tmp_path_factory) -> str:
    return str(save_small_checkpoint(tmp_path_factory.mktemp("model"), "dipnet"))


def _bench(*args: str) -> list[str]:
    return ["bench", "--repeats", "1", "--warmup", "0", "--threads", "1", "--device", "cpu", *args]


def test_bench_writes_tables_plots_and_crops(two_images, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "results"
    code = main(_bench("-m", f"{tiny_checkpoint},bicubic", "-d", str(two_images), "-s", "2", "--input", "3x16x16",
                       "--crops", "right", "--out", str(out)))
    assert code == 0
    printed = capsys.readouterr().out
    assert printed.startswith("| Model | Precision |") and "| dipnet | fp32 |" in printed and "| bicubic | fp32 |" in printed
    names = {path.name for path in out.iterdir()}
    assert {"results.md", "results.csv", "results.json"} <= names
    if _has_matplotlib():
        assert {"psnr_vs_macs.png", "psnr_vs_latency.png", "crops_right.png"} <= names
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [row["model"] for row in rows] == ["dipnet", "bicubic"] and rows[0]["input"] == "3x16x16"
    report = json.loads((out / "results.json").read_text())
    assert report["environment"]["threads"] == 1 and report["settings"]["repeats"] == 1
    assert {row["precision"] for row in report["rows"]} == {"fp32"}


def _has_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def test_without_matplotlib_the_tables_are_still_written(two_images, tmp_path, capsys, monkeypatch):
    from distillsr.comparison import plots

    monkeypatch.setattr(plots, "matplotlib_available", lambda: False)
    out = tmp_path / "results"
    assert main(_bench("-m", "bicubic", "-d", str(two_images), "-s", "2", "--input", "3x8x8", "--out", str(out))) == 0
    assert sorted(path.name for path in out.iterdir()) == ["results.csv", "results.json", "results.md"]
    assert 'plots need matplotlib: pip install "distillsr[plot]"' in capsys.readouterr().err


def test_ntire_counts_at_the_kit_input_with_the_kit_units(two_images, tiny_checkpoint, tmp_path, capsys):
    out = tmp_path / "ntire"
    assert main(_bench("-m", tiny_checkpoint, "-d", str(two_images), "-s", "2", "--ntire", "--out", str(out))) == 0
    header = (out / "results.md").read_text().splitlines()[0]
    assert "Params [M]" in header and "FLOPs [G] (NTIRE kit) @3x256x256" in header and "Runtime [ms] per Pair image (mean)" in header
    report = json.loads((out / "results.json").read_text())
    assert report["settings"]["ntire"] is True and report["rows"][0]["costs"]["input_shape"] == [1, 3, 256, 256]


def test_bf16_rows_say_bf16(two_images, tiny_checkpoint, tmp_path):
    out = tmp_path / "bf16"
    assert main(_bench("-m", f"{tiny_checkpoint},bicubic", "-d", str(two_images), "-s", "2", "--input", "3x16x16",
                       "--precision", "bf16", "--out", str(out))) == 0
    report = json.loads((out / "results.json").read_text())
    assert report["environment"]["precision"] == "bf16"
    assert [row["precision"] for row in report["rows"]] == ["bf16", "fp32"]  # bicubic computes in float32 only
    assert report["rows"][0]["scores"][0]["precision"] == "bf16"
    assert "| dipnet | bf16 |" in (out / "results.md").read_text()


def test_an_unknown_model_is_one_line_without_a_traceback(two_images, tmp_path):
    result = run_cli_process(*_bench("-m", "bicubic,not-a-model", "-d", str(two_images), "-s", "2", "--out", str(tmp_path / "o")))
    assert_one_line_error(result, "not-a-model")
    assert not (tmp_path / "o").exists()  # nothing written before the models were all found


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (["-m", "bicubic", "-d", "{missing}", "-s", "2"], ["does not exist"]),
        (["-m", "{ckpt}", "-d", "{data}", "-s", "3"], ["x2", "x3"]),
        (["-m", "builtin", "-d", "{data}", "-s", "5"], ["no built-in x5 model"]),
        (["-m", "bicubic", "-d", "{data}", "-s", "2", "--precision", "fp16"], ["fp16 needs a CUDA device"]),
        (["-m", "bicubic", "-d", "{data}", "-s", "2", "--ntire", "--input", "3x64x64"], ["--ntire counts at the kit's input"]),
        (["-m", "bicubic", "-d", "{data}", "-s", "2", "--crops", "nope"], ["--crops: no image 'nope'", "left, right"]),
        (["-m", "bicubic", "-d", "{data}", "-s", "2", "--out", "{file}"], ["cannot write --out folder", "it is a file"]),
        (["-m", "{ckpt}", "-d", "{data}", "-s", "2", "--input", "3x8x8"], ["dipnet runs on inputs of at least 15 px"]),
    ],
)
def test_bad_input_is_one_clear_line(two_images, tiny_checkpoint, tmp_path, capsys, args, fragments):
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    values = {"missing": str(tmp_path / "nowhere"), "ckpt": tiny_checkpoint, "data": str(two_images), "file": str(blocker)}
    argv = [arg.format(**values) for arg in args]
    if "--out" not in argv:
        argv += ["--out", str(tmp_path / "out")]
    assert main(_bench(*argv)) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("distillsr: error:")]
    assert len(errors) == 1
    for fragment in fragments:
        assert fragment in errors[0]


def test_help_imports_neither_torch_nor_numpy_nor_matplotlib():
    import subprocess
    import sys

    argv = [sys.executable, "-X", "importtime", "-m", "distillsr", "bench", "--help"]
    result = subprocess.run(argv, check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "--ntire" in result.stdout, result.stderr[-2000:]
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "distillsr.commands.bench" in imported
    assert not imported & {"torch", "numpy", "matplotlib"}


def test_a_zoo_name_without_its_file_offline_advises_what_bench_takes(two_images, tmp_path, capsys):
    """bench has no -w/--weights: a weights file goes to -m in the name's place, and the advice says so."""
    assert main(_bench("-m", "e-rfdn", "-d", str(two_images), "-s", "4", "--out", str(tmp_path / "o"))) == 1
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("distillsr: error:")]
    assert len(errors) == 1 and "model e-rfdn needs trained weights" in errors[0]
    assert "-w/--weights" not in errors[0]
    assert errors[0].endswith("and give -m FILE")
