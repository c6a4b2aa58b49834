"""Bringing a file into its ``.part`` (transfer.py), through ``download`` served offline: Range resumes,
a server answering 200 instead of 206, 416 for a complete part, dropped connections, HTTP errors, file:// URLs."""

from __future__ import annotations

import socket
import urllib.error

import pytest
from support.downloads import (
    DOWNLOAD_URL,
    EchoLines,
    FakeServer,
    catalogue_entry,
)

from distillsr.data.download import download
from distillsr.data.transfer import TransferError
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


# ------------------------------------------------------------------ TransferError: why, and whose fault --


def _transfer_error(tmp_path, payload, opener) -> TransferError:
    with pytest.raises(TransferError) as raised:
        download(catalogue_entry("blob.bin", payload), tmp_path, opener=opener, echo=EchoLines())
    assert "\n" not in str(raised.value)
    return raised.value


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (urllib.error.URLError(ConnectionRefusedError(111, "Connection refused")), "Connection refused"),
        (urllib.error.URLError(socket.gaierror(-2, "Name or service not known")), "Name or service not known"),
        (urllib.error.URLError("no route"), "no route"),
        (TimeoutError("timed out"), "timed out"),
    ],
)
def test_a_failed_connection_is_a_transfer_error_in_a_few_words(tmp_path, payload, error, reason):
    def failing(request, timeout=None):
        raise error

    raised = _transfer_error(tmp_path, payload, failing)
    assert raised.reason == reason and not raised.local
    assert str(raised) == f"cannot download {DOWNLOAD_URL}blob.bin: {reason}"  # no "[Errno 111]"
    assert not (tmp_path / "blob.bin.part").exists()


def test_a_cut_before_the_first_byte_leaves_no_empty_part(tmp_path, payload):
    raised = _transfer_error(tmp_path, payload, FakeServer({DOWNLOAD_URL + "blob.bin": payload}, fail_after=0))
    assert raised.reason == "stopped after 0 B (Connection reset by peer)" and not raised.local
    assert list(tmp_path.iterdir()) == []


def test_a_resume_cut_before_its_first_byte_keeps_the_bytes_it_had(tmp_path, payload):
    (tmp_path / "blob.bin.part").write_bytes(payload[:1000])
    _transfer_error(tmp_path, payload, FakeServer({DOWNLOAD_URL + "blob.bin": payload}, fail_after=0))
    assert (tmp_path / "blob.bin.part").read_bytes() == payload[:1000]


def test_an_http_protocol_error_mid_body_keeps_the_part(tmp_path, payload):
    """http.client raises IncompleteRead (not an OSError) when a chunked body stops short."""
    import http.client

    class Truncated(FakeServer):
        def __call__(self, request, timeout=None):
            response = super().__call__(request, timeout)
            read, calls = response.read, []

            def read_then_fail(size=-1):
                calls.append(size)
                if len(calls) > 1:
                    raise http.client.IncompleteRead(b"", 10)
                return read(1000)

            response.read = read_then_fail
            return response

    raised = _transfer_error(tmp_path, payload, Truncated({DOWNLOAD_URL + "blob.bin": payload}))
    assert raised.reason.startswith("stopped after 1.0 KB (IncompleteRead") and "run again to resume" in str(raised)
    assert (tmp_path / "blob.bin.part").read_bytes() == payload[:1000]


def test_a_part_that_cannot_be_opened_is_a_local_error(tmp_path, payload):
    (tmp_path / "blob.bin.part").mkdir()
    raised = _transfer_error(tmp_path, payload, FakeServer({DOWNLOAD_URL + "blob.bin": payload}, honour_range=False))
    assert raised.local and raised.reason == "Is a directory"
    assert str(raised) == f"cannot write {tmp_path / 'blob.bin.part'}: Is a directory"


def test_a_full_disk_is_a_local_error_that_keeps_what_was_written(tmp_path, payload, monkeypatch):
    import builtins
    import errno

    from distillsr.data import transfer

    class FillsUp:
        def __init__(self, stream, room):
            self.stream, self.room = stream, room

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.stream.close()

        def write(self, data):
            if len(data) > self.room:
                raise OSError(errno.ENOSPC, "No space left on device")
            self.room -= len(data)
            return self.stream.write(data)

        def __getattr__(self, name):
            return getattr(self.stream, name)

    def open_on_a_small_disk(path, mode):
        return FillsUp(builtins.open(path, mode), 150_000)

    monkeypatch.setattr(transfer, "open", open_on_a_small_disk, raising=False)
    server = FakeServer({DOWNLOAD_URL + "blob.bin": payload}, chunk=100_000)
    raised = _transfer_error(tmp_path, payload, server)
    assert raised.local and raised.reason == "stopped after 100.0 KB (No space left on device)"
    assert str(raised) == "download of blob.bin stopped after 100.0 KB (No space left on device); run again to resume"
    assert (tmp_path / "blob.bin.part").read_bytes() == payload[:100_000]
