"""Checking and extracting downloaded archives without trusting them.

Zip CRCs are tested, tar headers and member extents checked (a cut-off tar is otherwise read
quietly as a shorter one), and extraction refuses absolute paths, ``..`` components, links that
leave the folder and device files (path traversal), member by member, before anything is written.
"""

from __future__ import annotations

import tarfile
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from distillsr.data.file_records import CHUNK_SIZE
from distillsr.errors import DistillsrError


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
