"""``distillsr upscale`` end to end (``commands/upscale/__init__.py``): flags, model choice,
output scale, what is said on the console, and the run stopping in one line where it cannot go on."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import numpy as np
import pytest
from support import require_shared

from distillsr import api
from distillsr.imaging.read import read_image
from distillsr.inference import session

BICUBIC_X2 = ("-m", "bicubic", "-s", "2", "-t", "0", "-q")


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(float) - b.astype(float)) ** 2)
    return 10 * np.log10(255.0**2 / mse)


# --------------------------------------------------------------------------------------------------
# Models, scales, and errors found before any work
# --------------------------------------------------------------------------------------------------


def test_single_file_gets_the_models_own_scale(tmp_path, upscale, photos, x4_model):
    source = photos.save(tmp_path / "a.png", photos.astronaut())
    code, out, err = upscale("-i", str(source), "-o", str(tmp_path / "out"), "-m", x4_model, "-t", "0", "-q")
    assert code == 0, err
    assert out.strip() == "1 upscaled, 0 skipped (exists), 0 failed"
    result = read_image(tmp_path / "out" / "a.png")
    assert result.shape == (192, 256, 3) and result.dtype == np.uint8


@pytest.mark.parametrize(("scale", "shape"), [("2", (96, 128, 3)), ("3", (144, 192, 3)), ("2.5", (120, 160, 3))])
def test_scale_other_than_the_models_resizes_with_a_note(tmp_path, upscale, photos, x4_model, scale, shape):
    source = photos.save(tmp_path / "a.png", photos.astronaut())
    code, _, err = upscale("-i", str(source), "-o", str(tmp_path / "out"), "-m", x4_model, "-s", scale,
                           "-t", "0", "-q")
    assert code == 0, err
    assert read_image(tmp_path / "out" / "a.png").shape == shape
    assert any(f"resized to x{scale}" in line for line in upscale.lines(err, "note:"))


def _no_network(monkeypatch) -> None:
    """Any attempt to open a connection fails the test loudly."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError("the network was used")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_no_model_means_the_built_in_one_offline(tmp_path, upscale, photos, monkeypatch):
    """`distillsr upscale photo.png -o out/`: no -m, no -w, no network, a x4 result by the shipped model."""
    _no_network(monkeypatch)
    source = photos.save(tmp_path / "photo.png", photos.astronaut()[:40, :52])
    code, _, err = upscale(str(source), "-o", str(tmp_path / "out"), "-q")
    assert code == 0, err
    assert "model builtin x4" in err
    result = read_image(tmp_path / "out" / "photo.png")
    assert result.shape == (160, 208, 3)
    expected = api.upscale(read_image(source), "builtin")
    assert np.array_equal(result, expected)


@pytest.mark.parametrize("scale", [2, 3])
def test_a_scale_picks_the_built_in_model_of_that_scale(tmp_path, upscale, photos, scale):
    from distillsr.checkpoints.builtin import builtin_scale_for

    source = photos.save(tmp_path / "photo.png", photos.astronaut()[:30, :36])
    code, _, err = upscale(str(source), "-o", str(tmp_path / "out"), "-s", str(scale), "-q")
    assert code == 0, err
    assert f"model builtin x{builtin_scale_for(scale)}" in err
    assert read_image(tmp_path / "out" / "photo.png").shape == (30 * scale, 36 * scale, 3)


def test_the_real_command_needs_no_flag(tmp_path, photos):
    source = photos.save(tmp_path / "photo.png", photos.astronaut()[:24, :24])
    env = {**os.environ, "DISTILLSR_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-m", "distillsr", "upscale", str(source), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    assert read_image(tmp_path / "out" / "photo.png").shape == (96, 96, 3)


def test_no_input_is_one_line(tmp_path, upscale):
    code, _, err = upscale("-o", str(tmp_path / "out"))
    assert code == 1 and "no input given" in err and "Traceback" not in err


def test_default_tile_is_auto_and_the_result_matches_untiled(tmp_path, upscale, photos):
    source = str(photos.save(tmp_path / "a.png", photos.astronaut()))
    assert upscale("-i", source, "-o", str(tmp_path / "auto"), "-m", "bicubic", "-s", "2", "-q")[0] == 0
    assert upscale("-i", source, "-o", str(tmp_path / "off"), *BICUBIC_X2)[0] == 0
    np.testing.assert_array_equal(read_image(tmp_path / "auto" / "a.png"), read_image(tmp_path / "off" / "a.png"))


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("-m", "e-rfdn"), "needs trained weights"),
        (("-m", "bicubic"), "give -s/--scale"),
        (("-m", "no-such-model", "-w", "x.pth"), "unknown model"),
        (("-m", "model.pth", "--backend", "onnxruntime"), "needs a .onnx model file"),
        (("-m", "model.onnx"), "--backend onnxruntime"),
    ],
)
def test_model_choice_errors_are_one_clear_line(tmp_path, upscale, photos, args, fragment):
    source = str(photos.save(tmp_path / "a.png", photos.astronaut()))
    code, _, err = upscale("-i", source, "-o", str(tmp_path / "out"), *args)
    assert code == 1 and "Traceback" not in err
    [error] = upscale.lines(err, "distillsr: error:")
    assert fragment in error
    assert not (tmp_path / "out").exists()


def test_zoo_name_with_official_weights(tmp_path, upscale, photos):
    weights = require_shared("weights", "official", "rfdn", "RFDN_AIM.pth")
    source = str(photos.save(tmp_path / "a.png", photos.astronaut()))
    code, _, err = upscale("-i", source, "-o", str(tmp_path / "out"), "-m", "e-rfdn", "-w", str(weights),
                           "-t", "0", "-q")
    assert code == 0, err
    assert read_image(tmp_path / "out" / "a.png").shape == (192, 256, 3)
    code, _, err = upscale("-i", source, "-o", str(tmp_path / "o2"), "-m", "imdn", "-w", str(weights))
    assert code == 1 and "not imdn" in err


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (("-i", "missing.png"), "input 'missing.png' does not exist"),
        (("-i", "*.nothing"), "no input images found"),
        (("-o", "result.png"), "takes a folder"),
    ],
)
def test_input_and_output_errors(tmp_path, upscale, photos, monkeypatch, args, fragment):
    monkeypatch.chdir(tmp_path)
    photos.save(tmp_path / "a.png", photos.astronaut())
    defaults = {"-i": "a.png", "-o": "out"}
    defaults.update(dict(zip(args[::2], args[1::2], strict=True)))
    code, _, err = upscale(*[x for pair in defaults.items() for x in pair], *BICUBIC_X2)
    assert code == 1
    [error] = upscale.lines(err, "distillsr: error:")
    assert fragment in error


def test_official_model_beats_bicubic_on_set5(tmp_path, upscale):
    weights = require_shared("weights", "official", "dipnet", "DIPNet.pth")
    low = require_shared("data", "Set5", "LR_bicubic", "X4", "birdx4.png")
    high = read_image(require_shared("data", "Set5", "HR", "bird.png"))
    common = ("-i", str(low), "-t", "0", "-q")
    assert upscale(*common, "-o", str(tmp_path / "sr"), "-m", str(weights))[0] == 0
    assert upscale(*common, "-o", str(tmp_path / "bi"), "-m", "bicubic", "-s", "4")[0] == 0
    sr, bi = read_image(tmp_path / "sr" / "birdx4.png"), read_image(tmp_path / "bi" / "birdx4.png")
    hr = high[: sr.shape[0], : sr.shape[1]]
    assert sr.shape == bi.shape == hr.shape
    assert _psnr(sr[4:-4, 4:-4], hr[4:-4, 4:-4]) > _psnr(bi[4:-4, 4:-4], hr[4:-4, 4:-4]) + 1.5


# --------------------------------------------------------------------------------------------------
# Flags, console lines, and stopping in one line
# --------------------------------------------------------------------------------------------------


def test_help_imports_neither_torch_nor_numpy():
    code = (
        "import sys\n"
        "from distillsr.cli import main\n"
        "try:\n    main(['upscale', '--help'])\nexcept SystemExit:\n    pass\n"
        "print('torch' in sys.modules, 'numpy' in sys.modules, file=sys.stderr)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "--alpha_upsampler" in result.stdout
    assert result.stderr.split() == ["False", "False"], result.stderr


def _no_model_loading(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the model was loaded before the output folder was checked")

    monkeypatch.setattr(session, "resolve_model", refuse)


def test_an_output_folder_below_a_file_stops_before_the_model_is_loaded(tmp_path, upscale, photos, monkeypatch):
    source = photos.save(tmp_path / "a.png", photos.astronaut())
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    folder = tmp_path / "notes.txt" / "out"
    _no_model_loading(monkeypatch)
    code, out, err = upscale("-i", str(source), "-o", str(folder), *BICUBIC_X2)
    assert code == 1 and out == ""
    assert err.splitlines() == [
        f"distillsr: error: cannot write output folder {folder}: {tmp_path / 'notes.txt'} is a file, not a folder"
    ]


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0,
                    reason="root writes into read-only (0o555) folders; the file-parent case covers root")
def test_a_read_only_output_location_stops_before_the_model_is_loaded(tmp_path, upscale, photos, monkeypatch):
    source = photos.save(tmp_path / "a.png", photos.astronaut())
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    _no_model_loading(monkeypatch)
    try:
        code, _, err = upscale("-i", str(source), "-o", str(locked / "out"), *BICUBIC_X2)
    finally:
        locked.chmod(0o755)
    assert code == 1
    assert err.splitlines() == [f"distillsr: error: cannot write output folder {locked / 'out'}: Permission denied"]


def test_a_full_disk_stops_the_run_with_the_count_left_after_the_summary(tmp_path, upscale, photos, monkeypatch):
    for name in "abcd":
        photos.save(tmp_path / "in" / f"{name}.png", photos.astronaut())
    real_replace, writes = os.replace, []

    def replace(source, target, *args, **kwargs):
        writes.append(target)
        if len(writes) == 2:
            raise OSError(errno.ENOSPC, "No space left on device", os.fspath(target))
        return real_replace(source, target, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    code, out, err = upscale("-i", str(tmp_path / "in"), "-o", str(tmp_path / "out"), *BICUBIC_X2)
    assert code == 1 and len(writes) == 2
    assert out.strip() == "1 upscaled, 0 skipped (exists), 1 failed"
    assert err.splitlines()[1:] == [  # after the header: the one line that says why it stopped
        f"distillsr: error: cannot write {tmp_path / 'out' / 'b.png'}: No space left on device; "
        "stopped with 2 image(s) not done"
    ]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.png"]


def test_console_lines_follow_the_global_verbosity(tmp_path, upscale, photos):
    first = photos.save(tmp_path / "x" / "a.gif", photos.coffee())  # upscaled with a note
    second = photos.save(tmp_path / "y" / "a.png", photos.astronaut())  # refused: same output name
    code, _, quiet = upscale("-i", str(first), str(second), "-o", str(tmp_path / "quiet"), *BICUBIC_X2,
                             console_flags=("-q",))
    assert code == 1
    assert quiet.splitlines() == [  # -q: the per-file error only; no header, no notes
        f"error: {second}: its output {tmp_path / 'quiet' / 'a.png'} would also be written from {first}; "
        "use --format same, or name their common folder with -r so subfolders are kept"
    ]
    code, _, err = upscale("-i", str(first), str(second), "-o", str(tmp_path / "normal"), *BICUBIC_X2)
    assert code == 1
    assert err.splitlines() == [
        f"model bicubic x2 | cpu fp32 | tile off | 2 images -> {tmp_path / 'normal'}",
        f"note: {first}: palette image converted to RGB",
        quiet.splitlines()[0].replace(str(tmp_path / "quiet"), str(tmp_path / "normal")),
    ]


def test_threads_reach_torch_and_onnxruntime(tmp_path, upscale, photos, monkeypatch):
    """--threads sets torch's threads and is handed to the model resolver, which sizes ORT sessions."""
    import torch

    calls: dict[str, object] = {}
    real = session.resolve_model

    def spy(*args, **kwargs):
        calls["resolve"] = kwargs.get("threads")
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "set_num_threads", lambda n: calls.setdefault("torch", n))
    monkeypatch.setattr(session, "resolve_model", spy)
    source = photos.save(tmp_path / "a.png", photos.astronaut(16, 16))
    code, _, err = upscale(str(source), "-o", str(tmp_path / "out"), "-m", "bicubic", "-s", "2", "--threads", "1", "-q")
    assert code == 0, err
    assert calls == {"torch": 1, "resolve": 1}


# --------------------------------------------------------------------------------------------------
# --width: a channel-splitting (CSD) checkpoint run at one of its widths
# --------------------------------------------------------------------------------------------------


def _slim_checkpoint(folder):
    """A tiny random IMDN-CSD x2 checkpoint (widths 1, 0.75, 0.5, 0.25)."""
    from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
    from distillsr.models.zoo import build_model

    kwargs = {"channels": 16, "num_blocks": 1, "cca_reduction": 4}
    save_checkpoint(path := folder / "slim.safetensors", build_model("imdn-csd", 2, **kwargs).network.state_dict(),
                    CheckpointInfo("imdn-csd", 2, kwargs))
    return path


def _by_hand(checkpoint, pixels: np.ndarray, width: float) -> np.ndarray:
    """The checkpoint's output at ``width`` computed directly: set the width, run, round to 8 bits."""
    import torch

    from distillsr.checkpoints.model_loading import load_or_build

    model = load_or_build(None, None, str(checkpoint))
    model.set_width(width)
    with torch.no_grad():
        out = model(torch.from_numpy(pixels).permute(2, 0, 1)[None].float() / 255)
    return (out[0].permute(1, 2, 0).clamp(0, 1).numpy() * 255).round().astype(np.uint8)


def test_width_runs_the_model_at_that_width_and_only_for_that_run(tmp_path, upscale, photos):
    checkpoint, pixels = _slim_checkpoint(tmp_path), photos.astronaut()
    source = str(photos.save(tmp_path / "a.png", pixels))
    common = ("-i", source, "-m", str(checkpoint), "-t", "0", "--fp32", "-q")
    code, _, err = upscale(*common, "-o", str(tmp_path / "half"), "--width", "0.5", console_flags=("-v",))
    assert code == 0, err
    assert "model imdn-csd x2 at width 0.5 |" in err
    half = read_image(tmp_path / "half" / "a.png").astype(int)
    assert np.abs(half - _by_hand(checkpoint, pixels, 0.5)).max() <= 1
    # the same model again (served from the in-process cache) without --width: full width, as stored
    assert upscale(*common, "-o", str(tmp_path / "full"))[0] == 0
    full = read_image(tmp_path / "full" / "a.png").astype(int)
    assert np.abs(full - _by_hand(checkpoint, pixels, 1.0)).max() <= 1
    assert _psnr(full, half) < 45, "--width changed nothing"


@pytest.mark.parametrize(
    ("model", "width", "fragment"),
    [
        (None, "0.3", "imdn-csd was trained at widths 1, 0.75, 0.5, 0.25, not 0.3"),
        ("bicubic", "0.5", "bicubic is not a channel-splitting model"),
        ("e-rfdn", "0.5", "e-rfdn is not a channel-splitting model"),  # before its official file is looked for
    ],
)
def test_width_refusals_are_one_line(tmp_path, upscale, photos, model, width, fragment):
    source = str(photos.save(tmp_path / "a.png", photos.astronaut()))
    chosen = ("-m", str(_slim_checkpoint(tmp_path))) if model is None else ("-m", model, "-s", "2")
    code, _, err = upscale("-i", source, "-o", str(tmp_path / "out"), *chosen, "--width", width)
    assert code == 1 and "Traceback" not in err
    [error] = upscale.lines(err, "distillsr: error:")
    assert fragment in error


@pytest.mark.parametrize("order", [("--precision", "bf16", "--fp32"), ("--fp32", "--precision", "bf16")])
def test_fp32_and_another_precision_contradict_each_other(tmp_path, capsys, order):
    """``--fp32`` is ``--precision fp32``: given with another precision, one of them would be ignored silently."""
    from distillsr.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["upscale", str(tmp_path / "in.png"), "-o", str(tmp_path / "out"), *order])
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "not allowed with argument" in error and "--fp32" in error and "--precision" in error
