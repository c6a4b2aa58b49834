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
