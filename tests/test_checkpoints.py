"""Checkpoints: our safetensors format round-trips, official files are recognised, and every
file that does not fit says so clearly."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from support import official_weights

from distillsr.checkpoints.format import (
    CheckpointInfo,
    read_checkpoint,
    save_checkpoint,
)
from distillsr.checkpoints.load import read_torch_file, read_weights
from distillsr.cli import main
from distillsr.errors import DistillsrError
from distillsr.models.zoo import get_entry, load_model

# Small hyperparameter combinations per family (spandrel-style round trips, no downloads).
ROUND_TRIPS = [
    ("e-rfdn", 2, {}),
    ("e-rfdn", 3, {"channels": 16, "num_blocks": 2}),
    ("rfdn", 4, {"channels": 12, "num_blocks": 3}),
    ("rfdn-l", 2, {"num_blocks": 1}),
    ("imdn", 3, {"channels": 32, "num_blocks": 2}),
    ("dipnet", 2, {"channels": 12, "mid_channels": 8}),
    ("edipv1", 4, {}),
    ("dipnet-student", 3, {"channels": 8, "mid_channels": 8, "expansion": 16}),
]


def _randomize(network: torch.nn.Module, seed: int = 0) -> None:
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in network.state_dict().values():
            if tensor.is_floating_point():
                tensor.copy_(torch.randn(tensor.shape, generator=generator) * 0.05)


@pytest.mark.parametrize("name,scale,kwargs", ROUND_TRIPS)
def test_round_trip_through_safetensors(tmp_path, name, scale, kwargs):
    entry = get_entry(name)
    network = entry.build(scale, **kwargs).eval()
    _randomize(network)
    path = tmp_path / f"{name}.safetensors"
    save_checkpoint(
        path, network.state_dict(),
        CheckpointInfo(model=name, scale=scale, kwargs={**entry.defaults, **kwargs}, input_range=entry.input_range),
    )
    model = load_model(None, None, str(path))
    assert (model.name, model.scale, model.input_range) == (name, scale, entry.input_range)
    x = torch.rand(1, 3, 20, 18)
    with torch.no_grad():
        expected = network(x * entry.input_range) / entry.input_range
        np.testing.assert_array_equal(model(x).numpy(), expected.numpy())


def test_metadata_is_complete_and_strict(tmp_path):
    path = tmp_path / "m.safetensors"
    info = CheckpointInfo(
        model="imdn", scale=2, kwargs={"channels": 8, "num_blocks": 1}, form="train",
        provenance={"trained_on": "T91"}, scores=[{"dataset": "Set5", "psnr": 30.0, "protocol": "classic"}],
    )
    save_checkpoint(path, get_entry("imdn").build(2, channels=8, num_blocks=1).state_dict(), info)
    read_info, tensors = read_checkpoint(path)
    assert read_info == info
    assert all(isinstance(t, torch.Tensor) for t in tensors.values())


def test_wrong_scale_and_wrong_architecture_are_named(tmp_path):
    path = tmp_path / "imdn_x2.safetensors"
    network = get_entry("imdn").build(2, channels=8, num_blocks=1)
    save_checkpoint(path, network.state_dict(), CheckpointInfo("imdn", 2, {"channels": 8, "num_blocks": 1}))
    with pytest.raises(DistillsrError, match="x2 imdn model, but x4 was asked for"):
        load_model("imdn", 4, str(path))
    with pytest.raises(DistillsrError, match="holds the model imdn x2, not e-rfdn"):
        load_model("e-rfdn", 2, str(path))


def test_tensors_that_do_not_fit_are_listed(tmp_path):
    path = tmp_path / "liar.safetensors"
    network = get_entry("imdn").build(4, channels=8, num_blocks=1)
    # metadata claims x2: the upsampler shape does not fit
    save_checkpoint(path, network.state_dict(), CheckpointInfo("imdn", 2, {"channels": 8, "num_blocks": 1}))
    with pytest.raises(DistillsrError, match=r"shape mismatch.*upsampler\.0\.weight \[48,8,3,3\] vs \[12,8,3,3\]"):
        load_model(None, None, str(path))
    state = network.state_dict()
    del state["fea_conv.bias"]
    state["extra.weight"] = torch.zeros(1)
    save_checkpoint(path, state, CheckpointInfo("imdn", 4, {"channels": 8, "num_blocks": 1}))
    with pytest.raises(DistillsrError, match=r"1 missing tensor\(s\) \(fea_conv\.bias\); 1 unexpected tensor\(s\) \(extra\.weight\)"):
        load_model(None, None, str(path))


class _Payload:
    def __reduce__(self):
        return (print, ("this would run on load",))


def test_pickled_code_is_refused(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(1), "hook": _Payload()}, path)
    with pytest.raises(DistillsrError, match="refusing to unpickle"):
        read_torch_file(path)


def test_garbage_files_are_clear_errors(tmp_path):
    (tmp_path / "x.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(DistillsrError, match="not a readable PyTorch weights file"):
        read_weights(tmp_path / "x.pth")
    (tmp_path / "x.safetensors").write_bytes(b"\x00" * 16)
    with pytest.raises(DistillsrError, match="not a readable safetensors file"):
        read_weights(tmp_path / "x.safetensors")
    torch.save({"conv.weight": torch.zeros(3, 3, 3, 3)}, tmp_path / "unknown.pth")
    with pytest.raises(DistillsrError, match="not a checkpoint layout distillsr knows"):
        read_weights(tmp_path / "unknown.pth")
    with pytest.raises(DistillsrError, match="does not exist"):
        read_weights(tmp_path / "missing.pth")


def test_unknown_metadata_field_is_an_error(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "odd.safetensors"
    save_file({"a": torch.zeros(1)}, str(path), metadata={"distillsr": '{"format": "distillsr-checkpoint", "model": "imdn", "scale": 2, "colour": "red"}'})
    with pytest.raises(DistillsrError, match="unknown checkpoint metadata field.*colour"):
        read_checkpoint(path)


def test_wrapped_state_dicts_are_unwrapped(tmp_path):
    network = get_entry("imdn").build(2, channels=8, num_blocks=1)
    torch.save({"params_ema": {f"module.{k}": v for k, v in network.state_dict().items()}}, tmp_path / "w.pth")
    loaded = read_weights(tmp_path / "w.pth")
    assert loaded.info.model == "imdn" and loaded.info.scale == 2 and loaded.info.kwargs["channels"] == 8


OFFICIAL = [
    ("rfdn", "RFDN_AIM.pth", "e-rfdn", 4, 255.0),
    ("imdn", "IMDN_x2.pth", "imdn", 2, 1.0),
    ("imdn", "IMDN_x3.pth", "imdn", 3, 1.0),
    ("imdn", "IMDN_x4.pth", "imdn", 4, 1.0),
    ("ddistill_sr", "DDistill-SRx4_inference.pth", "ddistill-sr", 4, 1.0),
    ("dipnet", "DIPNet.pth", "dipnet", 4, 1.0),
    ("dipnet", "EDIPv1.pth", "edipv1", 4, 1.0),
]


@pytest.mark.parametrize("family,filename,model,scale,input_range", OFFICIAL)
def test_official_files_are_recognised(family, filename, model, scale, input_range):
    loaded = read_weights(official_weights(family, filename))
    assert (loaded.info.model, loaded.info.scale, loaded.info.input_range) == (model, scale, input_range)
    assert len(loaded.info.provenance["sha256"]) == 64
    entry = get_entry(model)
    assert any(w.sha256 == loaded.info.provenance["sha256"] for w in entry.weights)


def test_official_file_into_the_wrong_model_or_scale():
    path = str(official_weights("imdn", "IMDN_x4.pth"))
    with pytest.raises(DistillsrError, match="holds the model imdn x4, not e-rfdn"):
        load_model("e-rfdn", 4, path)
    with pytest.raises(DistillsrError, match="x4 imdn model, but x2 was asked for"):
        load_model("imdn", 2, path)


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
