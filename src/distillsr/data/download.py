"""Download catalogue datasets: resumable, verified, atomically renamed, safely extracted.

For each file of a :class:`~distillsr.data.catalogue.DatasetEntry`:

1. Already there and verified earlier (a hidden ``.<name>.verified`` record matching its size and
   modification time) → nothing is fetched or re-hashed; re-running is a no-op.
2. Otherwise bytes stream into ``<name>.part`` (:mod:`.transfer`). When a ``.part`` exists the request asks for the
   rest with ``Range: bytes=N-``; a ``206`` answer is appended, while a server that ignores the
   range (``200``) is followed from the start, truncating the ``.part``.
3. The size and checksum (sha256, else md5) are checked (:mod:`.file_records`). A mismatch deletes the ``.part`` (its
   bytes cannot be trusted for a resume) and raises. Without a known checksum the computed
   sha256 is printed together with the fact that it could not be verified.
4. The ``.part`` is flushed and renamed over the final name, so a final name always holds a
   complete file.
5. Archives are checked (:mod:`.archives`) (zip CRCs; tar headers and member extents) and extracted into the target
   folder, refusing absolute paths, ``..`` components, links leaving the folder and device files
   (path traversal). A hidden ``.<name>.extracted`` record makes extraction idempotent too.

Every failure is a :class:`~distillsr.errors.DistillsrError` with a one-line message; an
interrupted transfer keeps its ``.part`` so the next run resumes. Two kinds carry what a caller
with another way out needs to word its own line: :class:`~distillsr.data.transfer.TransferError`
(the bytes did not arrive) and :class:`~distillsr.data.file_records.ChecksumMismatchError`.
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distillsr.atomic import atomic_write_text
from distillsr.data.archives import check_archive, extract_archive
from distillsr.data.catalogue import DatasetEntry, RemoteFile, format_size, get_entry
from distillsr.data.file_records import (
    ChecksumMismatchError,
    hash_file,
    is_checkable,
    mismatch,
    read_record,
    record_path,
    stamp,
)
from distillsr.data.transfer import Echo, Progress, TransferError, fetch
from distillsr.errors import DistillsrError

__all__ = ["DownloadResult", "check_archive", "download", "extract_archive", "fetch_file"]


@dataclass(frozen=True)
class DownloadResult:
    """What happened to one file."""

    path: Path
    sha256: str
    verified: bool
    fetched: bool
    extracted_to: Path | None


def _report(remote: RemoteFile, sha256: str, verify: bool, echo: Echo) -> bool:
    """Say how the file was checked; returns whether it matched a catalogued checksum."""
    if not verify:
        echo(f"{remote.filename}: not verified (verification turned off); sha256 {sha256}")
        return False
    if remote.sha256:
        echo(f"{remote.filename}: sha256 verified")
        return True
    if remote.md5:
        echo(f"{remote.filename}: md5 verified (no sha256 is published); sha256 {sha256}")
        return True
    echo(f"{remote.filename}: could not be verified (no published checksum); sha256 {sha256}")
    return False


def fetch_file(
    remote: RemoteFile,
    folder: Path,
    *,
    resume: bool = True,
    verify: bool = True,
    opener: Callable[..., Any] = urllib.request.urlopen,
    timeout: float = 60.0,
    echo: Echo = print,
    progress: Progress | None = None,
) -> tuple[Path, str, bool, bool]:
    """Make ``folder/remote.filename`` the verified file: (path, sha256, verified, fetched)."""
    final = folder / remote.filename
    part = folder / f"{remote.filename}.part"
    record_file = record_path(folder, remote.filename, "verified")
    if final.is_file():
        record = read_record(record_file)
        settled = not verify or record is not None and (record.get("checked") or not is_checkable(remote))
        if record is not None and record.get("stamp") == stamp(final) and settled:
            state = "verified" if record.get("checked") else "not verifiable"
            echo(f"{remote.filename}: already downloaded ({state}); skipping")
            return final, str(record["sha256"]), bool(record.get("checked")), False
        sha256, md5 = hash_file(final)
        problem = mismatch(remote, final.stat().st_size, sha256, md5) if verify else None
        if problem:
            raise ChecksumMismatchError(
                f"{final} exists but is not the catalogued file ({problem}); delete it to download again", problem, downloaded=False
            )
        verified = _report(remote, sha256, verify, echo)
        atomic_write_text(record_file, json.dumps({"sha256": sha256, "checked": verified, "stamp": stamp(final)}))
        return final, sha256, verified, False
    folder.mkdir(parents=True, exist_ok=True)
    size_note = f" ({format_size(remote.size)})" if remote.size else ""
    echo(f"{remote.filename}: downloading{size_note} from {remote.url}")
    fetch(remote, part, resume=resume, opener=opener, timeout=timeout, echo=echo, progress=progress)
    if not part.is_file():
        raise TransferError(f"download of {remote.filename} produced no data; run again", "no data arrived")
    sha256, md5 = hash_file(part)
    problem = mismatch(remote, part.stat().st_size, sha256, md5) if verify else None
    if problem:
        part.unlink()
        raise ChecksumMismatchError(
            f"{remote.filename} is corrupt or has changed on the server ({problem}); the partial file was removed", problem, downloaded=True
        )
    verified = _report(remote, sha256, verify, echo)
    os.replace(part, final)
    atomic_write_text(record_file, json.dumps({"sha256": sha256, "checked": verified, "stamp": stamp(final)}))
    return final, sha256, verified, True


def _extract_once(path: Path, sha256: str, folder: Path, echo: Echo) -> Path:
    record_file = record_path(folder, path.name, "extracted")
    record = read_record(record_file)
    if record is not None and record.get("sha256") == sha256:
        echo(f"{path.name}: already extracted")
        return folder
    echo(f"{path.name}: checking and extracting into {folder}")
    extract_archive(path, folder)
    atomic_write_text(record_file, json.dumps({"sha256": sha256}))
    return folder


def download(
    entry: DatasetEntry | str,
    to: str | os.PathLike[str],
    *,
    resume: bool = True,
    verify: bool = True,
    extract: bool = True,
    opener: Callable[..., Any] = urllib.request.urlopen,
    timeout: float = 60.0,
    echo: Echo = print,
    progress: Progress | None = None,
) -> list[DownloadResult]:
    """Download (resuming), verify, and optionally extract every file of a catalogue entry.

    ``opener`` is called like ``urllib.request.urlopen(request, timeout=...)``; tests pass a fake
    one to serve local bytes. Without extraction, an archive whose checksum is unknown is still
    checked for integrity, since nothing else vouches for it.
    """
    dataset = get_entry(entry) if isinstance(entry, str) else entry
    folder = Path(to)
    if folder.exists() and not folder.is_dir():
        raise DistillsrError(f"download target {folder} is not a folder")
    results = []
    for remote in dataset.files:
        path, sha256, verified, fetched = fetch_file(
            remote, folder, resume=resume, verify=verify, opener=opener, timeout=timeout, echo=echo, progress=progress
        )
        extracted_to = None
        if remote.is_archive and extract:
            extracted_to = _extract_once(path, sha256, folder, echo)
        elif remote.is_archive and not verified:
            check_archive(path)
        results.append(DownloadResult(path, sha256, verified, fetched, extracted_to))
    return results
