"""The real ``distillsr`` command in a fresh process, and the one-line-error check every command test uses."""

from __future__ import annotations

import subprocess
import sys

# --- the real command in a fresh process ---------------------------------------------------------



def run_cli_process(*args: str) -> subprocess.CompletedProcess:
    """The real command in a fresh process, as a user runs it."""
    return subprocess.run([sys.executable, "-m", "distillsr", *args], capture_output=True, text=True, timeout=300)


def assert_one_line_error(result: subprocess.CompletedProcess, *fragments: str) -> None:
    """Exit status 1, no traceback, and exactly one ``distillsr: error:`` line holding every fragment."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("distillsr: error:")]
    assert len(errors) == 1, result.stderr
    for fragment in fragments:
        assert fragment in errors[0]
