"""Downloads served offline: a fake opener with Range support and in-memory archives."""

from __future__ import annotations

import numpy as np

# --- downloads served offline: a fake opener and in-memory archives ----------------------------

DOWNLOAD_URL = "https://example.invalid/files/"


class FakeResponse:
    """What urlopen returns, reduced to what the downloader reads; can fail mid-stream, and can hand
    out at most ``chunk`` bytes per read (as a socket does), so a progress callback sees many steps."""

    def __init__(self, body: bytes, status: int, headers: dict[str, str], fail_after: int | None = None,
                 chunk: int | None = None):
        import io

        self._body = io.BytesIO(body)
        self.status = status
        self.headers = headers
        self._fail_after = fail_after
        self._chunk = chunk
        self._sent = 0
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if self._fail_after is not None and self._sent >= self._fail_after:
            raise ConnectionResetError(104, "Connection reset by peer")
        if self._fail_after is not None:
            size = min(size if size > 0 else self._fail_after, self._fail_after - self._sent)
        if self._chunk is not None:
            size = min(size if size > 0 else self._chunk, self._chunk)
        chunk = self._body.read(size)
        self._sent += len(chunk)
        return chunk

    def close(self) -> None:
        self.closed = True


class FakeServer:
    """An ``opener`` serving in-memory files, recording each request's URL and Range header."""

    def __init__(self, files: dict[str, bytes], *, honour_range: bool = True, fail_after: int | None = None,
                 chunk: int | None = None):
        self.files = files
        self.honour_range = honour_range
        self.fail_after = fail_after
        self.chunk = chunk
        self.requests: list[tuple[str, str | None]] = []

    def __call__(self, request, timeout=None):
        import re
        import urllib.error

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
            return FakeResponse(body, 206, headers, self.fail_after, self.chunk)
        return FakeResponse(data, 200, {"Content-Length": str(len(data))}, self.fail_after, self.chunk)


def refusing_opener(request, timeout=None):
    """An ``opener`` for code that must not download: being called at all fails the test."""
    raise AssertionError(f"the network was asked for {request.full_url}")


def catalogue_entry(filename: str, data: bytes, *, sha256: str | None | bool = True, size: bool = True,
                    md5: str | None = None, url=None):
    """A one-file catalogue entry for ``data`` (its sha256 and size unless told otherwise)."""
    import hashlib

    from distillsr.data.catalogue import DatasetEntry, RemoteFile

    digest = hashlib.sha256(data).hexdigest() if sha256 is True else sha256
    remote = RemoteFile(url or DOWNLOAD_URL + filename, filename, sha256=digest, size=len(data) if size else None, md5=md5)
    return DatasetEntry("test-set", "test data", (remote,), layout="", license="", citation="", homepage="")


class EchoLines(list):
    """An ``echo`` that keeps the lines it is given."""

    def __call__(self, line: str) -> None:
        self.append(line)

    @property
    def text(self) -> str:
        return "\n".join(self)


def download_payload() -> bytes:
    """300 kB of seeded random bytes: large enough to cut mid-transfer."""
    return np.random.default_rng(3).integers(0, 256, 300_000, dtype=np.uint8).tobytes()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def tar_bytes(members: dict[str, bytes], mode: str = "w", links: dict[str, str] | None = None) -> bytes:
    import io
    import tarfile

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
