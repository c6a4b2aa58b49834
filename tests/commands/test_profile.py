"""`distillsr profile`: the efficiency figures, and the --json report checked before the work."""

from __future__ import annotations

import json

import pytest

from distillsr.cli import main


def test_profile_prints_efficiency_figures(capsys, tmp_path):
    report = tmp_path / "p.json"
    assert main(["profile", "-m", "bicubic", "--input", "3x32x40", "--repeats", "2", "--json", str(report)]) == 0
    text = capsys.readouterr().out
    assert "MACs" in text and "Params" in text and "Activations" in text
    data = json.loads(report.read_text())
    assert data["model"] == "bicubic"
    assert data["params"]["total"] == 0


def test_profile_json_is_checked_first(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert main(["profile", "-m", "bicubic", "--json", str(blocker / "p.json")]) == 1
    assert f"cannot write --json report {blocker / 'p.json'}" in capsys.readouterr().err


@pytest.mark.skipif(not hasattr(__import__("os"), "geteuid") or __import__("os").geteuid() == 0,
                    reason="root writes into read-only folders; the parent-is-a-file cases cover root")
def test_read_only_folder_is_refused_before_work(tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o555)
    try:
        assert main(["profile", "-m", "bicubic", "--json", str(locked / "p.json")]) == 1
        assert "Permission denied" in capsys.readouterr().err
    finally:
        locked.chmod(0o755)


def test_profile_ntire_prints_the_kits_table_for_dipnet(capsys, tmp_path):
    # fresh DIPNet weights: the kit's counts do not depend on them (methods.md: 14.90 G, 72.97 M, 39 convs)
    report = tmp_path / "kit.json"
    assert main(["profile", "-m", "dipnet", "--ntire", "--repeats", "1", "--warmup", "0", "--json", str(report)]) == 0
    out = capsys.readouterr().out
    assert "LR input 3x256x256" in out
    rows = dict(line.split(" : ", 1) for line in out.splitlines() if " : " in line)
    rows = {label.strip(): value for label, value in rows.items()}
    assert rows["Params [M]"] == "0.2433"
    assert rows["FLOPs [G] (NTIRE kit)"] == "14.9011 (14,901,086,208)"
    assert rows["MACs [G] (conv, fvcore-style)"].startswith("14.8696 ")
    assert rows["Activations [M]"] == "72.9673"
    assert rows["#Conv"] == "39"
    assert rows["Runtime [ms]"].endswith("(mean of 1 runs, {} thread(s))".format(__import__("torch").get_num_threads()))
    assert "Max Mem [M]" in rows
    kit = json.loads(report.read_text())["ntire"]
    assert kit["flops"] == 14_901_086_208 and kit["conv"] == 39 and kit["params"] == 243_252


def test_profile_ntire_refuses_another_input_size(capsys):
    assert main(["profile", "-m", "bicubic", "--ntire", "--input", "3x64x64"]) == 1
    assert "--ntire counts at the kit's input 3x256x256; drop --input 3x64x64 or --ntire" in capsys.readouterr().err


def test_profile_without_ntire_keeps_its_own_table(capsys):
    assert main(["profile", "-m", "bicubic", "--input", "3x16x16", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "LR input 3x16x16" in out and "MACs (conv, fvcore-style)" in out and "Params [M]" not in out


def test_profile_width_counts_what_that_width_uses(capsys, tmp_path):
    """IMDN-CSD x2 at width 0.5 on a 16x16 LR input, counted by hand: trunk 32 channels, distilled 8,
    remaining 24, CCA hidden 2; the tail reads 32 channels and writes all 12 sub-pixel channels."""
    report = tmp_path / "p.json"
    args = ["profile", "-m", "imdn-csd", "-s", "2", "--input", "3x16x16", "--repeats", "1", "--warmup", "0"]
    assert main([*args, "--width", "0.5", "--json", str(report)]) == 0
    assert "model imdn-csd x2 at width 0.5 (params, MACs and FLOPs of that width)" in capsys.readouterr().out
    data = json.loads(report.read_text())
    assert data["width"] == 0.5
    # kernel weights per output pixel (k*k*in*out) of the convs that run at LR resolution
    block = 32 * 32 * 9 + 2 * (24 * 32 * 9) + 24 * 8 * 9 + 32 * 32
    spatial = 3 * 32 * 9 + 6 * block + 6 * 32 * 32 + 32 * 32 * 9 + 32 * 12 * 9
    cca = 32 * 2 + 2 * 32  # on the 1x1 pooled statistics, once per block
    biases = 6 * (32 + 32 + 32 + 8 + 2 + 32 + 32) + 32 + 32 + 32 + 12
    assert data["params"]["total"] == spatial + 6 * cca + biases == 176_328
    macs = 16 * 16 * spatial + 6 * cca
    assert data["ops"]["macs"] == macs == 44_655_360
    # the NTIRE kit adds one operation per activated element: three LeakyReLUs per block, CCA's ReLU, the fusion's
    assert data["ntire_flops"] == macs + 6 * (3 * 32 * 16 * 16 + 2) + 32 * 16 * 16
    assert main([*args, "--json", str(report)]) == 0
    full = json.loads(report.read_text())
    assert full["width"] == 1.0 and full["params"]["total"] == 694_404 and full["ops"]["macs"] > 3 * macs


def test_profile_width_refusals(capsys):
    assert main(["profile", "-m", "imdn", "--input", "3x16x16", "--width", "0.5"]) == 1
    assert "imdn is not a channel-splitting model" in capsys.readouterr().err
    assert main(["profile", "-m", "imdn-csd", "--input", "3x16x16", "--width", "0.6"]) == 1
    assert "imdn-csd was trained at widths 1, 0.75, 0.5, 0.25, not 0.6" in capsys.readouterr().err
