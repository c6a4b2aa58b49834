"""`distillsr convert`: an official file becomes an equivalent safetensors checkpoint, never silently."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from support import official_weights
from support.models import CallsTheShell, random_state

from distillsr.checkpoints.format import read_checkpoint
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.cli import main


def test_convert_command_round_trip(tmp_path, capsys):
    source = official_weights("rfdn", "RFDN_AIM.pth")
    target = tmp_path / "e-rfdn.safetensors"
    assert main(["convert", str(source), "-o", str(target)]) == 0
    assert "e-rfdn x4" in capsys.readouterr().out
    info, _ = read_checkpoint(target)
    assert info.model == "e-rfdn" and info.input_range == 255.0 and info.provenance["converted_from"] == "RFDN_AIM.pth"
    original = load_or_build(None, None, str(source))
    converted = load_or_build(None, None, str(target))
    x = torch.rand(1, 3, 24, 24)
    with torch.no_grad():
        np.testing.assert_array_equal(original(x).numpy(), converted(x).numpy())
    assert main(["convert", str(source), "-o", str(target)]) == 1  # exists
    assert "--overwrite" in capsys.readouterr().err
    assert main(["convert", str(source), "-o", str(tmp_path / "x.pt")]) == 1
    assert main(["convert", str(source), "-o", str(target), "--model", "imdn", "--overwrite"]) == 1
    assert "not imdn" in capsys.readouterr().err


def test_cli_shows_no_raw_torch_text_for_a_blocked_pickle(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    torch.save({"payload": CallsTheShell()}, path)
    assert main(["convert", str(path), "-o", str(tmp_path / "out.safetensors")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("distillsr: error: ") and "weights_only" in err
    assert "WeightsUnpickler" not in err and "pytorch.org" not in err


def test_a_bare_safetensors_state_dict_converts_when_named(tmp_path, capsys):
    """Our own layout without metadata: `convert -m rfdn -s 3` names it; without them the error says so."""
    bare = tmp_path / "bare.safetensors"
    save_file({k: v.contiguous() for k, v in random_state("rfdn", 3).items()}, bare)
    out = tmp_path / "named.safetensors"
    # the RFDN layout is also the official one: it is recognised by its keys even without -m/-s
    assert main(["convert", str(bare), "-o", str(out)]) == 0
    assert "rfdn x3" in capsys.readouterr().out

    odd = tmp_path / "odd.safetensors"
    save_file({k: v.contiguous() for k, v in random_state("edsr-baseline", 2, seed=1).items()}, odd)
    assert main(["convert", str(odd), "-o", str(tmp_path / "x.safetensors")]) == 1
    err = capsys.readouterr().err
    assert "without distillsr metadata" in err and "-m MODEL -s SCALE" in err
    assert main(["convert", str(odd), "-m", "edsr-baseline", "-s", "2", "-o", str(out), "--overwrite"]) == 0
    reloaded = load_or_build(None, None, str(out))
    assert (reloaded.name, reloaded.scale) == ("edsr-baseline", 2)
    assert torch.equal(reloaded.network.state_dict()["head.weight"], random_state("edsr-baseline", 2, seed=1)["head.weight"])


def test_convert_output_is_checked_before_loading(tmp_path, capsys, monkeypatch):
    from distillsr.checkpoints import model_loading

    monkeypatch.setattr(model_loading, "load_or_build", lambda *a, **k: pytest.fail("loaded before the -o check"))
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    target = blocker / "m.safetensors"
    assert main(["convert", str(tmp_path / "whatever.pth"), "-o", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.count("distillsr: error:") == 1 and f"cannot write checkpoint {target}" in err
