"""Bringing a file into its ``.part`` (transfer.py), through ``download`` served offline: Range resumes,
a server answering 200 instead of 206, 416 for a complete part, dropped connections, HTTP errors, file:// URLs."""

from __future__ import annotations

import urllib.error

import pytest
from support.downloads import (
    DOWNLOAD_URL,
    EchoLines,
    FakeServer,
    catalogue_entry,
)

from distillsr.data.download import download
from distillsr.errors import DistillsrError


def test_resume_sends_a_range_request_and_gives_the_same_bytes(tmp_path, payload):
    (tmp_path / "blob.bin.part").write_bytes(payload[:123_456])
    server, echo = FakeServer({DOWNLOAD_URL + "blob.bin": payload}), EchoLines()
    [result] = download(catalogue_entry("blob.bin", payload), tmp_path, opener=server, echo=echo)
    assert server.requests == [(DOWNLOAD_URL + "blob.bin", "bytes=123456-")]
    assert result.path.read_bytes() == payload and result.verified
    assert "resuming" in echo.text


def test_server_ignoring_range_restarts_cleanly(tmp_path, payload):
    (tmp_path / "blob.bin.part").write_bytes(b"stale bytes from another version")
    server, echo = FakeServer({DOWNLOAD_URL + "blob.bin": payload}, honour_range=False), EchoLines()
    [result] = download(catalogue_entry("blob.bin", payload), tmp_path, opener=server, echo=echo)
    assert server.requests[0][1] == "bytes=32-"
    assert result.path.read_bytes() == payload
    assert "ignored the resume request" in echo.text


def test_interrupted_transfer_keeps_the_part_and_resumes(tmp_path, payload):
    broken = FakeServer({DOWNLOAD_URL + "blob.bin": payload}, fail_after=100_000)
    with pytest.raises(DistillsrError, match="run again to resume"):
        download(catalogue_entry("blob.bin", payload), tmp_path, opener=broken, echo=EchoLines())
    assert (tmp_path / "blob.bin.part").stat().st_size == 100_000
    server = FakeServer({DOWNLOAD_URL + "blob.bin": payload})
    [result] = download(catalogue_entry("blob.bin", payload), tmp_path, opener=server, echo=EchoLines())
    assert server.requests == [(DOWNLOAD_URL + "blob.bin", "bytes=100000-")]
    assert result.path.read_bytes() == payload


def test_complete_part_answered_with_416_is_verified(tmp_path, payload):
    (tmp_path / "blob.bin.part").write_bytes(payload)
    server = FakeServer({DOWNLOAD_URL + "blob.bin": payload})
    [result] = download(catalogue_entry("blob.bin", payload, size=False), tmp_path, opener=server, echo=EchoLines())
    assert server.requests == [(DOWNLOAD_URL + "blob.bin", f"bytes={len(payload)}-")]
    assert result.path.read_bytes() == payload and result.verified


def test_no_resume_discards_the_part(tmp_path, payload):
    (tmp_path / "blob.bin.part").write_bytes(payload[:10])
    server = FakeServer({DOWNLOAD_URL + "blob.bin": payload})
    download(catalogue_entry("blob.bin", payload), tmp_path, opener=server, resume=False, echo=EchoLines())
    assert server.requests == [(DOWNLOAD_URL + "blob.bin", None)]


def test_http_errors_are_one_line(tmp_path, payload):
    with pytest.raises(DistillsrError, match=r"cannot download .*missing\.bin: HTTP 404 Not Found"):
        download(catalogue_entry("missing.bin", payload), tmp_path, opener=FakeServer({}), echo=EchoLines())

    def offline(request, timeout=None):
        raise urllib.error.URLError("Name or service not known")

    with pytest.raises(DistillsrError, match="Name or service not known"):
        download(catalogue_entry("blob.bin", payload), tmp_path, opener=offline, echo=EchoLines())


def test_file_urls_work_with_the_real_opener(tmp_path, payload):
    source = tmp_path / "served" / "blob.bin"
    source.parent.mkdir()
    source.write_bytes(payload)
    target = tmp_path / "downloads"
    target.mkdir()
    (target / "blob.bin.part").write_bytes(b"xx")  # file:// ignores Range: a clean restart
    [result] = download(catalogue_entry("blob.bin", payload, url=source.as_uri()), target, echo=EchoLines())
    assert result.path.read_bytes() == payload and result.verified
