"""Output locations are probed before the work: a path through a file, a folder given as a file, a full disk."""

from __future__ import annotations

import errno
import os

import pytest

from distillsr import writable
from distillsr.errors import DistillsrError
from distillsr.writable import check_output_file, check_output_folder, describe_os_error


def test_a_writable_file_location_passes_and_leaves_nothing_behind(tmp_path):
    target = tmp_path / "new" / "deeper" / "report.json"
    assert check_output_file(target) == target
    assert list(tmp_path.iterdir()) == []  # no folder created, no probe file left


def test_a_file_output_that_is_a_folder_is_refused(tmp_path):
    with pytest.raises(DistillsrError, match=f"cannot write report {tmp_path}: it is a folder"):
        check_output_file(tmp_path, "report")


def test_a_path_through_a_regular_file_is_refused(tmp_path):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    with pytest.raises(DistillsrError, match=f"cannot write output {blocker / 'a' / 'b.png'}: {blocker} is a file"):
        check_output_file(blocker / "a" / "b.png")
    with pytest.raises(DistillsrError, match="it is a file, not a folder"):
        check_output_folder(blocker)


def test_a_full_disk_is_found_by_the_probe(tmp_path, monkeypatch):
    real_open = open

    def full(path, *args, **kwargs):
        if ".distillsr-write-test-" in str(path):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr("builtins.open", full)
    with pytest.raises(DistillsrError, match="cannot write output folder .*: No space left on device"):
        check_output_folder(tmp_path / "out")


def test_systemic_errors_are_the_ones_that_repeat_for_every_file():
    assert {errno.ENOSPC, errno.EROFS, errno.EACCES} <= writable.SYSTEMIC_WRITE_ERRORS
    assert errno.ENOENT not in writable.SYSTEMIC_WRITE_ERRORS


def test_describe_os_error_names_the_paths():
    assert describe_os_error(PermissionError(13, "Permission denied", "/a/b")) == "/a/b: Permission denied"
    assert describe_os_error(OSError(18, "Invalid cross-device link", "/a", None, "/b"), "cannot move") == (
        "cannot move /a -> /b: Invalid cross-device link"
    )
    assert describe_os_error(OSError("plain")) == "plain"


def test_a_pipe_or_device_is_refused_before_the_work(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(DistillsrError, match=f"cannot write report {fifo}: it is not a regular file"):
        check_output_file(fifo, "report")
    with pytest.raises(DistillsrError, match="not a regular file"):
        check_output_file("/dev/null", "report")
    assert fifo.exists() and not fifo.is_file()  # untouched
