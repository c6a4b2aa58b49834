"""distillsr.commands.zoo_table: every model listed, exact counts, the MACs NTIRE prints, scores by scale."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from distillsr.commands import zoo_table
from distillsr.commands.zoo_table import format_zoo_table, macs_at_ntire_input
from distillsr.models.zoo import ZOO, ZooEntry, get_entry

# Parameter counts from shared/reference/methods.md (official classes / published figures), not our code.
PUBLISHED_PARAMS_X4 = {
    "bicubic": 0,
    "e-rfdn": 433_448,
    "rfdn": 549_624,
    "imdn": 715_176,
    "ddistill-sr": 1_173_004,
    "dipnet": 243_252,
    "edipv1": 209_260,
    # methods.md §0.5b: counted from the official files (the NTIRE 2025 kit prints EFDN's 0.276 M)
    "rlfn": 543_740,
    "rlfn-s": 470_208,
    "rlfn-ntire": 317_218,
    "efdn": 276_192,
    "span": 146_328,
    "dipnet-slim-v2": 154_336,
}


def _rows(table: str) -> dict[str, list[str]]:
    return {line.split()[0]: line.split() for line in table.splitlines() if line and line.split()[0] in ZOO}


@pytest.fixture(scope="module")
def table_x4() -> str:
    return format_zoo_table(scale=4, macs=False)


def test_every_zoo_entry_has_a_row_and_a_description(table_x4):
    rows = _rows(table_x4)
    assert list(rows) == list(ZOO)
    for entry in ZOO.values():
        assert entry.description in table_x4 and f"source: {entry.source}" in table_x4
    lines = table_x4.splitlines()
    assert lines[0].split()[:6] == ["model", "scales", "form", "range", "params", "GMACs@256²"]
    assert lines[0].split()[6:7] == ["weights"]
    assert set(lines[1]) == {"-"} and len(lines[1]) == len(lines[0])
    assert lines[-3].startswith("weights = the official file") and lines[-1].startswith("bf16 = ")
    assert "; in bf16 -0.007 dB Set5 PSNR" in table_x4  # dipnet's card (models/reduced_precision.json)
    assert lines[-2].startswith("MACs = multiply-accumulates of one 3x256x256 LR forward")


def test_rows_hold_the_published_parameter_counts(table_x4):
    rows = _rows(table_x4)
    for name, count in PUBLISHED_PARAMS_X4.items():
        assert rows[name][4] == f"{count:,}", name
        assert rows[name][5] == "-", "no MACs column with macs=False"


def test_every_name_fits_its_column():
    assert max(len(name) for name in ZOO) <= zoo_table.NAME_WIDTH
    header, rule = format_zoo_table(scale=4, macs=False, names=["dipnet-slim-v2-train"]).splitlines()[:2]
    assert len(rule) == len(header)


def test_rows_hold_each_models_contract(table_x4):
    rows = _rows(table_x4)
    assert rows["e-rfdn"][1:4] == ["2,3,4", "plain", "255"]  # E-RFDN takes 0-255 input
    assert rows["dipnet"][1:4] == ["2,3,4", "deploy", "1"]
    assert rows["ddistill-sr"][1:4] == ["2,3,4", "train", "1"]
    assert rows["rlfn"][1:4] == ["2,3,4", "plain", "255"]  # bytedance/RLFN's test code feeds 0-255
    assert rows["efdn"][1:4] == rows["span"][1:4] == rows["dipnet-slim-v2"][1:4] == ["2,3,4", "deploy", "1"]
    assert rows["efdn-train"][1:4] == rows["span-train"][1:4] == ["2,3,4", "train", "1"]
    assert rows["bicubic"][1] == "any"


def test_scores_are_those_of_the_tables_scale_only():
    table = format_zoo_table(scale=2, macs=False, names=["imdn", "e-rfdn", "rfdn-l"])
    imdn = next(line for line in table.splitlines() if line.startswith("imdn "))
    # IMDN paper x2 and the reference x2 scores (scores.md), never the x4 ones
    assert "Set5 38.00/0.9605 (classic, published)" in imdn
    assert "Set14 33.53/0.9172 (classic, reference)" in imdn
    assert "32.21" not in imdn and "DIV2K" not in imdn
    assert next(line for line in table.splitlines() if line.startswith("e-rfdn ")).endswith(" -")
    assert next(line for line in table.splitlines() if line.startswith("rfdn-l ")).endswith(" -")


def test_a_scores_note_is_shown_up_to_its_first_comma():
    edsr = next(line for line in format_zoo_table(4, macs=False, names=["edsr"]).splitlines() if line.startswith("edsr "))
    assert "Set5 32.60/0.9000 (classic, published, width 1.0 (teacher))" in edsr
    assert "CSD-trained" not in edsr


def test_channel_splitting_models_list_their_widths():
    table = format_zoo_table(scale=4, macs=False, names=["edsr-baseline", "imdn"])
    params = int(_rows(table)["edsr-baseline"][4].replace(",", ""))
    widths = next(line for line in table.splitlines() if "params used per width" in line)
    assert f"params used per width 1: {params / 1e6:.2f}M, 0.75: " in widths
    assert sum("params used per width" in line for line in table.splitlines()) == 1, "imdn has no widths"


def test_unsupported_scale_is_marked():
    table = format_zoo_table(scale=5, macs=False, names=["imdn", "bicubic"])
    assert f"{'imdn':<{zoo_table.NAME_WIDTH}} 2,3,4    (no x5)" in table
    assert _rows(table)["bicubic"][4] == "0"


@pytest.mark.parametrize("name,ntire_gmacs", [("e-rfdn", 27.10), ("dipnet", 14.90), ("efdn", 16.70)])
def test_macs_at_the_ntire_input_match_the_challenge_reports(name, ntire_gmacs):
    """NTIRE 2022/2023 efficient-SR reports (methods.md): RFDN baseline 27.10 G, DIPNet 14.90 G at 3x256x256;
    the NTIRE 2025 kit's EFDN baseline 16.70 G (its fvcore count adds ESA's bilinear upsampling, 0.013 G, to
    the 16.69 G of conv MACs counted here)."""
    macs = macs_at_ntire_input(get_entry(name), 4)
    assert macs / 1e9 == pytest.approx(ntire_gmacs, rel=3e-3)
    row = _rows(format_zoo_table(4, macs=True, names=[name]))[name]
    assert row[5] == f"{macs / 1e9:.2f}"


def test_macs_of_a_model_without_a_network_is_zero():
    assert macs_at_ntire_input(get_entry("bicubic"), 4) == 0


class _NeedsRealData(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if float(x.mean()) > 0:  # a value, not a shape: impossible on the meta device
            return self.conv(x)
        return x


def test_a_model_that_cannot_be_counted_on_meta_says_n_a(monkeypatch):
    entry = ZooEntry(name="fussy", description="needs real data", factory=lambda scale: _NeedsRealData(), scales=None)
    assert macs_at_ntire_input(entry, 2) is None
    monkeypatch.setattr(zoo_table, "ZOO", {"fussy": entry})
    row = next(line for line in format_zoo_table(scale=2).splitlines() if line.startswith("fussy"))
    assert row.split()[4:6] == ["12", "n/a"]  # 3x3 weights + 3 biases


# --------------------------------------------------------------------------------------------------
# The built-in model's row, and whether official weights are on this machine
# --------------------------------------------------------------------------------------------------


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty $DISTILLSR_HOME, downloads allowed (from a fake server), and any attempt to reach
    the network fails the test."""
    import socket
    import urllib.request

    from support.downloads import refusing_opener

    def refuse(*args, **kwargs):
        raise AssertionError("the zoo listing used the network")

    monkeypatch.setattr(urllib.request, "urlopen", refusing_opener)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setenv("DISTILLSR_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DISTILLSR_OFFLINE", raising=False)
    return tmp_path / "home"


def _weights_column(table: str, name: str) -> str:
    header, *lines = table.splitlines()
    start = header.index("weights")
    row = next(line for line in lines if line.split() and line.split()[0] == name)
    return row[start : start + zoo_table.WEIGHTS_WIDTH].strip()


def test_the_built_in_model_comes_first_with_its_cards_facts(home):
    from distillsr.checkpoints.builtin import builtin_card, builtin_scales
    from distillsr.checkpoints.model_loading import load_builtin
    from distillsr.efficiency import count_parameters

    table = format_zoo_table(scale=4, macs=False)
    row, description = table.splitlines()[2:4]
    assert row.split()[:5] == ["builtin", ",".join(map(str, builtin_scales())), "deploy", "1", f"{count_parameters(load_builtin(4).network).total:,}"]
    set5 = next(s for s in builtin_card(4)["scores"] if s["dataset"] == "Set5")
    assert f"Set5 {set5['psnr']:.2f}/{set5['ssim']:.4f} (classic, model card)" in row
    assert _weights_column(table, "builtin") == "shipped"
    assert "distillsr's own model" in description and "dipnet architecture" in description
    assert table.splitlines()[4].startswith("bicubic "), "then the zoo, in its order"


def test_the_built_in_macs_are_counted_like_the_other_rows():
    """The shipped x4 model is a DIPNet at DIPNet's widths (its card says so): the same MACs as the dipnet row."""
    rows = _rows(format_zoo_table(scale=4, macs=True, names=["builtin", "dipnet"]))
    builtin = next(line for line in format_zoo_table(4, macs=True, names=["builtin"]).splitlines() if line.startswith("builtin"))
    assert builtin.split()[5] == rows["dipnet"][5]


def test_the_built_in_row_at_a_scale_that_is_not_shipped(monkeypatch):
    from distillsr.checkpoints import builtin

    monkeypatch.setattr(builtin, "builtin_scales", lambda: (4,))
    assert f"{'builtin':<{zoo_table.NAME_WIDTH}} 4        (no x3)" in format_zoo_table(scale=3, macs=False, names=["builtin"])
    monkeypatch.setattr(builtin, "builtin_scales", lambda: ())
    assert f"{'builtin':<{zoo_table.NAME_WIDTH}} none     (no built-in models in this installation" in format_zoo_table(4, macs=False)


def test_names_pick_the_built_in_row_or_leave_it_out():
    only_zoo = format_zoo_table(scale=4, macs=False, names=["imdn"])
    assert not any(line.startswith("builtin") for line in only_zoo.splitlines())
    picked = [line.split()[0] for line in format_zoo_table(4, macs=False, names=["imdn", "Builtin"]).splitlines()[2:]]
    assert picked[0] == "imdn" and picked[2] == "builtin", "in the order asked for"


def test_the_weights_column_says_download_with_the_size_or_dash(home):
    table = format_zoo_table(scale=4, macs=False)
    assert _weights_column(table, "e-rfdn") == "download (1.8 MB)"  # 1,754,927 bytes
    assert _weights_column(table, "imdn") == "download (2.9 MB)"  # IMDN_x4.pth, 2,879,112 bytes
    assert _weights_column(table, "rfdn") == "-" and _weights_column(table, "bicubic") == "-"
    at_x2 = format_zoo_table(scale=2, macs=False, names=["imdn", "e-rfdn"])
    assert _weights_column(at_x2, "imdn") == "download (2.8 MB)"  # IMDN_x2.pth, 2,796,052 bytes
    assert _weights_column(at_x2, "e-rfdn") == "-", "no x2 file is published for E-RFDN"
    assert not home.exists(), "listing creates nothing"


def test_the_weights_column_says_cached_once_downloaded(home, monkeypatch):
    import dataclasses
    import hashlib

    from support.downloads import DOWNLOAD_URL, FakeServer

    from distillsr.checkpoints.official_download import (
        cached_official_weights,
        weights_folder,
    )
    from distillsr.models import zoo

    data = b"official weights" * 1000
    [weights] = zoo.ZOO["dipnet"].weights
    weights = dataclasses.replace(weights, url=DOWNLOAD_URL + "DIPNet.pth", sha256=hashlib.sha256(data).hexdigest(), size=len(data))
    monkeypatch.setitem(zoo.ZOO, "dipnet", dataclasses.replace(zoo.ZOO["dipnet"], weights=(weights,)))
    assert _weights_column(format_zoo_table(4, macs=False, names=["dipnet"]), "dipnet") == "download (16.0 KB)"
    path = cached_official_weights("dipnet", opener=FakeServer({weights.url: data}), progress=None)
    assert _weights_column(format_zoo_table(4, macs=False, names=["dipnet"]), "dipnet") == "cached"
    path.unlink()
    (weights_folder("dipnet") / "DIPNet.pth").write_bytes(data)  # put back by hand: no matching record
    assert _weights_column(format_zoo_table(4, macs=False, names=["dipnet"]), "dipnet") == "cached (unchecked)"
