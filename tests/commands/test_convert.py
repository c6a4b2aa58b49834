"""`distillsr convert`: an official file becomes an equivalent safetensors checkpoint, never silently."""

from __future__ import annotations

import numpy as np
import torch
from support import official_weights

from distillsr.checkpoints.format import read_checkpoint
from distillsr.cli import main
from distillsr.models.zoo import load_model


def test_convert_command_round_trip(tmp_path, capsys):
    source = official_weights("rfdn", "RFDN_AIM.pth")
    target = tmp_path / "e-rfdn.safetensors"
    assert main(["convert", str(source), "-o", str(target)]) == 0
    assert "e-rfdn x4" in capsys.readouterr().out
    info, _ = read_checkpoint(target)
    assert info.model == "e-rfdn" and info.input_range == 255.0 and info.provenance["converted_from"] == "RFDN_AIM.pth"
    original = load_model(None, None, str(source))
    converted = load_model(None, None, str(target))
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        np.testing.assert_array_equal(original(x).numpy(), converted(x).numpy())
    assert main(["convert", str(source), "-o", str(target)]) == 1  # exists
    assert "--overwrite" in capsys.readouterr().err
    assert main(["convert", str(source), "-o", str(tmp_path / "x.pt")]) == 1
    assert main(["convert", str(source), "-o", str(target), "--model", "imdn", "--overwrite"]) == 1
    assert "not imdn" in capsys.readouterr().err
