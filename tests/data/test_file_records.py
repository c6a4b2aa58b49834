"""Checksums and the hidden records of a download folder (file_records.py), through ``download`` served
offline: a wrong sha256, size or md5 is refused, a verified file is not hashed or fetched again."""

from __future__ import annotations

import hashlib

import pytest
from support.downloads import (
    DOWNLOAD_URL,
    EchoLines,
    FakeServer,
    catalogue_entry,
)

from distillsr.data.download import download
from distillsr.errors import DistillsrError


def test_wrong_checksum_is_an_error_and_leaves_no_file(tmp_path, payload):
    server = FakeServer({DOWNLOAD_URL + "blob.bin": payload})
    with pytest.raises(DistillsrError, match="sha256 is .* expected 0+") as error:
        download(catalogue_entry("blob.bin", payload, sha256="0" * 64), tmp_path, opener=server, echo=EchoLines())
    assert "\n" not in str(error.value)
    assert not (tmp_path / "blob.bin").exists() and not (tmp_path / "blob.bin.part").exists()
    with pytest.raises(DistillsrError, match="size is 299999 bytes"):
        download(catalogue_entry("blob.bin", payload), tmp_path, opener=FakeServer({DOWNLOAD_URL + "blob.bin": payload[:-1]}),
                 echo=EchoLines())


def test_md5_only_entries_are_verified_by_md5(tmp_path, payload):
    good = hashlib.md5(payload).hexdigest()
    server = FakeServer({DOWNLOAD_URL + "blob.bin": payload})
    [result] = download(catalogue_entry("blob.bin", payload, sha256=None, size=False, md5=good), tmp_path, opener=server, echo=EchoLines())
    assert result.verified
    with pytest.raises(DistillsrError, match="md5 is"):
        other = catalogue_entry("other.bin", payload, sha256=None, md5="f" * 32, url=DOWNLOAD_URL + "blob.bin")
        download(other, tmp_path, opener=server, echo=EchoLines())


def test_rerun_is_a_no_op_and_a_wrong_existing_file_is_refused(tmp_path, payload):
    server = FakeServer({DOWNLOAD_URL + "blob.bin": payload})
    download(catalogue_entry("blob.bin", payload), tmp_path, opener=server, echo=EchoLines())
    echo = EchoLines()
    [again] = download(catalogue_entry("blob.bin", payload), tmp_path, opener=server, echo=echo)
    assert len(server.requests) == 1 and not again.fetched and again.verified
    assert "already downloaded (verified)" in echo.text
    (tmp_path / "blob.bin").write_bytes(b"tampered")
    with pytest.raises(DistillsrError, match="exists but is not the catalogued file"):
        download(catalogue_entry("blob.bin", payload), tmp_path, opener=server, echo=EchoLines())


def test_a_mismatch_says_which_check_failed_and_whether_it_was_downloaded(tmp_path, payload):
    """ChecksumMismatchError carries ``problem`` and ``downloaded`` for callers that word their own line."""
    from distillsr.data.file_records import ChecksumMismatchError

    server = FakeServer({DOWNLOAD_URL + "blob.bin": payload})
    wrong = "0" * 64
    with pytest.raises(ChecksumMismatchError) as fresh:
        download(catalogue_entry("blob.bin", payload, sha256=wrong), tmp_path, opener=server, echo=EchoLines())
    assert fresh.value.downloaded
    assert fresh.value.problem == f"sha256 is {hashlib.sha256(payload).hexdigest()}, expected {wrong}"
    (tmp_path / "blob.bin").write_bytes(payload[:10])
    with pytest.raises(ChecksumMismatchError) as present:
        download(catalogue_entry("blob.bin", payload), tmp_path, opener=server, echo=EchoLines())
    assert not present.value.downloaded and present.value.problem == f"size is 10 bytes, expected {len(payload)}"
    assert len(server.requests) == 1, "a wrong file in place is not fetched over"
