"""Weights that must be refused with the culprit named: blocked pickles, NaN, bad metadata, bare state dicts."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.checkpoints.load import read_weights
from distillsr.cli import main
from distillsr.errors import DistillsrError
from distillsr.models.zoo import build_model, load_model


class _CallsTheShell:
    """A pickle payload that asks to run os.system on load; the safe loader must never call it."""

    def __reduce__(self):
        return (os.system, ("echo this must never run",))


def test_a_blocked_global_is_named_not_called_corrupt(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(1), "payload": _CallsTheShell()}, path)
    with pytest.raises(DistillsrError) as caught:
        read_weights(path)
    message = str(caught.value)
    assert "corrupt" not in message and "truncated" not in message
    assert "system" in message and "is blocked" in message and "refusing to unpickle" in message


def test_a_disallowed_class_is_named(tmp_path):
    import argparse

    path = tmp_path / "namespace.pth"
    torch.save({"state_dict": {"w": torch.zeros(1)}, "args": argparse.Namespace(lr=1)}, path)
    with pytest.raises(DistillsrError, match=r"refusing to unpickle the Python object argparse\.Namespace"):
        read_weights(path)


def test_cli_shows_no_raw_torch_text_for_a_blocked_pickle(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    torch.save({"payload": _CallsTheShell()}, path)
    assert main(["convert", str(path), "-o", str(tmp_path / "out.safetensors")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("distillsr: error: ") and "weights_only" in err
    assert "WeightsUnpickler" not in err and "pytorch.org" not in err


def _rfdn_state(scale: int = 4) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return {k: v.clone() for k, v in build_model("rfdn", scale).network.state_dict().items()}


def test_nan_weights_are_blamed_on_the_file(tmp_path):
    state = _rfdn_state()
    first = next(iter(state))
    state[first].view(-1)[0] = float("nan")
    path = tmp_path / "diverged.safetensors"
    save_checkpoint(path, state, CheckpointInfo(model="rfdn", scale=4))
    with pytest.raises(DistillsrError, match=rf"{path}: 1 weight tensor\(s\) hold NaN or infinite values \({first}\)"):
        load_model(None, None, str(path))


def test_a_model_that_emits_nan_is_blamed_on_its_weights(tmp_path):
    from distillsr.inference.predict import predict

    state = {k: v * 1e30 if v.is_floating_point() else v for k, v in _rfdn_state().items()}  # overflows to inf/NaN
    path = tmp_path / "huge.safetensors"
    save_checkpoint(path, state, CheckpointInfo(model="rfdn", scale=4))
    model = load_model(None, None, str(path))
    with pytest.raises(DistillsrError, match=rf"produced NaN or infinite values: its weights \({path}\)"):
        predict(model, np.full((20, 20, 3), 128, np.uint8))


def test_a_bad_scale_in_the_metadata_names_the_file(tmp_path):
    path = tmp_path / "badscale.safetensors"
    save_checkpoint(path, _rfdn_state(), CheckpointInfo(model="rfdn", scale=0))
    with pytest.raises(DistillsrError, match=rf"{path}: its metadata does not describe a zoo model \(scale"):
        load_model(None, None, str(path))


def test_a_bare_safetensors_state_dict_converts_when_named(tmp_path, capsys):
    """Our own layout without metadata: `convert -m rfdn -s 3` names it; without them the error says so."""
    bare = tmp_path / "bare.safetensors"
    save_file({k: v.contiguous() for k, v in _rfdn_state(3).items()}, bare)
    out = tmp_path / "named.safetensors"
    # the RFDN layout is also the official one: it is recognised by its keys even without -m/-s
    assert main(["convert", str(bare), "-o", str(out)]) == 0
    assert "rfdn x3" in capsys.readouterr().out

    odd = tmp_path / "odd.safetensors"
    save_file({k: v.contiguous() for k, v in _edsr_state().items()}, odd)
    assert main(["convert", str(odd), "-o", str(tmp_path / "x.safetensors")]) == 1
    err = capsys.readouterr().err
    assert "without distillsr metadata" in err and "-m MODEL -s SCALE" in err
    assert main(["convert", str(odd), "-m", "edsr-baseline", "-s", "2", "-o", str(out), "--overwrite"]) == 0
    reloaded = load_model(None, None, str(out))
    assert (reloaded.name, reloaded.scale) == ("edsr-baseline", 2)
    assert torch.equal(reloaded.network.state_dict()["head.weight"], _edsr_state()["head.weight"])


def _edsr_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(1)
    return {k: v.clone() for k, v in build_model("edsr-baseline", 2).network.state_dict().items()}


def test_a_named_state_dict_that_does_not_fit_lists_the_tensors(tmp_path):
    odd = tmp_path / "odd.safetensors"
    save_file({k: v.contiguous() for k, v in _edsr_state().items()}, odd)
    with pytest.raises(DistillsrError, match="weights do not fit rfdn x2"):
        load_model("rfdn", 2, str(odd))
