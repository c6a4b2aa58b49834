"""``download`` end to end, exercised offline (a fake opener serves local bytes): a verified file renamed
into place, the checksum reported, an archive extracted once, or checked when it is kept packed.

The parts are tested beside their modules: test_transfer.py (resuming), test_file_records.py
(checksums, records), test_archives.py (integrity, safe extraction)."""

from __future__ import annotations

import hashlib

import pytest
from support.downloads import (
    DOWNLOAD_URL,
    EchoLines,
    FakeServer,
    catalogue_entry,
    tar_bytes,
    zip_bytes,
)

from distillsr.data.download import download
from distillsr.errors import DistillsrError

# ----------------------------------------------------------------------------- downloads --


def test_complete_download_is_verified_and_renamed(tmp_path, payload):
    server, echo = FakeServer({DOWNLOAD_URL + "blob.bin": payload}), EchoLines()
    [result] = download(catalogue_entry("blob.bin", payload), tmp_path, opener=server, echo=echo)
    assert result.path == tmp_path / "blob.bin" and result.path.read_bytes() == payload
    assert result.verified and result.fetched and result.sha256 == hashlib.sha256(payload).hexdigest()
    assert not (tmp_path / "blob.bin.part").exists()
    assert "sha256 verified" in echo.text
    assert server.requests == [(DOWNLOAD_URL + "blob.bin", None)]


def test_unknown_checksum_prints_the_computed_sha256(tmp_path, payload):
    echo = EchoLines()
    server = FakeServer({DOWNLOAD_URL + "blob.bin": payload})
    [result] = download(catalogue_entry("blob.bin", payload, sha256=None), tmp_path, opener=server, echo=echo)
    assert not result.verified and result.path.read_bytes() == payload
    assert f"could not be verified (no published checksum); sha256 {hashlib.sha256(payload).hexdigest()}" in echo.text


# ----------------------------------------------------------------------------- archives --


def test_zip_is_checked_extracted_once(tmp_path):
    archive = zip_bytes({"Set/HR/a.txt": b"alpha", "Set/HR/b.txt": b"beta"})
    server, echo = FakeServer({DOWNLOAD_URL + "set.zip": archive}), EchoLines()
    [result] = download(catalogue_entry("set.zip", archive), tmp_path, opener=server, echo=echo)
    assert result.extracted_to == tmp_path
    assert (tmp_path / "Set" / "HR" / "b.txt").read_bytes() == b"beta"
    (tmp_path / "Set" / "HR" / "b.txt").write_bytes(b"user edit")
    echo = EchoLines()
    download(catalogue_entry("set.zip", archive), tmp_path, opener=server, echo=echo)
    assert "already extracted" in echo.text and len(server.requests) == 1
    assert (tmp_path / "Set" / "HR" / "b.txt").read_bytes() == b"user edit"  # a no-op really is one


def test_no_extract_keeps_the_archive_packed(tmp_path):
    archive = tar_bytes({"x/y.txt": b"y"})
    server = FakeServer({DOWNLOAD_URL + "set.tar": archive})
    [result] = download(catalogue_entry("set.tar", archive), tmp_path, opener=server, extract=False, echo=EchoLines())
    assert result.extracted_to is None and not (tmp_path / "x").exists()


def test_unverifiable_archive_is_checked_even_without_extraction(tmp_path):
    tar = tar_bytes({"big.bin": bytes(5000), "second.bin": bytes(5000)})[:3000]
    with pytest.raises(DistillsrError):
        download(catalogue_entry("cut.tar", tar, sha256=None), tmp_path, opener=FakeServer({DOWNLOAD_URL + "cut.tar": tar}),
                 extract=False, echo=EchoLines())
