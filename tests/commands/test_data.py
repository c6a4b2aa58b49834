"""`distillsr data`: the catalogue listing, a one-line error for an unknown name, sub-image extraction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from distillsr.cli import main
from distillsr.data.catalogue import CATALOGUE


def test_cli_data_list_prints_the_catalogue(capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for entry in CATALOGUE:
        assert entry.name in out
    assert "3.5 GB" in out and "sha256" in out and "md5" in out
    assert main(["data", "list", "-v"]) == 0
    assert "9d0b9c463f6e35b6c62cc6a930ee2224f670b34c1df841a57670f9acf0f6c335" in capsys.readouterr().out


def test_cli_download_unknown_name_is_one_line_error(capsys, tmp_path):
    assert main(["data", "download", "nope", "--to", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("distillsr: error: unknown dataset 'nope'")


def test_cli_extract_subimages(capsys, tmp_path):
    folder = tmp_path / "hr"
    folder.mkdir()
    Image.fromarray(np.zeros((50, 50, 3), np.uint8)).save(folder / "a.png")
    assert main(["data", "extract-subimages", str(folder), str(tmp_path / "out"), "--crop", "20", "--step", "15"]) == 0
    assert "1 image(s) -> 9 sub-image(s) written" in capsys.readouterr().out
    assert len(list(Path(tmp_path / "out").glob("a_s*.png"))) == 9
