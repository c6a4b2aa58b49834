"""Reading weights: official files are recognised, and every file that does not fit says so clearly."""

from __future__ import annotations

import pytest
import torch
from safetensors.torch import save_file
from support import official_weights
from support.models import CallsTheShell, random_state

from distillsr.checkpoints.format import CheckpointInfo, save_checkpoint
from distillsr.checkpoints.weights_file import read_torch_file, read_weights
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.errors import DistillsrError
from distillsr.models.zoo import get_entry


def test_tensors_that_do_not_fit_are_listed(tmp_path):
    path = tmp_path / "liar.safetensors"
    network = get_entry("imdn").build(4, channels=8, num_blocks=1)
    # metadata claims x2: the upsampler shape does not fit
    save_checkpoint(path, network.state_dict(), CheckpointInfo("imdn", 2, {"channels": 8, "num_blocks": 1}))
    with pytest.raises(DistillsrError, match=r"shape mismatch.*upsampler\.0\.weight \[48,8,3,3\] vs \[12,8,3,3\]"):
        load_or_build(None, None, str(path))
    state = network.state_dict()
    del state["fea_conv.bias"]
    state["extra.weight"] = torch.zeros(1)
    save_checkpoint(path, state, CheckpointInfo("imdn", 4, {"channels": 8, "num_blocks": 1}))
    with pytest.raises(DistillsrError, match=r"1 missing tensor\(s\) \(fea_conv\.bias\); 1 unexpected tensor\(s\) \(extra\.weight\)"):
        load_or_build(None, None, str(path))


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


@pytest.mark.parametrize("family,filename,model,scale,input_range", OFFICIAL)
def test_official_state_dicts_as_bare_safetensors_are_recognised_the_same(tmp_path, family, filename, model, scale, input_range):
    """A ``.safetensors`` of the same tensors without distillsr metadata reads exactly as the ``.pth``."""
    official = official_weights(family, filename)
    from_pth = read_weights(official)
    bare = tmp_path / f"{official.stem}.safetensors"
    save_file({k: v.contiguous() for k, v in read_torch_file(official).items()}, bare)
    from_safetensors = read_weights(bare)
    for field in ("model", "scale", "kwargs", "input_range", "form"):
        assert getattr(from_safetensors.info, field) == getattr(from_pth.info, field)
    # the .pth is also known by its sha256, which its description adds to the layout's
    assert from_pth.info.provenance["layout"] == (
        f"{from_safetensors.info.provenance['layout']}; recognised by its sha256 as the official "
        f"{next(w.filename for w in get_entry(model).weights if w.sha256 == from_pth.info.provenance['sha256'])}"
    )
    assert from_safetensors.info.provenance["converted_from"] == bare.name
    assert set(from_safetensors.state_dict) == set(from_pth.state_dict)  # safetensors sorts the names
    assert all(torch.equal(from_safetensors.state_dict[k], v) for k, v in from_pth.state_dict.items())


def test_a_blocked_global_is_named_not_called_corrupt(tmp_path):
    path = tmp_path / "evil.pth"
    torch.save({"weight": torch.zeros(1), "payload": CallsTheShell()}, path)
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


def test_nan_weights_are_blamed_on_the_file(tmp_path):
    state = random_state("rfdn", 4)
    first = next(iter(state))
    state[first].view(-1)[0] = float("nan")
    path = tmp_path / "diverged.safetensors"
    save_checkpoint(path, state, CheckpointInfo(model="rfdn", scale=4))
    with pytest.raises(DistillsrError, match=rf"{path}: 1 weight tensor\(s\) hold NaN or infinite values \({first}\)"):
        load_or_build(None, None, str(path))


def test_a_named_state_dict_that_does_not_fit_lists_the_tensors(tmp_path):
    odd = tmp_path / "odd.safetensors"
    save_file({k: v.contiguous() for k, v in random_state("edsr-baseline", 2, seed=1).items()}, odd)
    with pytest.raises(DistillsrError, match="weights do not fit rfdn x2"):
        load_or_build("rfdn", 2, str(odd))
