"""The dataset catalogue: every entry is well formed and found by its name."""

from __future__ import annotations

import re

import pytest

from distillsr.data.catalogue import CATALOGUE, get_entry
from distillsr.errors import DistillsrError


def test_catalogue_entries_are_well_formed():
    names = [entry.name for entry in CATALOGUE]
    assert len(names) == len(set(names))
    for entry in CATALOGUE:
        assert entry.files and entry.description and entry.citation and entry.license and entry.layout
        for remote in entry.files:
            assert remote.url.startswith("https://") and remote.url.rsplit("/", 1)[1] == remote.filename
            assert remote.sha256 is None or re.fullmatch(r"[0-9a-f]{64}", remote.sha256)
            assert remote.md5 is None or re.fullmatch(r"[0-9a-f]{32}", remote.md5)
            assert remote.sha256 or remote.md5 or remote.checksum == "none"
        if entry.name.startswith("div2k"):
            assert all(f.sha256 and f.size for f in entry.files)
            assert all(f.url.startswith("https://data.vision.ee.ethz.ch/cvl/DIV2K/") for f in entry.files)
    for name in ("div2k-train-hr", "div2k-valid-hr", "div2k-train-lr-bicubic-x4", "div2k-valid-lr-bicubic-x2", "flickr2k", "benchmark"):
        assert get_entry(name.upper()).name == name
    with pytest.raises(DistillsrError, match="unknown dataset 'nope'; choose one of: div2k-train-hr"):
        get_entry("nope")
