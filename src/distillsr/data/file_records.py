"""What a download folder remembers about its files: checksums, and hidden records that skip re-work.

A verified file gets a hidden ``.<name>.verified`` record holding its sha256 and the size and
modification time it had when hashed; an extracted archive a ``.<name>.extracted`` record. A rerun
that finds a record matching the file on disk skips the hashing (minutes for DIV2K) or extraction.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from distillsr.data.catalogue import RemoteFile
from distillsr.errors import DistillsrError

CHUNK_SIZE = 1 << 20


class ChecksumMismatchError(DistillsrError):
    """A file's bytes are not the catalogued ones; ``problem`` says which check failed (size, sha256, md5).

    ``downloaded`` tells a fresh download (whose ``.part`` was deleted: the server sent other bytes)
    from a file that was already in place, so a caller can word its own way out (official weights
    name the URL and ``-w``) while everyone else gets the message as it is.
    """

    def __init__(self, message: str, problem: str, *, downloaded: bool) -> None:
        super().__init__(message)
        self.problem = problem
        self.downloaded = downloaded


def hash_file(path: Path) -> tuple[str, str]:
    """(sha256, md5) in one pass: md5 is only needed for entries without a published sha256."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def record_path(folder: Path, filename: str, kind: str) -> Path:
    return folder / f".{filename}.{kind}"


def read_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def stamp(path: Path) -> dict[str, int]:
    info = path.stat()
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns}


def mismatch(remote: RemoteFile, size: int, sha256: str, md5: str) -> str | None:
    """Why the bytes are not the catalogued file, or None when they are (or nothing is known)."""
    if remote.size is not None and size != remote.size:
        return f"size is {size} bytes, expected {remote.size}"
    if remote.sha256 and sha256 != remote.sha256.lower():
        return f"sha256 is {sha256}, expected {remote.sha256}"
    if remote.md5 and md5 != remote.md5.lower():
        return f"md5 is {md5}, expected {remote.md5}"
    return None


def is_checkable(remote: RemoteFile) -> bool:
    return bool(remote.sha256 or remote.md5)
