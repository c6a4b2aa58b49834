"""Keeping large tensors on the heap: glibc's mmap threshold doubles the per-pixel cost of big images.

glibc malloc serves every block above its mmap threshold (at most 32 MB on 64-bit) with a fresh
``mmap`` and hands it back with ``munmap`` when freed. A convolution's output at 720p is 40-70 MB,
so every layer of every forward pays for page faults and zero-filling anew: a 48-channel 3x3 conv
on a 640x360 map takes 1.07 s for five calls with 270k minor faults, and 0.58 s with 32k once the
blocks stay on the heap (measured on this project's 2-core machine).

:func:`keep_large_blocks_on_heap` turns mmap off for malloc (``M_MMAP_MAX = 0``) and stops
trimming the heap below 1 GiB (``M_TRIM_THRESHOLD``), so freed activations are reused by the next
layer. The price is that freed memory stays with the process (trimmed only above 1 GiB, and a
fragmented heap cannot shrink): right for a command that upscales and ends, so ``distillsr
upscale`` calls it at start-up (tile sizes are counted from the model, not read off the RSS, so
nothing it decides is fooled by the kept blocks). The Python API leaves a caller's process alone:
a benchmark process holding many 720p outputs grew from 15.6 GB to an out-of-memory kill at 23.6 GB
with it on. A script that only upscales may call it itself. ``DISTILLSR_KEEP_MALLOC=1`` opts out
(the test suite sets it, since its memory measurements read RSS in-process).
"""

from __future__ import annotations

import ctypes
import platform
import sys

M_TRIM_THRESHOLD = -1  # glibc's mallopt parameter numbers (malloc.h)
M_MMAP_MAX = -4
TRIM_THRESHOLD = 1 << 30
DISABLE_VARIABLE = "DISTILLSR_KEEP_MALLOC"  # set to 1 to leave malloc as it is


def keep_large_blocks_on_heap() -> bool:
    """Ask glibc to keep large blocks on the heap; True when it agreed (False elsewhere, harmlessly)."""
    import os

    if os.environ.get(DISABLE_VARIABLE, "").strip() not in ("", "0"):
        return False
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
