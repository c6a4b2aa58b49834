"""inference.allocator: large activations stay on the heap, measured by the page faults they cause."""

from __future__ import annotations

import json
import platform
import subprocess
import sys

import pytest

from distillsr.inference import allocator

glibc_only = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's"
)

# Five 48-channel convs on a 640x360 map: each output is 44 MB, above glibc's 32 MB mmap ceiling.
PROBE = """
import json, resource, sys, torch
from distillsr.inference.allocator import keep_large_blocks_on_heap
agreed = keep_large_blocks_on_heap() if sys.argv[1] == "heap" else None
if sys.argv[1] == "cli":  # what `distillsr upscale` leaves behind in its process
    import tempfile, numpy as np
    from PIL import Image
    from distillsr.cli import main
    folder = tempfile.mkdtemp()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder + "/a.png")
    try:
        main(["upscale", folder + "/a.png", "-o", folder + "/out", "-m", "bicubic", "-s", "2", "-q"])
    except SystemExit:
        pass
torch.set_num_threads(1)
conv = torch.nn.Conv2d(48, 48, 3, padding=1)
x = torch.rand(1, 48, 360, 640)
with torch.inference_mode():
    conv(x)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        y = conv(x)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
print(json.dumps({"agreed": agreed, "faults": after - before}))
"""


def _probe(mode: str, env: dict | None = None) -> dict:
    """Run PROBE in a fresh process; by default without the opt-out that tests/conftest.py sets."""
    import os

    if env is None:
        env = {key: value for key, value in os.environ.items() if key != allocator.DISABLE_VARIABLE}
    done = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])  # the CLI prints its summary first


@glibc_only
def test_keeping_blocks_on_the_heap_removes_most_page_faults():
    default, heap = _probe("default"), _probe("heap")
    assert heap["agreed"] is True
    # each fresh 44 MB mmap faults in ~10,800 pages; on the heap the same pages are reused
    assert default["faults"] > 5 * 10_000
    assert heap["faults"] < default["faults"] / 3


@glibc_only
def test_the_upscale_command_keeps_blocks_on_the_heap():
    default, command = _probe("default"), _probe("cli")
    assert command["faults"] < default["faults"] / 3


@glibc_only
def test_the_variable_leaves_malloc_alone(monkeypatch):
    import os

    result = _probe("heap", env={**os.environ, allocator.DISABLE_VARIABLE: "1"})
    assert result["agreed"] is False


def test_other_platforms_are_left_alone(monkeypatch):
    monkeypatch.setattr(allocator.sys, "platform", "darwin")
    assert allocator.keep_large_blocks_on_heap() is False
