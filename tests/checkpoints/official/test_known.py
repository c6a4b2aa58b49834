"""Official files recognised by their sha256 first (checkpoints/official/known.py), and the one-line
refusal of a layout two families share when the file is not a known one (RLFN vs DIPNet)."""

from __future__ import annotations

import dataclasses
import hashlib
import re

import pytest
import torch
from support import official_weights
from support.cli import assert_one_line_error, run_cli_process

from distillsr.checkpoints.weights_file import read_weights
from distillsr.checkpoints.model_loading import load_or_build
from distillsr.checkpoints.official import known
from distillsr.errors import DistillsrError
from distillsr.models.zoo import ZOO, get_entry

# Every official file of the zoo, where ../shared keeps it: (zoo name, scale, folder, file name there).
SHARED_FILES = [
    ("e-rfdn", 4, "rfdn", "RFDN_AIM.pth"),
    ("imdn", 2, "imdn", "IMDN_x2.pth"),
    ("imdn", 3, "imdn", "IMDN_x3.pth"),
    ("imdn", 4, "imdn", "IMDN_x4.pth"),
    ("ddistill-sr", 4, "ddistill_sr", "DDistill-SRx4_inference.pth"),
    ("dipnet", 4, "dipnet", "DIPNet.pth"),
    ("edipv1", 4, "dipnet", "EDIPv1.pth"),
    ("rlfn", 2, "rlfn", "rlfn_x2.pth"),
    ("rlfn", 4, "rlfn", "rlfn_x4.pth"),
    ("rlfn-s", 2, "rlfn", "rlfn_s_x2.pth"),
    ("rlfn-s", 4, "rlfn", "rlfn_s_x4.pth"),
    ("rlfn-ntire", 4, "rlfn", "rlfn_ntire_x4.pth"),
    ("efdn", 4, "ntire2025", "team00_EFDN.pth"),
    ("span", 4, "ntire2025", "team46_span.pth"),
    ("dipnet-slim-v2", 4, "ntire2025", "team15_DIPNet_slim_v2.pt"),
]
# methods.md §0.5b: the sha256 of the yardsticks' files, as measured on the developer copies.
YARDSTICKS = {
    "rlfn_x2.pth": "eafe5d5feeb122022453595c06d79160facdc157ae88deb02a44c50f5eba2d41",
    "rlfn_x4.pth": "8c7edb57dfc89048bafba29d591d4c27d4099964b4a9e22df23d6dc257a637c0",
    "rlfn_s_x2.pth": "f5175f499f869c1b884c2552a1bcd6abd07ab352e3d8c8c9abe31b1deb60fe45",
    "rlfn_s_x4.pth": "f769c5a88433786b2db0c2b24da6ca6c92a24c62344b9354a390f8a74388e89d",
    "rlfn_ntire_x4.pth": "3c9be7b9d7a4bece9b68c83a56a1ffb38010f76413d5f215be6b4be842e18fb2",
    "team00_EFDN.pth": "71069f10ef234cd123f45ac8e69099f0a1fdc0c16afcfe2189e50071d47ce477",
    "team46_span.pth": "b212c077015e97d8ea5b1f279dc3d990ce4c9fdd80c3f829e2b2711562086d7f",
    "team15_DIPNet_slim_v2.pt": "eca9bfbedfff866eaf4eeea405cdfeeeaa2381ce61d4cf97e476ee6aed1a27a6",
}


def test_the_table_is_the_zoos_official_files_each_once():
    table = known.known_files()
    published = [(entry.name, weights) for entry in ZOO.values() for weights in entry.weights]
    assert len(table) == len(published), "no two official files share a sha256"
    for name, weights in published:
        assert table[weights.sha256].model == name and table[weights.sha256].weights is weights
        assert re.fullmatch(r"[0-9a-f]{64}", weights.sha256)
    by_file = {weights.filename: weights.sha256 for _, weights in published}
    assert {name: by_file[name] for name in YARDSTICKS} == YARDSTICKS


def test_the_yardsticks_urls_are_the_pinned_commits():
    for name in ("rlfn", "rlfn-s", "rlfn-ntire"):
        for weights in get_entry(name).weights:
            assert weights.url == f"https://github.com/bytedance/RLFN/raw/bccfde9/model_zoo/{weights.filename}"
    for name in ("efdn", "span", "dipnet-slim-v2"):
        [weights] = get_entry(name).weights
        assert weights.url == f"https://github.com/Amazingren/NTIRE2025_ESR/raw/b69fb66/model_zoo/{weights.filename}"


@pytest.mark.parametrize("name,scale,folder,filename", SHARED_FILES, ids=[f for *_, f in SHARED_FILES])
def test_every_official_file_is_recognised_by_its_checksum(name, scale, folder, filename):
    path = official_weights(folder, filename)
    [weights] = [w for w in get_entry(name).weights if w.scale == scale]
    data = path.read_bytes()
    assert (hashlib.sha256(data).hexdigest(), len(data)) == (weights.sha256, weights.size)
    info = read_weights(path).info
    assert (info.model, info.scale, info.input_range) == (name, scale, get_entry(name).input_range)
    assert info.provenance["sha256"] == weights.sha256
    assert info.provenance["layout"].endswith(f"recognised by its sha256 as the official {weights.filename}")
    assert load_or_build(None, None, path).name == name  # the kwargs read from the shapes build the file's network


def test_rlfn_x4_is_rlfn_on_0_255_not_dipnet():
    """The bug this table fixes: the layout alone read ``rlfn_x4.pth`` as DIPNet on 0-1 input."""
    model = load_or_build(None, None, official_weights("rlfn", "rlfn_x4.pth"))
    assert (model.name, model.scale, model.input_range) == ("rlfn", 4, 255.0)
    with pytest.raises(DistillsrError, match="holds the model rlfn x4, not dipnet"):
        load_or_build("dipnet", None, official_weights("rlfn", "rlfn_x4.pth"))


def test_the_ddistill_file_is_the_deploy_form():
    info = read_weights(official_weights("ddistill_sr", "DDistill-SRx4_inference.pth")).info
    assert info.kwargs["deploy"] is True and info.form == "deploy"


@pytest.fixture
def resaved_rlfn(tmp_path):
    """``rlfn_x4.pth``'s tensors saved again: the same layout, other bytes, so no checksum to go by."""
    state = torch.load(official_weights("rlfn", "rlfn_x4.pth"), map_location="cpu", weights_only=True)
    path = tmp_path / "my_rlfn.pth"
    torch.save({"params": state}, path)
    return path


def test_an_unknown_file_in_the_shared_layout_is_refused_naming_the_choices(resaved_rlfn):
    with pytest.raises(DistillsrError) as caught:
        read_weights(resaved_rlfn)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(f"{resaved_rlfn}: recognised as RLFB layout")
    assert "rlfn's (input 0-255)" in message and "dipnet's (input 0-1)" in message
    assert message.endswith("name the model: -m rlfn or -m dipnet")
    with pytest.raises(DistillsrError, match=r"\(imdn is neither\); name the model: -m rlfn or -m dipnet"):
        read_weights(resaved_rlfn, model="imdn")
    # named with a scale, a model of neither family takes the file as its own state dict (a stage's strict: false)
    named = read_weights(resaved_rlfn, model="dipnet-student", scale=4).info
    assert (named.model, named.input_range) == ("dipnet-student", 1.0)
    assert named.provenance["layout"] == "dipnet-student state dict (named by the user)"


def test_naming_the_model_loads_an_unknown_file_in_the_shared_layout(resaved_rlfn):
    as_rlfn = load_or_build("rlfn", None, resaved_rlfn)
    official = load_or_build(None, None, official_weights("rlfn", "rlfn_x4.pth"))
    assert (as_rlfn.name, as_rlfn.scale, as_rlfn.input_range) == ("rlfn", 4, 255.0)
    assert "read as rlfn (named by the user)" in as_rlfn.metadata["provenance"]["layout"]
    x = torch.rand(1, 3, 16, 17, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(as_rlfn(x), official(x))
    as_dipnet = load_or_build("dipnet", None, resaved_rlfn)
    assert (as_dipnet.name, as_dipnet.input_range) == ("dipnet", 1.0)  # what the user asked for, on 0-1


def test_eval_without_a_name_is_one_line_and_with_one_runs(resaved_rlfn, tmp_path):
    from PIL import Image

    folder = tmp_path / "hr"
    folder.mkdir()
    Image.new("RGB", (32, 32), (120, 60, 30)).save(folder / "a.png")
    assert_one_line_error(
        run_cli_process("eval", "-w", str(resaved_rlfn), "-d", str(folder), "-q"), "-m rlfn or -m dipnet", "0-255"
    )
    result = run_cli_process("eval", "-m", "rlfn", "-w", str(resaved_rlfn), "-d", str(folder))
    assert result.returncode == 0, result.stderr
    assert "model rlfn x4" in result.stdout


def test_a_table_row_that_does_not_fit_its_file_is_refused(tmp_path, monkeypatch):
    from distillsr.checkpoints.official.conversion import LayoutMismatch
    from distillsr.models.imdn import IMDN

    path = tmp_path / "imdn.pth"
    torch.save(IMDN(scale=2, channels=8, num_blocks=1).state_dict(), path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    wrong = known.KnownFile("rlfn", get_entry("rlfn").weights[0])
    monkeypatch.setattr(known, "known_files", lambda: {sha: wrong})
    with pytest.raises(LayoutMismatch, match=r"rlfn_x2\.pth, the official rlfn x2 file .*do not fit the rlfn x2 network"):
        known.known_conversion(sha, torch.load(path, weights_only=True))
    with pytest.raises(DistillsrError, match=rf"{re.escape(str(path))}: recognised as rlfn_x2\.pth"):
        read_weights(path)


def test_the_checksum_decides_the_reading_and_the_shapes_the_kwargs(monkeypatch, tmp_path):
    """An RLFN-shaped file the table calls DIPNet reads as DIPNet (0-1), with the kwargs of its shapes."""
    from distillsr.models.rlfn import RLFN

    path = tmp_path / "known.pth"
    torch.save(RLFN(scale=2, channels=8, mid_channels=8, esa_channels=4, num_blocks=1).state_dict(), path)
    sha = hashlib.sha256(path.read_bytes()).hexdigest()
    dipnet_file = dataclasses.replace(get_entry("dipnet").weights[0], scale=2, filename="known.pth")
    monkeypatch.setattr(known, "known_files", lambda: {sha: known.KnownFile("dipnet", dipnet_file)})
    info = read_weights(path).info
    assert (info.model, info.scale, info.input_range) == ("dipnet", 2, 1.0)
    assert info.kwargs == {"in_channels": 3, "channels": 8, "mid_channels": 8, "esa_channels": 4, "num_blocks": 1,
                           "bias": True, "block_bias": True}
    assert info.provenance["layout"].startswith("RLFB layout (1 blocks, 8/8 channels")
