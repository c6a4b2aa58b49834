"""``distillsr prune``: end to end on a tiny model, with fine-tuning (and a teacher), and its refusals.

The tiny random models score below bicubic, which the command refuses by default (tested here);
the tests of its other mechanics pass ``--allow-below-bicubic``. The built-in x2 model is the
real model that runs through the defaults.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from support.models import randomise
from support.training import training_images

from distillsr.checkpoints.format import (
    CheckpointInfo,
    read_checkpoint,
    save_checkpoint,
)
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.cli import main
from distillsr.efficiency import count_ops, count_parameters
from distillsr.models.pruned_widths import PRUNED_WIDTHS
from distillsr.models.zoo import build_model

SMALL = {"channels": 32, "num_blocks": 2}  # wide enough for single channels to land within 2 %


def _checkpoint(path, seed: int, **kwargs) -> None:
    torch.manual_seed(seed)
    model = build_model("rfdn", 2, **{**SMALL, **kwargs})
    randomise(model.network, seed=seed, std=0.05)
    info = CheckpointInfo(model="rfdn", scale=2, kwargs={**SMALL, **kwargs}, input_range=1.0, form="deploy")
    save_checkpoint(path, model.network.state_dict(), info)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    root = tmp_path_factory.mktemp("prune")
    (root / "images").mkdir()
    images = training_images(root / "images")
    _checkpoint(root / "student.safetensors", 0)
    _checkpoint(root / "teacher.safetensors", 1, channels=16)
    return root, images


def test_prune_to_target_macs_with_finetuning_against_a_teacher(setup, tmp_path, capsys):
    root, images = setup
    source = root / "student.safetensors"
    original = load_or_build(None, None, str(source))
    target = count_ops(original.network).macs * 0.4 / 1e9
    out = tmp_path / "pruned.safetensors"
    code = main([
        "prune", "-w", str(source), "--target-macs", f"{target:.6f}", "--step", "0.25",
        "--finetune-iters", "3", "--data", str(images), "--batch-size", "4", "--patch-size", "12",
        "--teacher", str(root / "teacher.safetensors"), "--val", str(images), "-o", str(out), "--allow-below-bicubic",
    ])
    printed = capsys.readouterr()
    assert code == 0, printed.err
    lines = printed.out.splitlines()
    assert lines[0].split() == ["step", "removed", "params", "MACs", "(G)", "calib", "dB", "PSNR", "(dB)", "seconds"]
    rows = [line.split() for line in lines[1:-1]]
    assert [row[0] for row in rows] == [str(i) for i in range(len(rows))] and len(rows) >= 3  # 0.4 needs two steps
    assert all(row[4] == "-" for row in rows)  # no floor: the calibration column stays empty
    assert all(float(row[5]) > 0 for row in rows)  # PSNR on --val every step
    assert lines[-1].startswith(f"kept step {len(rows) - 1}:") and str(out) in lines[-1]
    assert "fine-tune after step 1: iteration 3/3" in printed.err
    assert "against the outputs of rfdn x2" in printed.err

    pruned = load_or_build(None, None, str(out))
    macs = count_ops(pruned.network).macs / 1e9
    assert target * 0.98 <= macs <= target
    info, _ = read_checkpoint(out)
    assert info.kwargs[PRUNED_WIDTHS] and info.form == "deploy"
    assert info.provenance["pruning"]["finetune_iterations"] == 3 and info.provenance["pruned_from"] == str(source)
    assert count_parameters(pruned.network).total == int(rows[-1][2].replace(",", ""))


def test_prune_with_max_drop_keeps_a_model_within_the_drop(setup, tmp_path, capsys):
    root, images = setup
    out = tmp_path / "drop.safetensors"
    assert main(["prune", "-w", str(root / "student.safetensors"), "--max-drop", "0.3", "--step", "0.3",
                 "--val", str(images), "--criterion", "activation", "--data", str(images), "--patch-size", "12",
                 "-o", str(out), "--allow-below-bicubic"]) == 0
    printed = capsys.readouterr()
    assert f"calibration: 16 patches of {images}" in printed.err and "ranking channels by activation" in printed.err
    assert read_checkpoint(out)[0].provenance["pruning"]["criterion"] == "activation"
    lines = printed.out.splitlines()
    rows = [line.split() for line in lines[1:-1]]
    kept = int(lines[-1].split()[2].rstrip(":"))
    base = float(rows[0][5])
    assert base - float(rows[kept][5]) <= 0.3
    assert kept == len(rows) - 1 or base - float(rows[kept + 1][5]) > 0.3


def test_a_model_below_bicubic_is_refused_in_one_line_and_nothing_is_written(setup, tmp_path, capsys):
    """The random tiny model is far below bicubic already unpruned: no default run may write it."""
    root, _ = setup
    out = tmp_path / "never.safetensors"
    assert main(["prune", "-w", str(root / "student.safetensors"), "--target-params", "20000", "-o", str(out)]) == 1
    printed = capsys.readouterr()
    line = printed.err.strip().splitlines()[-1]
    assert "the unpruned rfdn scores" in line and "below bicubic's" in line and "nothing was written" in line
    assert "6 patches of the shipped calibration photos" in line and not out.exists()


def test_the_default_run_prunes_a_real_model_on_the_shipped_photos_and_checks_every_step(tmp_path, capsys):
    """The built-in x2 model, no images given: sensitivity ranking on the shipped photos, each step above bicubic."""
    from distillsr.compression.pruning.calibration import CalibrationSet
    from distillsr.data.samples import calibration_folder

    from distillsr.checkpoints.builtin import builtin_file

    params = count_parameters(load_or_build("builtin", 2, None).network).total
    out = tmp_path / "smaller.safetensors"
    assert main(["prune", "-w", str(builtin_file(2)), "--target-params", str(int(params * 0.9)), "-o", str(out)]) == 0
    printed = capsys.readouterr()
    assert "ranking channels by sensitivity" in printed.err and "the shipped calibration photos" in printed.err
    rows = [line.split() for line in printed.out.splitlines()[1:-1]]
    calibration = CalibrationSet.shipped(2)
    assert all(float(row[4]) > calibration.bicubic_psnr for row in rows)
    info, _ = read_checkpoint(out)
    recorded = info.provenance["pruning"]["calibration"]
    assert recorded["patches"] == len(list(calibration_folder().glob("*.png"))) == 6
    pruned = load_or_build(None, None, str(out))  # the file as written scores what the last row said
    assert calibration.model_psnr(pruned) == pytest.approx(float(rows[-1][4]), abs=0.006)
    assert recorded["psnr_classic"] == pytest.approx(calibration.model_psnr(pruned), abs=1e-6)
    assert count_parameters(pruned.network).total <= params * 0.9


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--target-params", "1000", "--finetune-iters", "5"], "--finetune-iters needs --data"),
        (["--target-params", "1000", "--teacher", "e-rfdn"], "--teacher guides the fine-tuning"),
        (["--target-params", "1000", "--finetune-iters", "5", "--data", "x", "-tw", "w.pth"], "-tw/--teacher-weights needs --teacher MODEL"),
        (["--max-drop", "0.1"], "--max-drop needs --val DIR"),
    ],
)
def test_inconsistent_arguments_are_one_line_errors(setup, tmp_path, capsys, extra, message):
    root, _ = setup
    assert main(["prune", "-w", str(root / "student.safetensors"), *extra, "-o", str(tmp_path / "o.safetensors")]) == 1
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_the_output_is_checked_before_any_work(setup, tmp_path, capsys):
    root, _ = setup
    source = str(root / "student.safetensors")
    assert main(["prune", "-w", source, "--target-params", "1000", "-o", str(tmp_path / "x.pth")]) == 1
    assert "must end in .safetensors" in capsys.readouterr().err
    existing = tmp_path / "there.safetensors"
    existing.write_bytes(b"keep")
    assert main(["prune", "-w", source, "--target-params", "1000", "-o", str(existing)]) == 1
    assert "--overwrite" in capsys.readouterr().err and existing.read_bytes() == b"keep"
    assert main(["prune", "-w", source, "--target-params", "1000", "-o", source, "--overwrite"]) == 1
    assert "refusing to overwrite the input file" in capsys.readouterr().err
    with pytest.raises(SystemExit):  # one target is required
        main(["prune", "-w", source, "-o", str(tmp_path / "y.safetensors")])


def test_help_imports_no_torch():
    argv = [sys.executable, "-X", "importtime", "-m", "distillsr", "prune", "--help"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0 and "--target-macs" in result.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "distillsr.commands.prune" in imported and "torch" not in imported
