"""The `distillsr` front door (cli.py): a fast --help, --version, the global -q/-v, one console, and
every error one line at the boundary.

The commands' own behaviour is tested beside them, in tests/commands/test_<command>.py.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image
from support.cli import run_cli_process

from distillsr.cli import main

# --------------------------------------------------------------------------------------------------
# The front door: fast --help, --version, one console
# --------------------------------------------------------------------------------------------------

COMMAND_NAMES = ("eval", "profile", "zoo", "convert", "data", "upscale", "export", "train", "prune", "bench", "calibrate")


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

    result = run_cli_process("--version")
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


def test_verbose_adds_debug_lines(tmp_path, capsys):
    from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
    from distillsr.models.zoo import build_model

    path = tmp_path / "tiny.safetensors"
    kwargs = {"channels": 8, "num_blocks": 1}
    save_checkpoint(path, build_model("imdn", 2, **kwargs).network.state_dict(), CheckpointInfo("imdn", 2, kwargs))
    argv = ["profile", "-w", str(path), "--input", "3x16x16", "--repeats", "1", "--warmup", "0"]
    assert main(argv) == 0
    assert "debug:" not in capsys.readouterr().err
    assert main(["-v", *argv]) == 0
    assert f"debug: {path}: imdn x2, train form" in capsys.readouterr().err
