"""Compatibility re-export: removed at integration.

The ``distillsr upscale`` tests moved to ``tests/commands/upscale/`` (test_inputs, test_outputs,
test_jobs, test_cli), their helpers to ``tests/commands/upscale/conftest.py``. ``tests/test_api.py``
still imports the helpers below from here; this file holds no tests.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

_CONFTEST = Path(__file__).resolve().parent / "commands" / "upscale" / "conftest.py"
_spec = importlib.util.spec_from_file_location("_upscale_test_helpers", _CONFTEST)
assert _spec is not None and _spec.loader is not None
_helpers = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_helpers)

BICUBIC_X2 = ("-m", "bicubic", "-s", "2", "-t", "0", "-q")
astronaut = _helpers.Photos.astronaut
camera = _helpers.Photos.camera
coffee = _helpers.Photos.coffee
x4_model = _helpers.x4_model


def upscale(capsys, *args: str) -> tuple[int, str, str]:
    """``distillsr upscale ARGS`` in this process: exit code, stdout, stderr."""
    return _helpers.UpscaleCommand(capsys)(*args)
