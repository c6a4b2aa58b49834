"""Downloads and archive checks, exercised offline: a fake opener and file:// URLs serve local bytes."""

from __future__ import annotations

import hashlib
import io
import re
import tarfile
import urllib.error
import zipfile

import numpy as np
import pytest

from distillsr.data.catalogue import DatasetEntry, RemoteFile
from distillsr.data.download import check_archive, download
from distillsr.errors import DistillsrError

URL = "https://example.invalid/files/"


class FakeResponse:
    """What urlopen returns, reduced to what the downloader reads; can fail mid-stream."""

    def __init__(self, body: bytes, status: int, headers: dict[str, str], fail_after: int | None = None):
        self._body = io.BytesIO(body)
        self.status = status
        self.headers = headers
        self._fail_after = fail_after
        self._sent = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self._fail_after is not None and self._sent >= self._fail_after:
            raise ConnectionResetError(104, "Connection reset by peer")
        if self._fail_after is not None:
            size = min(size if size > 0 else self._fail_after, self._fail_after - self._sent)
        chunk = self._body.read(size)
        self._sent += len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True


class FakeServer:
    """An ``opener`` serving in-memory files, recording each request's URL and Range header."""

    def __init__(self, files: dict[str, bytes], *, honour_range: bool = True, fail_after: int | None = None):
        self.files = files
        self.honour_range = honour_range
        self.fail_after = fail_after
        self.requests: list[tuple[str, str | None]] = []

    def __call__(self, request, timeout=None):
        url, wanted = request.full_url, request.get_header("Range")
        self.requests.append((url, wanted))
        if url not in self.files:
            raise urllib.error.HTTPError(url, 404, "Not Found", {}, None)
        data = self.files[url]
        if wanted and self.honour_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", wanted).group(1))
            if start >= len(data):
                raise urllib.error.HTTPError(url, 416, "Range Not Satisfiable", {}, None)
            body = data[start:]
            headers = {"Content-Range": f"bytes {start}-{len(data) - 1}/{len(data)}", "Content-Length": str(len(body))}
            return FakeResponse(body, 206, headers, self.fail_after)
        return FakeResponse(data, 200, {"Content-Length": str(len(data))}, self.fail_after)


def _entry(filename: str, data: bytes, *, sha256: str | None | bool = True, size: bool = True, md5: str | None = None, url=None):
    digest = hashlib.sha256(data).hexdigest() if sha256 is True else sha256
    remote = RemoteFile(url or URL + filename, filename, sha256=digest, size=len(data) if size else None, md5=md5)
    return DatasetEntry("test-set", "test data", (remote,), layout="", license="", citation="", homepage="")


class Echo(list):
    def __call__(self, line: str) -> None:
        self.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self)


@pytest.fixture
def payload() -> bytes:
    return np.random.default_rng(3).integers(0, 256, 300_000, dtype=np.uint8).tobytes()


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def _tar_bytes(members: dict[str, bytes], mode: str = "w", links: dict[str, str] | None = None) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode) as bundle:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            bundle.addfile(info, io.BytesIO(data))
        for name, target in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            bundle.addfile(info)
    return buffer.getvalue()


# ----------------------------------------------------------------------------- downloads --


def test_complete_download_is_verified_and_renamed(tmp_path, payload):
    server, echo = FakeServer({URL + "blob.bin": payload}), Echo()
    [result] = download(_entry("blob.bin", payload), tmp_path, opener=server, echo=echo)
    assert result.path == tmp_path / "blob.bin" and result.path.read_bytes() == payload
    assert result.verified and result.fetched and result.sha256 == hashlib.sha256(payload).hexdigest()
    assert not (tmp_path / "blob.bin.part").exists()
    assert "sha256 verified" in echo.text
    assert server.requests == [(URL + "blob.bin", None)]


def test_wrong_checksum_is_an_error_and_leaves_no_file(tmp_path, payload):
    server = FakeServer({URL + "blob.bin": payload})
    with pytest.raises(DistillsrError, match="sha256 is .* expected 0+") as error:
        download(_entry("blob.bin", payload, sha256="0" * 64), tmp_path, opener=server, echo=Echo())
    assert "\n" not in str(error.value)
    assert not (tmp_path / "blob.bin").exists() and not (tmp_path / "blob.bin.part").exists()
    with pytest.raises(DistillsrError, match="size is 299999 bytes"):
        download(_entry("blob.bin", payload), tmp_path, opener=FakeServer({URL + "blob.bin": payload[:-1]}), echo=Echo())


def test_resume_sends_a_range_request_and_gives_the_same_bytes(tmp_path, payload):
    (tmp_path / "blob.bin.part").write_bytes(payload[:123_456])
    server, echo = FakeServer({URL + "blob.bin": payload}), Echo()
    [result] = download(_entry("blob.bin", payload), tmp_path, opener=server, echo=echo)
    assert server.requests == [(URL + "blob.bin", "bytes=123456-")]
    assert result.path.read_bytes() == payload and result.verified
    assert "resuming" in echo.text


def test_server_ignoring_range_restarts_cleanly(tmp_path, payload):
    (tmp_path / "blob.bin.part").write_bytes(b"stale bytes from another version")
    server, echo = FakeServer({URL + "blob.bin": payload}, honour_range=False), Echo()
    [result] = download(_entry("blob.bin", payload), tmp_path, opener=server, echo=echo)
    assert server.requests[0][1] == "bytes=32-"
    assert result.path.read_bytes() == payload
    assert "ignored the resume request" in echo.text


def test_interrupted_transfer_keeps_the_part_and_resumes(tmp_path, payload):
    broken = FakeServer({URL + "blob.bin": payload}, fail_after=100_000)
    with pytest.raises(DistillsrError, match="run again to resume"):
        download(_entry("blob.bin", payload), tmp_path, opener=broken, echo=Echo())
    assert (tmp_path / "blob.bin.part").stat().st_size == 100_000
    server = FakeServer({URL + "blob.bin": payload})
    [result] = download(_entry("blob.bin", payload), tmp_path, opener=server, echo=Echo())
    assert server.requests == [(URL + "blob.bin", "bytes=100000-")]
    assert result.path.read_bytes() == payload


def test_complete_part_answered_with_416_is_verified(tmp_path, payload):
    (tmp_path / "blob.bin.part").write_bytes(payload)
    server = FakeServer({URL + "blob.bin": payload})
    [result] = download(_entry("blob.bin", payload, size=False), tmp_path, opener=server, echo=Echo())
    assert server.requests == [(URL + "blob.bin", f"bytes={len(payload)}-")]
    assert result.path.read_bytes() == payload and result.verified


def test_no_resume_discards_the_part(tmp_path, payload):
    (tmp_path / "blob.bin.part").write_bytes(payload[:10])
    server = FakeServer({URL + "blob.bin": payload})
    download(_entry("blob.bin", payload), tmp_path, opener=server, resume=False, echo=Echo())
    assert server.requests == [(URL + "blob.bin", None)]


def test_unknown_checksum_prints_the_computed_sha256(tmp_path, payload):
    echo = Echo()
    [result] = download(_entry("blob.bin", payload, sha256=None), tmp_path, opener=FakeServer({URL + "blob.bin": payload}), echo=echo)
    assert not result.verified and result.path.read_bytes() == payload
    assert f"could not be verified (no published checksum); sha256 {hashlib.sha256(payload).hexdigest()}" in echo.text


def test_md5_only_entries_are_verified_by_md5(tmp_path, payload):
    good = hashlib.md5(payload).hexdigest()
    server = FakeServer({URL + "blob.bin": payload})
    [result] = download(_entry("blob.bin", payload, sha256=None, size=False, md5=good), tmp_path, opener=server, echo=Echo())
    assert result.verified
    with pytest.raises(DistillsrError, match="md5 is"):
        download(_entry("other.bin", payload, sha256=None, md5="f" * 32, url=URL + "blob.bin"), tmp_path, opener=server, echo=Echo())


def test_http_errors_are_one_line(tmp_path, payload):
    with pytest.raises(DistillsrError, match=r"cannot download .*missing\.bin: HTTP 404 Not Found"):
        download(_entry("missing.bin", payload), tmp_path, opener=FakeServer({}), echo=Echo())

    def offline(request, timeout=None):
        raise urllib.error.URLError("Name or service not known")

    with pytest.raises(DistillsrError, match="Name or service not known"):
        download(_entry("blob.bin", payload), tmp_path, opener=offline, echo=Echo())


def test_rerun_is_a_no_op_and_a_wrong_existing_file_is_refused(tmp_path, payload):
    server = FakeServer({URL + "blob.bin": payload})
    download(_entry("blob.bin", payload), tmp_path, opener=server, echo=Echo())
    echo = Echo()
    [again] = download(_entry("blob.bin", payload), tmp_path, opener=server, echo=echo)
    assert len(server.requests) == 1 and not again.fetched and again.verified
    assert "already downloaded (verified)" in echo.text
    (tmp_path / "blob.bin").write_bytes(b"tampered")
    with pytest.raises(DistillsrError, match="exists but is not the catalogued file"):
        download(_entry("blob.bin", payload), tmp_path, opener=server, echo=Echo())


def test_file_urls_work_with_the_real_opener(tmp_path, payload):
    source = tmp_path / "served" / "blob.bin"
    source.parent.mkdir()
    source.write_bytes(payload)
    target = tmp_path / "downloads"
    target.mkdir()
    (target / "blob.bin.part").write_bytes(b"xx")  # file:// ignores Range: a clean restart
    [result] = download(_entry("blob.bin", payload, url=source.as_uri()), target, echo=Echo())
    assert result.path.read_bytes() == payload and result.verified


# ----------------------------------------------------------------------------- archives --


def test_zip_is_checked_extracted_once(tmp_path):
    archive = _zip_bytes({"Set/HR/a.txt": b"alpha", "Set/HR/b.txt": b"beta"})
    server, echo = FakeServer({URL + "set.zip": archive}), Echo()
    [result] = download(_entry("set.zip", archive), tmp_path, opener=server, echo=echo)
    assert result.extracted_to == tmp_path
    assert (tmp_path / "Set" / "HR" / "b.txt").read_bytes() == b"beta"
    (tmp_path / "Set" / "HR" / "b.txt").write_bytes(b"user edit")
    echo = Echo()
    download(_entry("set.zip", archive), tmp_path, opener=server, echo=echo)
    assert "already extracted" in echo.text and len(server.requests) == 1
    assert (tmp_path / "Set" / "HR" / "b.txt").read_bytes() == b"user edit"  # a no-op really is one


@pytest.mark.parametrize("mode,name", [("w", "set.tar"), ("w:gz", "set.tar.gz")])
def test_tar_is_extracted(tmp_path, mode, name):
    archive = _tar_bytes({"benchmark/Set5/HR/baby.txt": b"baby"}, mode)
    download(_entry(name, archive), tmp_path, opener=FakeServer({URL + name: archive}), echo=Echo())
    assert (tmp_path / "benchmark" / "Set5" / "HR" / "baby.txt").read_bytes() == b"baby"


def test_no_extract_keeps_the_archive_packed(tmp_path):
    archive = _tar_bytes({"x/y.txt": b"y"})
    [result] = download(_entry("set.tar", archive), tmp_path, opener=FakeServer({URL + "set.tar": archive}), extract=False, echo=Echo())
    assert result.extracted_to is None and not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(lambda: _tar_bytes({"ok.txt": b"1", "../evil": b"x"}), id="tar-dotdot"),
        pytest.param(lambda: _tar_bytes({"/tmp/absolute-evil": b"x"}), id="tar-absolute"),
        pytest.param(lambda: _tar_bytes({"ok.txt": b"1"}, links={"link": "../../outside"}), id="tar-symlink-out"),
        pytest.param(lambda: _zip_bytes({"ok.txt": b"1", "a/../../evil": b"x"}), id="zip-dotdot"),
    ],
)
def test_path_traversal_is_refused(tmp_path, archive):
    data = archive()
    name = "bad.zip" if data[:2] == b"PK" else "bad.tar"
    target = tmp_path / "inside" / "deeper"
    with pytest.raises(DistillsrError, match="refusing"):
        download(_entry(name, data), target, opener=FakeServer({URL + name: data}), echo=Echo())
    assert not (tmp_path / "inside" / "evil").exists() and not (tmp_path / "evil").exists()
    assert not (target / "ok.txt").exists()  # refused before anything was written


def test_damaged_archives_are_reported(tmp_path):
    tar = _tar_bytes({"big.bin": bytes(5000), "second.bin": bytes(5000)})
    for cut in (3000, 5632):  # inside the first member's data; exactly between the members
        (tmp_path / "cut.tar").write_bytes(tar[:cut])
        with pytest.raises(DistillsrError, match="truncated|damaged|not a readable"):
            check_archive(tmp_path / "cut.tar")
    (tmp_path / "whole.tar").write_bytes(tar)
    assert check_archive(tmp_path / "whole.tar") == "tar"
    good = _zip_bytes({"a.txt": b"a" * 1000})
    position = good.index(b"a" * 100)
    (tmp_path / "bad.zip").write_bytes(good[:position] + b"b" + good[position + 1 :])
    with pytest.raises(DistillsrError, match="CRC|damaged"):
        check_archive(tmp_path / "bad.zip")
    (tmp_path / "plain.txt").write_bytes(b"not an archive at all")
    with pytest.raises(DistillsrError, match="not a readable"):
        check_archive(tmp_path / "plain.txt")


def test_unverifiable_archive_is_checked_even_without_extraction(tmp_path):
    tar = _tar_bytes({"big.bin": bytes(5000), "second.bin": bytes(5000)})[:3000]
    with pytest.raises(DistillsrError):
        download(_entry("cut.tar", tar, sha256=None), tmp_path, opener=FakeServer({URL + "cut.tar": tar}), extract=False, echo=Echo())
