"""Archives (archives.py): integrity checks (truncated tar, zip CRC), and extraction that refuses any
member landing outside the target folder; extraction is driven through ``download`` served offline."""

from __future__ import annotations

import pytest
from support.downloads import (
    DOWNLOAD_URL,
    EchoLines,
    FakeServer,
    catalogue_entry,
    tar_bytes,
    zip_bytes,
)

from distillsr.data.archives import check_archive
from distillsr.data.download import download
from distillsr.errors import DistillsrError


@pytest.mark.parametrize("mode,name", [("w", "set.tar"), ("w:gz", "set.tar.gz")])
def test_tar_is_extracted(tmp_path, mode, name):
    archive = tar_bytes({"benchmark/Set5/HR/baby.txt": b"baby"}, mode)
    download(catalogue_entry(name, archive), tmp_path, opener=FakeServer({DOWNLOAD_URL + name: archive}), echo=EchoLines())
    assert (tmp_path / "benchmark" / "Set5" / "HR" / "baby.txt").read_bytes() == b"baby"


@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(lambda: tar_bytes({"ok.txt": b"1", "../evil": b"x"}), id="tar-dotdot"),
        pytest.param(lambda: tar_bytes({"/tmp/absolute-evil": b"x"}), id="tar-absolute"),
        pytest.param(lambda: tar_bytes({"ok.txt": b"1"}, links={"link": "../../outside"}), id="tar-symlink-out"),
        pytest.param(lambda: zip_bytes({"ok.txt": b"1", "a/../../evil": b"x"}), id="zip-dotdot"),
    ],
)
def test_path_traversal_is_refused(tmp_path, archive):
    data = archive()
    name = "bad.zip" if data[:2] == b"PK" else "bad.tar"
    target = tmp_path / "inside" / "deeper"
    with pytest.raises(DistillsrError, match="refusing"):
        download(catalogue_entry(name, data), target, opener=FakeServer({DOWNLOAD_URL + name: data}), echo=EchoLines())
    assert not (tmp_path / "inside" / "evil").exists() and not (tmp_path / "evil").exists()
    assert not (target / "ok.txt").exists()  # refused before anything was written


def test_damaged_archives_are_reported(tmp_path):
    tar = tar_bytes({"big.bin": bytes(5000), "second.bin": bytes(5000)})
    for cut in (3000, 5632):  # inside the first member's data; exactly between the members
        (tmp_path / "cut.tar").write_bytes(tar[:cut])
        with pytest.raises(DistillsrError, match="truncated|damaged|not a readable"):
            check_archive(tmp_path / "cut.tar")
    (tmp_path / "whole.tar").write_bytes(tar)
    assert check_archive(tmp_path / "whole.tar") == "tar"
    good = zip_bytes({"a.txt": b"a" * 1000})
    position = good.index(b"a" * 100)
    (tmp_path / "bad.zip").write_bytes(good[:position] + b"b" + good[position + 1 :])
    with pytest.raises(DistillsrError, match="CRC|damaged"):
        check_archive(tmp_path / "bad.zip")
    (tmp_path / "plain.txt").write_bytes(b"not an archive at all")
    with pytest.raises(DistillsrError, match="not a readable"):
        check_archive(tmp_path / "plain.txt")
