"""Bringing one remote file into a ``.part`` file over HTTP(S) or ``file://``, resuming where it stopped.

A ``.part`` that exists is continued with ``Range: bytes=N-``: a ``206`` answer is appended (after
checking that ``Content-Range`` starts where asked), a ``200`` (a server that ignores ranges) is
followed from the start, a ``416`` means there is nothing more to send. A dropped connection or a
full disk keeps the bytes received so far, so the next run resumes. Every failure is a
:class:`TransferError`.
"""

from __future__ import annotations

import http.client
import os
import re
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

from distillsr.data.catalogue import RemoteFile, format_size
from distillsr.data.file_records import CHUNK_SIZE
from distillsr.errors import DistillsrError

Echo = Callable[[str], None]
Progress = Callable[[int, "int | None"], None]

_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


class TransferError(DistillsrError):
    """The bytes did not arrive (no network, an HTTP error, a cut) or could not be stored.

    ``reason`` says why in a few words, and ``local`` is true when the fault is on this machine
    (the ``.part`` could not be created or written: a read-only folder, a full disk). A caller that
    can offer another way out (official weights: another cache folder, or ``-w FILE``) words its
    own line from these; everyone else gets the message as it always was.
    """

    def __init__(self, message: str, reason: str, *, local: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.local = local


def _reason(error: BaseException) -> str:
    """A few words for why a connection failed: ``Connection refused``, not ``[Errno 111] Connection refused``."""
    if isinstance(error, urllib.error.URLError) and not isinstance(error, urllib.error.HTTPError):
        inner = error.reason
        return _reason(inner) if isinstance(inner, BaseException) else str(inner)
    if isinstance(error, OSError):
        return str(error.strerror or error) or type(error).__name__
    return str(error) or type(error).__name__


def _status(response: Any) -> int:
    status = getattr(response, "status", None)
    if status is None and hasattr(response, "getcode"):
        status = response.getcode()
    return 200 if status is None else int(status)  # file:// answers have no status


def _header(response: Any, name: str) -> str | None:
    headers = getattr(response, "headers", None)
    if headers is not None and hasattr(headers, "get"):
        value = headers.get(name)
        if value is not None:
            return str(value)
    getheader = getattr(response, "getheader", None)
    return getheader(name) if callable(getheader) else None


def _open(url: str, start: int, opener: Callable[..., Any], timeout: float) -> tuple[Any, int]:
    """Open ``url`` (from byte ``start`` if positive): the response and its status."""
    request = urllib.request.Request(url, headers={"User-Agent": "distillsr"})
    if start:
        request.add_header("Range", f"bytes={start}-")
    try:
        response = opener(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        if error.code == 416:
            return None, 416
        reason = f"HTTP {error.code} {error.reason}"
        raise TransferError(f"cannot download {url}: {reason}", reason) from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as error:  # no network, refused, timed out
        reason = _reason(error)
        raise TransferError(f"cannot download {url}: {reason}", reason) from None
    return response, _status(response)


def _close(response: Any) -> None:
    close = getattr(response, "close", None)
    if callable(close):
        close()


def fetch(
    remote: RemoteFile, part: Path, *, resume: bool, opener: Callable[..., Any], timeout: float, echo: Echo, progress: Progress | None
) -> None:
    """Bring ``part`` to the full file: resume it with a Range request or start it afresh."""
    start = part.stat().st_size if part.is_file() else 0
    if start and (not resume or (remote.size is not None and start > remote.size)):
        part.unlink()
        start = 0
    if start and remote.size is not None and start == remote.size:
        return  # complete already; verification decides whether it is right
    if start:
        echo(f"{remote.filename}: resuming at {format_size(start)}")
    response, status = _open(remote.url, start, opener, timeout)
    if status == 416:
        _close(response)
        return  # the server has nothing after `start`: the .part is complete or wrong, verification tells
    try:
        if status not in (200, 206):
            raise TransferError(f"cannot download {remote.url}: HTTP {status}", f"HTTP {status}")
        append = False
        if start and status == 206:
            content_range = _CONTENT_RANGE.match(_header(response, "Content-Range") or "")
            if content_range is not None and int(content_range.group(1)) != start:
                reason = f"asked for byte {start}, the server sent from {content_range.group(1)}"
                raise TransferError(f"cannot resume {remote.filename}: {reason}", reason)
            append = True
        elif start:
            echo(f"{remote.filename}: the server ignored the resume request; downloading again from the start")
            start = 0
        elif status == 206:
            reason = "partial content answered to a full request"
            raise TransferError(f"cannot download {remote.url}: {reason}", reason)
        length = _header(response, "Content-Length")
        expected = int(length) if length and length.isdigit() else None
        total = remote.size or (start + expected if expected is not None else None)
        _stream(response, part, append=append, start=start, expected=expected, total=total, name=remote.filename, progress=progress)
    finally:
        _close(response)


def _stream(
    response: Any, part: Path, *, append: bool, start: int, expected: int | None, total: int | None, name: str, progress: Progress | None
) -> None:
    """Copy the response body into ``part``, telling ``progress`` the bytes held after each chunk.

    A cut connection keeps what arrived (the next run resumes from it), except a ``.part`` this call
    created that received nothing: an empty file would only be litter. A failure to write is raised
    as ``local``: running again will not help until the disk or the folder is fixed.
    """
    received = 0
    failure: TransferError | None = None
    try:
        with open(part, "ab" if append else "wb") as stream:
            while True:
                try:
                    chunk = response.read(CHUNK_SIZE)
                except (OSError, http.client.HTTPException) as error:  # a dropped connection, a timeout
                    reason = f"stopped after {format_size(start + received)} ({_reason(error)})"
                    failure = TransferError(f"download of {name} {reason}; run again to resume", reason)
                    break
                if not chunk:
                    break
                try:
                    stream.write(chunk)
                except OSError as error:  # a full disk: what was written so far stays for a resume
                    reason = f"stopped after {format_size(start + received)} ({error.strerror or error})"
                    raise TransferError(f"download of {name} {reason}; run again to resume", reason, local=True) from None
                received += len(chunk)
                if progress is not None:
                    progress(start + received, total)
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as error:  # opening, flushing or closing the .part (a TransferError is no OSError)
        reason = str(error.strerror or error)
        raise TransferError(f"cannot write {part}: {reason}", reason, local=True) from None
    if failure is not None:
        if not append and received == 0:
            part.unlink(missing_ok=True)
        raise failure
    if expected is not None and received < expected:
        reason = f"ended early at {format_size(start + received)}"
        raise TransferError(f"download of {name} {reason}; run again to resume", reason)
