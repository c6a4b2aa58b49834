"""Peak resident-memory increase of a callable on the CPU, by the best method the OS allows.

The process's RSS already contains the interpreter, torch and the model, so the useful number is
how far RSS rises above its level just before the forward. Three methods, most exact first:

* ``clear_refs``: Linux lets a process reset its own RSS high-water mark (``VmHWM``) by writing
  ``5`` to ``/proc/self/clear_refs``; the kernel then tracks the exact peak for us.
* ``sampling``: a background thread reads ``VmRSS`` about every millisecond; peaks shorter than
  that can be missed, so it is a lower bound.
* ``getrusage``: the lifetime maximum RSS; it only moves when the forward exceeds every earlier
  peak of the process, so it is a (often very) loose lower bound.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import sys
import threading
from collections.abc import Callable
from pathlib import Path

from distillsr.errors import DistillsrError

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")
#: How far VmHWM may sit above VmRSS right after a reset before we decide the reset did nothing.
_RESET_SLACK_BYTES = 4 * 1024 * 1024

METHOD_CLEAR_REFS = "linux-clear_refs-vmhwm"  # exact peak
METHOD_SAMPLING = "vmrss-sampling-1ms"  # lower bound
METHOD_GETRUSAGE = "getrusage-maxrss"  # loose lower bound


def read_status_bytes(*keys: str) -> dict[str, int]:
    """Read the given ``/proc/self/status`` fields (reported in kB) as bytes."""
    wanted = set(keys)
    values: dict[str, int] = {}
    with _STATUS.open() as fh:
        for line in fh:
            name, _, rest = line.partition(":")
            if name in wanted:
                values[name] = int(rest.split()[0]) * 1024
    missing = wanted - values.keys()
    if missing:
        raise OSError(f"{_STATUS} lacks {sorted(missing)}")
    return values


def _reset_hwm() -> bool:
    """Reset VmHWM to the current RSS; False where the kernel refuses or ignores the request."""
    try:
        _CLEAR_REFS.write_text("5")
        status = read_status_bytes("VmHWM", "VmRSS")
    except (OSError, ValueError):
        return False
    return status["VmHWM"] - status["VmRSS"] <= _RESET_SLACK_BYTES


def _peak_clear_refs(run: Callable[[], object]) -> int:
    before = read_status_bytes("VmRSS")["VmRSS"]
    run()
    return read_status_bytes("VmHWM")["VmHWM"] - before


def _peak_sampling(run: Callable[[], object], interval_s: float = 1e-3) -> int:
    """Sample VmRSS from a thread; torch ops release the GIL, so the sampler runs alongside them."""
    before = read_status_bytes("VmRSS")["VmRSS"]
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, read_status_bytes("VmRSS")["VmRSS"])
            done.wait(interval_s)

    sampler = threading.Thread(target=sample, name="distillsr-rss-sampler", daemon=True)
    sampler.start()
    try:
        run()
        peak = max(peak, read_status_bytes("VmRSS")["VmRSS"])
    finally:
        done.set()
        sampler.join()
    return peak - before


def _maxrss_bytes() -> int:
    try:
        import resource  # POSIX only; imported here so the package still imports on Windows
    except ImportError as exc:
        raise DistillsrError("cannot measure CPU peak memory on this platform") from exc
    scale = 1 if sys.platform == "darwin" else 1024  # macOS reports bytes, Linux kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale


def _peak_getrusage(run: Callable[[], object]) -> int:
    before = _maxrss_bytes()
    run()
    return _maxrss_bytes() - before


def _status_readable() -> bool:
    try:
        read_status_bytes("VmRSS")
    except (OSError, ValueError):
        return False
    return True


def release_freed_memory() -> None:
    """Hand freed heap memory back to the OS before measuring.

    glibc keeps freed chunks (including tensors below its adaptive mmap threshold, up to 32 MiB)
    resident; a later forward reusing them would not raise RSS and its peak would read low.
    ``malloc_trim`` is glibc-only, so elsewhere this is a best-effort no-op.
    """
    gc.collect()
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass


def peak_rss_increase(run: Callable[[], object]) -> tuple[int, str]:
    """Call ``run`` once and return (peak RSS increase in bytes, method used)."""
    if _reset_hwm():
        return max(_peak_clear_refs(run), 0), METHOD_CLEAR_REFS
    if _status_readable():
        return max(_peak_sampling(run), 0), METHOD_SAMPLING
    return max(_peak_getrusage(run), 0), METHOD_GETRUSAGE
