"""`distillsr calibrate` and the `--dynamic` mode of `eval` and `upscale` that uses what it stores."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
from inference.width_policy.toy import (
    SCALE,
    photo,
    save_tiny,
    synthetic_images,
    trained_tiny,
    write_folder,
)
from support.cli import assert_one_line_error, run_cli_process

from distillsr.checkpoints.format import read_checkpoint
from distillsr.cli import main
from distillsr.efficiency.ops import count_ops
from distillsr.inference.width_policy.policy import POLICY_KEY, WidthPolicy
from distillsr.inference.width_policy.scores import BicubicRoundTrip
from distillsr.nn.slimmable import width


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    return save_tiny(trained_tiny(), tmp_path_factory.mktemp("ckpt") / "tiny.safetensors")


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("cal") / "images", synthetic_images(seed=5))


@pytest.fixture(scope="module")
def calibrated(tiny_file, folder, tmp_path_factory) -> tuple[Path, str]:
    """The tiny checkpoint calibrated for a 0.6 budget, and what the command printed."""
    import contextlib
    import io

    target = tmp_path_factory.mktemp("out") / "dynamic.safetensors"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = main(["calibrate", "-w", str(tiny_file), "--data", str(folder), "--budget", "0.6", "-o", str(target), "-q"])
    assert code == 0
    return target, stdout.getvalue()


def printed_fraction(text: str, pattern: str = r"MACs ([0-9.]+) of full width") -> float:
    return float(re.search(pattern, text).group(1))


def test_calibrate_writes_a_copy_with_thresholds_that_meet_the_budget(tiny_file, calibrated):
    target, text = calibrated
    before = sha256(tiny_file)
    fraction = printed_fraction(text)
    assert 0.6 * 0.95 <= fraction <= 0.6
    assert "PSNR drop" in text and "fixed width 0.25" in text and f"wrote {target}" in text
    info, tensors = read_checkpoint(target)
    original, original_tensors = read_checkpoint(tiny_file)
    assert sha256(tiny_file) == before  # the input is never modified
    assert info.model == original.model and info.kwargs == original.kwargs and info.scale == SCALE
    assert info.provenance["recipe"] == original.provenance["recipe"]  # the rest of the metadata is kept
    assert set(tensors) == set(original_tensors) and all(
        bool((tensors[k] == original_tensors[k]).all()) for k in tensors
    )
    policy = WidthPolicy.from_dict(info.provenance[POLICY_KEY], str(target))
    assert policy.widths == (0.25, 0.5, 0.75) and policy.score == "bicubic-psnr"
    calibration = info.provenance[POLICY_KEY]["calibration"]
    assert calibration["images"] == 16 and calibration["target"]["budget"] == 0.6
    assert calibration["macs_fraction"] == pytest.approx(fraction, abs=5e-5)


def test_calibrate_for_a_maximum_psnr_drop(tiny_file, folder, tmp_path, capsys):
    target = tmp_path / "drop.safetensors"
    assert main(["calibrate", "-w", str(tiny_file), "-d", str(folder), "--max-drop", "0.1", "-o", str(target), "-q"]) == 0
    text = capsys.readouterr().out
    drop = float(re.search(r"PSNR drop (-?[0-9.]+) dB", text).group(1))
    assert drop <= 0.1
    assert read_checkpoint(target)[0].provenance[POLICY_KEY]["calibration"]["target"] == {"max_drop": 0.1}


def test_a_budget_of_1_is_full_width_and_accepted(tiny_file, folder, tmp_path, capsys):
    target = tmp_path / "full.safetensors"
    assert main(["calibrate", "-w", str(tiny_file), "-d", str(folder), "--budget", "1", "-o", str(target), "-q"]) == 0
    assert printed_fraction(capsys.readouterr().out) <= 1.0
    assert read_checkpoint(target)[0].provenance[POLICY_KEY]["calibration"]["target"]["budget"] == 1.0
    for outside in ("0", "1.5"):
        with pytest.raises(SystemExit):
            main(["calibrate", "-w", str(tiny_file), "-d", str(folder), "--budget", outside, "-o", str(target)])
        assert f"expected a fraction of full width in (0, 1], got '{outside}'" in capsys.readouterr().err


def test_eval_dynamic_reports_the_macs_the_chosen_widths_cost(calibrated, folder, tmp_path, capsys):
    target, calibrate_text = calibrated
    report = tmp_path / "report.json"
    assert main(["eval", "-w", str(target), "-d", str(folder), "--dynamic", "-q", "--no-cache", "--json", str(report)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"images\s+dynamic: mean width [0-9.]+ over 16 images", text)
    data = json.loads(report.read_text())
    per_image = data["results"][0]["per_image"]
    (spent,) = data["dynamic"]

    # each image ran at the width its stored thresholds give its LR image's score
    info, _ = read_checkpoint(target)
    policy = WidthPolicy.from_dict(info.provenance[POLICY_KEY], "x")
    score = BicubicRoundTrip(SCALE)
    images = synthetic_images(seed=5)
    lrs = {}
    for name, hr in images.items():
        from distillsr.imaging.resize import imresize

        lrs[name] = imresize(hr[: hr.shape[0] // SCALE * SCALE, : hr.shape[1] // SCALE * SCALE], 1 / SCALE)
    chosen = {row["name"]: row["width"] for row in per_image}
    assert chosen == {name: policy.width_for(score(lr)) for name, lr in lrs.items()}

    # MACs: count every image's forward at its own size, at its width and at full width
    model = trained_tiny()
    spent_macs = full_macs = 0
    for name, lr in lrs.items():
        shape = (1, 3, *lr.shape[:2])
        with width(model.network, chosen[name]):
            spent_macs += count_ops(model.network, shape).macs
        full_macs += count_ops(model.network, shape).macs
    assert spent["macs"] == pytest.approx(spent_macs, rel=1e-12)
    assert spent["full_width_macs"] == pytest.approx(full_macs, rel=1e-12)
    assert spent["macs_fraction"] == pytest.approx(spent_macs / full_macs)
    assert spent["mean_width"] == pytest.approx(np.mean(list(chosen.values())))
    # the same folder, the same LR images: eval spends what calibration promised
    assert spent["macs_fraction"] == pytest.approx(printed_fraction(calibrate_text), abs=5e-5)


def test_upscale_dynamic_chooses_per_tile_and_reports(calibrated, tmp_path, upscale, photos):
    target, _ = calibrated
    inputs = tmp_path / "in"
    photos.save(inputs / "flat.png", np.full((40, 48, 3), 90, np.uint8))
    photos.save(inputs / "photo.png", photo(96, 128, 180, 200))
    code, out, err = upscale(str(inputs), "-o", str(tmp_path / "out"), "-w", str(target), "--dynamic", "-q",
                             "--fp32", "--tile", "48")
    assert code == 0, err
    line = upscale.lines(out, "dynamic:")[0]
    # the flat image fits in one tile; the photo is 2 x 3 tiles of 48 px, each scored on its window (24 px context)
    from collections import Counter

    from distillsr.inference.tiling import plan_tiles

    policy = WidthPolicy.from_dict(read_checkpoint(target)[0].provenance[POLICY_KEY], "x")
    score = BicubicRoundTrip(SCALE)
    image = photo(96, 128, 180, 200)
    windows = [image[t.in_top : t.in_bottom, t.in_left : t.in_right] for row in plan_tiles(96, 128, 48, 24) for t in row]
    expected = Counter(policy.width_for(score(window)) for window in [np.full((40, 48, 3), 90, np.uint8), *windows])
    spread = ", ".join(f"{w:g}: {n}" for w, n in sorted(expected.items()))
    assert f"over 7 tiles ({spread})" in line
    assert (tmp_path / "out" / "photo.png").is_file() and (tmp_path / "out" / "flat.png").is_file()


def test_eval_dynamic_without_thresholds_says_to_calibrate(tiny_file, folder):
    result = run_cli_process("eval", "-w", str(tiny_file), "-d", str(folder), "--dynamic", "-q")
    assert_one_line_error(result, "no dynamic-width thresholds", "distillsr calibrate")


def test_upscale_dynamic_without_thresholds_says_to_calibrate(tiny_file, folder, tmp_path):
    result = run_cli_process("upscale", str(folder / "flat0.png"), "-o", str(tmp_path / "out"), "-w", str(tiny_file),
                             "--dynamic", "-q")
    assert_one_line_error(result, "no dynamic-width thresholds", "distillsr calibrate")
    assert not (tmp_path / "out" / "flat0.png").exists()


def test_dynamic_needs_a_slimmable_model(folder, capsys):
    assert main(["eval", "-m", "bicubic", "-s", "2", "-d", str(folder), "--dynamic", "-q"]) == 1
    assert "not a channel-splitting model" in capsys.readouterr().err


def test_calibrate_refuses_its_own_input_as_output(tiny_file, folder):
    before = sha256(tiny_file)
    result = run_cli_process("calibrate", "-w", str(tiny_file), "-d", str(folder), "--budget", "0.5",
                             "-o", str(tiny_file), "--overwrite")
    assert_one_line_error(result, "refusing to overwrite the input checkpoint")
    assert sha256(tiny_file) == before


def test_calibrate_refusals(tiny_file, folder, tmp_path, capsys):
    existing = tmp_path / "exists.safetensors"
    existing.write_bytes(b"x")
    assert main(["calibrate", "-w", str(tiny_file), "-d", str(folder), "--budget", "0.5", "-o", str(existing)]) == 1
    assert "exists; pass --overwrite" in capsys.readouterr().err
    assert main(["calibrate", "-w", str(tiny_file), "-d", str(folder), "--budget", "0.5", "-o", str(tmp_path / "a.pth")]) == 1
    assert "must end in .safetensors" in capsys.readouterr().err
    # a budget below what the narrowest width costs on these images
    low = tmp_path / "low.safetensors"
    assert main(["calibrate", "-w", str(tiny_file), "-d", str(folder), "--budget", "0.01", "-o", str(low), "-q"]) == 1
    assert "below what running every image at the narrowest width costs" in capsys.readouterr().err
    assert not low.exists()


def test_calibrate_needs_exactly_one_target(tiny_file, folder, tmp_path):
    with pytest.raises(SystemExit):
        main(["calibrate", "-w", str(tiny_file), "-d", str(folder), "-o", str(tmp_path / "o.safetensors")])
    with pytest.raises(SystemExit):
        main(["calibrate", "-w", str(tiny_file), "-d", str(folder), "--budget", "0.5", "--max-drop", "0.1",
              "-o", str(tmp_path / "o.safetensors")])


def test_calibrate_needs_a_slimmable_checkpoint(folder, tmp_path, capsys):
    from support.models import small_zoo_model

    from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint

    rfdn = small_zoo_model("rfdn", SCALE)
    source = tmp_path / "rfdn.safetensors"
    save_checkpoint(source, rfdn.network.state_dict(),
                    CheckpointInfo(model="rfdn", scale=SCALE, kwargs={"channels": 16, "num_blocks": 1}))
    assert main(["calibrate", "-w", str(source), "-d", str(folder), "--budget", "0.5",
                 "-o", str(tmp_path / "o.safetensors")]) == 1
    err = capsys.readouterr().err
    assert "no switchable widths: calibrate needs a slimmable (CSD) checkpoint" in err
    assert "imdn-csd, edsr-baseline" in err, "the list comes from the zoo"
