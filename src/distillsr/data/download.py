"""Download catalogue datasets: resumable, verified, atomically renamed, safely extracted.

For each file of a :class:`~distillsr.data.catalogue.DatasetEntry`:

1. Already there and verified earlier (a hidden ``.<name>.verified`` record matching its size and
   modification time) → nothing is fetched or re-hashed; re-running is a no-op.
2. Otherwise bytes stream into ``<name>.part``. When a ``.part`` exists the request asks for the
   rest with ``Range: bytes=N-``; a ``206`` answer is appended, while a server that ignores the
   range (``200``) is followed from the start, truncating the ``.part``.
3. The size and checksum (sha256, else md5) are checked. A mismatch deletes the ``.part`` (its
   bytes cannot be trusted for a resume) and raises. Without a known checksum the computed
   sha256 is printed together with the fact that it could not be verified.
4. The ``.part`` is flushed and renamed over the final name, so a final name always holds a
   complete file.
5. Archives are checked (zip CRCs; tar headers and member extents) and extracted into the target
   folder, refusing absolute paths, ``..`` components, links leaving the folder and device files
   (path traversal). A hidden ``.<name>.extracted`` record makes extraction idempotent too.

Every failure is a :class:`~distillsr.errors.DistillsrError` with a one-line message; an
interrupted transfer keeps its ``.part`` so the next run resumes.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tarfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

from distillsr.atomic import atomic_write_text
from distillsr.data.catalogue import DatasetEntry, RemoteFile, format_size, get_entry
from distillsr.errors import DistillsrError

Echo = Callable[[str], None]
Progress = Callable[[int, "int | None"], None]

CHUNK_SIZE = 1 << 20
_CONTENT_RANGE = re.compile(r"bytes\s+(\d+)-(\d+)/(\d+|\*)")


@dataclass(frozen=True)
class DownloadResult:
    """What happened to one file."""

    path: Path
    sha256: str
    verified: bool
    fetched: bool
    extracted_to: Path | None


# ------------------------------------------------------------------------------------- hashing --


def _hash_file(path: Path) -> tuple[str, str]:
    """(sha256, md5) in one pass: md5 is only needed for entries without a published sha256."""
    sha, md5 = hashlib.sha256(), hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_SIZE):
            sha.update(chunk)
            md5.update(chunk)
    return sha.hexdigest(), md5.hexdigest()


def _record_path(folder: Path, filename: str, kind: str) -> Path:
    return folder / f".{filename}.{kind}"


def _read_record(path: Path) -> dict[str, Any] | None:
    try:
        record = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def _stamp(path: Path) -> dict[str, int]:
    info = path.stat()
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns}


def _mismatch(remote: RemoteFile, size: int, sha256: str, md5: str) -> str | None:
    """Why the bytes are not the catalogued file, or None when they are (or nothing is known)."""
    if remote.size is not None and size != remote.size:
        return f"size is {size} bytes, expected {remote.size}"
    if remote.sha256 and sha256 != remote.sha256.lower():
        return f"sha256 is {sha256}, expected {remote.sha256}"
    if remote.md5 and md5 != remote.md5.lower():
        return f"md5 is {md5}, expected {remote.md5}"
    return None


def _is_checkable(remote: RemoteFile) -> bool:
    return bool(remote.sha256 or remote.md5)


# ------------------------------------------------------------------------------------ transfer --


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
        raise DistillsrError(f"cannot download {url}: HTTP {error.code} {error.reason}") from None
    except urllib.error.URLError as error:
        raise DistillsrError(f"cannot download {url}: {error.reason}") from None
    except OSError as error:
        raise DistillsrError(f"cannot download {url}: {error.strerror or error}") from None
    return response, _status(response)


def _close(response: Any) -> None:
    close = getattr(response, "close", None)
    if callable(close):
        close()


def _fetch(
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
            raise DistillsrError(f"cannot download {remote.url}: HTTP {status}")
        append = False
        if start and status == 206:
            content_range = _CONTENT_RANGE.match(_header(response, "Content-Range") or "")
            if content_range is not None and int(content_range.group(1)) != start:
                raise DistillsrError(
                    f"cannot resume {remote.filename}: asked for byte {start}, the server sent from {content_range.group(1)}"
                )
            append = True
        elif start:
            echo(f"{remote.filename}: the server ignored the resume request; downloading again from the start")
            start = 0
        elif status == 206:
            raise DistillsrError(f"cannot download {remote.url}: partial content answered to a full request")
        length = _header(response, "Content-Length")
        expected = int(length) if length and length.isdigit() else None
        total = remote.size or (start + expected if expected is not None else None)
        _stream(response, part, append=append, start=start, expected=expected, total=total, name=remote.filename, progress=progress)
    finally:
        _close(response)


def _stream(
    response: Any, part: Path, *, append: bool, start: int, expected: int | None, total: int | None, name: str, progress: Progress | None
) -> None:
    received = 0
    try:
        with open(part, "ab" if append else "wb") as stream:
            while chunk := response.read(CHUNK_SIZE):
                stream.write(chunk)
                received += len(chunk)
                if progress is not None:
                    progress(start + received, total)
            stream.flush()
            os.fsync(stream.fileno())
    except OSError as error:  # includes dropped connections, timeouts and a full disk
        raise DistillsrError(
            f"download of {name} stopped after {format_size(start + received)} ({error.strerror or error}); run again to resume"
        ) from None
    if expected is not None and received < expected:
        raise DistillsrError(f"download of {name} ended early at {format_size(start + received)}; run again to resume")


# ---------------------------------------------------------------------------------- archives --


def _check_member_name(archive: Path, name: str) -> None:
    """Refuse names that would land outside the extraction folder."""
    posix = name.replace("\\", "/")
    if not posix or posix.startswith("/") or PureWindowsPath(name).drive or ".." in PurePosixPath(posix).parts:
        raise DistillsrError(f"{archive.name}: refusing to extract unsafe member path {name!r}")


def _check_tar_member(archive: Path, member: tarfile.TarInfo) -> None:
    _check_member_name(archive, member.name)
    if member.issym() or member.islnk():
        target = PurePosixPath(member.name).parent / member.linkname if member.issym() else PurePosixPath(member.linkname)
        _check_member_name(archive, str(target))
        if member.linkname.startswith("/"):
            raise DistillsrError(f"{archive.name}: refusing link {member.name!r} to an absolute path")
    elif not (member.isfile() or member.isdir()):
        raise DistillsrError(f"{archive.name}: refusing special member {member.name!r} (device, fifo or unknown type)")


def _zip_members(archive: Path) -> zipfile.ZipFile:
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as error:
        raise DistillsrError(f"{archive.name} is not a readable zip archive ({error})") from None
    return bundle


def _check_tar_members(archive: Path, bundle: tarfile.TarFile, *, read: bool) -> None:
    """Every member safe, and every file member's data present (read, or within the file's size)."""
    size = archive.stat().st_size
    end = 0
    for member in bundle.getmembers():
        _check_tar_member(archive, member)
        if not member.isfile():
            end = max(end, member.offset_data)
            continue
        end = max(end, member.offset_data + -(-member.size // tarfile.BLOCKSIZE) * tarfile.BLOCKSIZE)
        if read:
            reader = bundle.extractfile(member)
            while reader is not None and reader.read(CHUNK_SIZE):
                pass
        elif member.offset_data + member.size > size:
            raise DistillsrError(f"{archive.name} is truncated: member {member.name!r} runs past the end of the file")
    if not read:
        # tarfile stops quietly at a cut-off header, so a cut between members is only visible as
        # the missing end-of-archive marker (zero blocks) after the last member
        with open(archive, "rb") as stream:
            stream.seek(end)
            if stream.read(tarfile.BLOCKSIZE) != bytes(tarfile.BLOCKSIZE):
                raise DistillsrError(f"{archive.name} is truncated: its end-of-archive marker is missing")


def check_archive(archive: Path) -> str:
    """Check integrity and member paths; returns ``"zip"`` or ``"tar"``."""
    if zipfile.is_zipfile(archive):
        with _zip_members(archive) as bundle:
            for name in bundle.namelist():
                _check_member_name(archive, name)
            try:
                bad = bundle.testzip()
            except (zipfile.BadZipFile, OSError, EOFError) as error:
                raise DistillsrError(f"{archive.name} is damaged ({error})") from None
            if bad is not None:
                raise DistillsrError(f"{archive.name} is damaged: member {bad!r} fails its CRC check")
        return "zip"
    try:
        with tarfile.open(archive, "r:") as bundle:  # uncompressed: member extents can be checked without reading
            _check_tar_members(archive, bundle, read=False)
    except tarfile.ReadError:
        try:
            with tarfile.open(archive, "r:*") as bundle:  # compressed: the only check is to read it all
                _check_tar_members(archive, bundle, read=True)
        except tarfile.TarError as error:
            raise DistillsrError(f"{archive.name} is not a readable zip or tar archive ({error})") from None
        except (OSError, EOFError) as error:
            raise DistillsrError(f"{archive.name} is damaged ({error})") from None
    except tarfile.TarError as error:
        raise DistillsrError(f"{archive.name} is not a readable tar archive ({error})") from None
    except (OSError, EOFError) as error:
        raise DistillsrError(f"{archive.name} is damaged ({error})") from None
    return "tar"


def extract_archive(archive: Path, folder: Path) -> None:
    """Check, then extract ``archive`` into ``folder`` member by member (see the module docstring)."""
    kind = check_archive(archive)
    folder.mkdir(parents=True, exist_ok=True)
    root = folder.resolve()
    try:
        if kind == "zip":
            with _zip_members(archive) as bundle:
                for member in bundle.infolist():
                    if not (root / member.filename).resolve().is_relative_to(root):
                        raise DistillsrError(f"{archive.name}: refusing to extract {member.filename!r} outside {folder}")
                    bundle.extract(member, root)
        else:
            with tarfile.open(archive) as bundle:
                members = bundle.getmembers()
                for member in members:
                    if not (root / member.name).resolve().is_relative_to(root):
                        raise DistillsrError(f"{archive.name}: refusing to extract {member.name!r} outside {folder}")
                if hasattr(tarfile, "data_filter"):
                    bundle.extractall(root, members=members, filter="data")
                else:  # Python without extraction filters: the checks above are the protection
                    bundle.extractall(root, members=members)
    except tarfile.TarError as error:
        raise DistillsrError(f"cannot extract {archive.name}: {error}") from None
    except OSError as error:
        raise DistillsrError(f"cannot extract {archive.name} into {folder}: {error.strerror or error}") from None


# ---------------------------------------------------------------------------------- download --


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
    record_path = _record_path(folder, remote.filename, "verified")
    if final.is_file():
        record = _read_record(record_path)
        settled = not verify or record is not None and (record.get("checked") or not _is_checkable(remote))
        if record is not None and record.get("stamp") == _stamp(final) and settled:
            state = "verified" if record.get("checked") else "not verifiable"
            echo(f"{remote.filename}: already downloaded ({state}); skipping")
            return final, str(record["sha256"]), bool(record.get("checked")), False
        sha256, md5 = _hash_file(final)
        problem = _mismatch(remote, final.stat().st_size, sha256, md5) if verify else None
        if problem:
            raise DistillsrError(f"{final} exists but is not the catalogued file ({problem}); delete it to download again")
        verified = _report(remote, sha256, verify, echo)
        atomic_write_text(record_path, json.dumps({"sha256": sha256, "checked": verified, "stamp": _stamp(final)}))
        return final, sha256, verified, False
    folder.mkdir(parents=True, exist_ok=True)
    size_note = f" ({format_size(remote.size)})" if remote.size else ""
    echo(f"{remote.filename}: downloading{size_note} from {remote.url}")
    _fetch(remote, part, resume=resume, opener=opener, timeout=timeout, echo=echo, progress=progress)
    if not part.is_file():
        raise DistillsrError(f"download of {remote.filename} produced no data; run again")
    sha256, md5 = _hash_file(part)
    problem = _mismatch(remote, part.stat().st_size, sha256, md5) if verify else None
    if problem:
        part.unlink()
        raise DistillsrError(f"{remote.filename} is corrupt or has changed on the server ({problem}); the partial file was removed")
    verified = _report(remote, sha256, verify, echo)
    os.replace(part, final)
    atomic_write_text(record_path, json.dumps({"sha256": sha256, "checked": verified, "stamp": _stamp(final)}))
    return final, sha256, verified, True


def _extract_once(path: Path, sha256: str, folder: Path, echo: Echo) -> Path:
    record_path = _record_path(folder, path.name, "extracted")
    record = _read_record(record_path)
    if record is not None and record.get("sha256") == sha256:
        echo(f"{path.name}: already extracted")
        return folder
    echo(f"{path.name}: checking and extracting into {folder}")
    extract_archive(path, folder)
    atomic_write_text(record_path, json.dumps({"sha256": sha256}))
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
