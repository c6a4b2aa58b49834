"""distillsr.atomic: a failed write never leaves a half-written file nor destroys the old one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from distillsr import atomic
from distillsr.atomic import atomic_write, atomic_write_bytes, atomic_write_text


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_bytes_and_text_are_written_and_parent_folders_created(tmp_path):
    target = tmp_path / "a" / "b" / "report.json"
    atomic_write_bytes(target, b"\x00\xffbinary")
    assert target.read_bytes() == b"\x00\xffbinary"
    atomic_write_text(target, "Größe ✓")
    assert target.read_bytes() == "Größe ✓".encode()
    assert _names(target.parent) == ["report.json"]


def test_the_write_goes_to_a_hidden_tmp_sibling_until_it_is_complete(tmp_path):
    target = tmp_path / "image.png"
    seen: list[list[str]] = []

    def write(stream):
        stream.write(b"data")
        seen.append(_names(tmp_path))

    atomic_write(target, write)
    [during] = seen
    assert len(during) == 1, "only the temporary file exists while writing"
    temp = during[0]
    assert temp.startswith(".image.png.") and temp.endswith(".tmp")
    assert _names(tmp_path) == ["image.png"]


@pytest.mark.parametrize("error", [RuntimeError("encoder exploded"), KeyboardInterrupt()], ids=["exception", "ctrl-c"])
def test_an_interrupted_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, error):
    target = tmp_path / "state.pt"
    target.write_bytes(b"previous")

    def write(stream):
        stream.write(b"half of the new")
        raise error

    with pytest.raises(type(error)):
        atomic_write(target, write)
    assert target.read_bytes() == b"previous"
    assert _names(tmp_path) == ["state.pt"]


def test_an_interrupted_first_write_creates_nothing(tmp_path):
    def write(stream):
        stream.write(b"partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "new.json", write)
    assert _names(tmp_path) == []


def test_an_existing_file_is_replaced_by_a_rename_not_rewritten_in_place(tmp_path):
    target = tmp_path / "weights.safetensors"
    target.write_bytes(b"old contents")
    old_link = tmp_path / "hard-link-to-old"
    os.link(target, old_link)  # a second name for the old inode
    old_inode = target.stat().st_ino
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_ino != old_inode
    assert old_link.read_bytes() == b"old contents", "the old file was never truncated or overwritten"


def test_data_is_synced_before_the_rename(tmp_path, monkeypatch):
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace
    monkeypatch.setattr(atomic.os, "fsync", lambda fd: (events.append("fsync"), real_fsync(fd))[1])
    monkeypatch.setattr(atomic.os, "replace", lambda a, b: (events.append("replace"), real_replace(a, b))[1])
    atomic_write_bytes(tmp_path / "x.bin", b"x")
    assert events == ["fsync", "replace"]


def test_a_failing_rename_propagates_and_cleans_up(tmp_path):
    target = tmp_path / "is-a-folder"
    (target / "inside").mkdir(parents=True)
    with pytest.raises(OSError):
        atomic_write_bytes(target, b"cannot replace a non-empty folder")
    assert _names(tmp_path) == ["is-a-folder"]
    assert _names(target) == ["inside"]


def test_a_failing_cleanup_does_not_mask_the_original_error(tmp_path, monkeypatch):
    def refuse_unlink(self, missing_ok=False):
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse_unlink)

    def write(stream):
        raise ValueError("the real problem")

    with pytest.raises(ValueError, match="the real problem"):
        atomic_write(tmp_path / "x.bin", write)


def test_a_taken_temporary_name_is_skipped_and_left_alone(tmp_path, monkeypatch):
    tokens = iter(["aaaaaaaaaaaa", "bbbbbbbbbbbb"])
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: next(tokens))
    squatter = tmp_path / ".x.bin.aaaaaaaaaaaa.tmp"
    squatter.write_bytes(b"someone else's write in progress")
    atomic_write_bytes(tmp_path / "x.bin", b"ours")
    assert (tmp_path / "x.bin").read_bytes() == b"ours"
    assert squatter.read_bytes() == b"someone else's write in progress"
    assert _names(tmp_path) == [".x.bin.aaaaaaaaaaaa.tmp", "x.bin"]


def test_giving_up_after_every_temporary_name_is_taken(tmp_path, monkeypatch):
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: "cccccccccccc")
    (tmp_path / ".x.bin.cccccccccccc.tmp").write_bytes(b"")
    with pytest.raises(FileExistsError, match="could not create a temporary file next to"):
        atomic_write_bytes(tmp_path / "x.bin", b"never written")
    assert not (tmp_path / "x.bin").exists()
