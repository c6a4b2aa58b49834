"""distillsr.efficiency._rss: reading /proc, the three peak methods, and what each promises.

tests/efficiency/test_memory.py checks the public measure_peak_memory (clear_refs and sampling see a
64 MiB scratch tensor); these check the module's own pieces.
"""

from __future__ import annotations

import sys
import threading
import time

import pytest
import torch

from distillsr.efficiency import _rss

MiB = 2**20
linux_only = pytest.mark.skipif(not _rss._status_readable(), reason="needs /proc/self/status (Linux)")


def _scratch(hold_s: float = 0.0):
    """A run that makes 64 MiB resident for a moment and frees it."""

    def run():
        scratch = torch.ones(64 * MiB // 4)
        if hold_s:
            time.sleep(hold_s)
        return float(scratch[-1])

    return run


@linux_only
def test_status_fields_are_bytes_and_consistent():
    values = _rss.read_status_bytes("VmRSS", "VmHWM")
    assert set(values) == {"VmRSS", "VmHWM"}
    assert values["VmRSS"] > 10 * MiB, "an interpreter with torch loaded"
    assert values["VmRSS"] % 1024 == 0 and values["VmHWM"] >= values["VmRSS"]
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    by_hand = int(line.split()[1]) * 1024  # "VmRSS:   123456 kB"
    assert abs(by_hand - values["VmRSS"]) < 64 * MiB


@linux_only
def test_a_missing_field_is_an_oserror_naming_it():
    with pytest.raises(OSError, match=r"lacks \['VmNothing'\]"):
        _rss.read_status_bytes("VmRSS", "VmNothing")


@linux_only
def test_lifetime_maximum_is_at_least_the_current_rss():
    import resource

    assert _rss._maxrss_bytes() == resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    assert _rss._maxrss_bytes() >= _rss.read_status_bytes("VmRSS")["VmRSS"] - 4 * MiB


@linux_only
def test_a_reset_brings_the_high_water_mark_down_to_the_current_rss():
    _scratch()()  # a 64 MiB peak, already freed (mmap'd, so handed back to the OS)
    before = _rss.read_status_bytes("VmHWM", "VmRSS")
    assert before["VmHWM"] - before["VmRSS"] >= 50 * MiB
    if not _rss._reset_hwm():
        pytest.skip("this kernel does not reset VmHWM")
    after = _rss.read_status_bytes("VmHWM", "VmRSS")
    assert after["VmHWM"] - after["VmRSS"] <= _rss._RESET_SLACK_BYTES < 50 * MiB


@linux_only
def test_each_method_calls_run_once_and_sees_a_transient_peak():
    peaks = {}
    for method, peak in (("clear_refs", _rss._peak_clear_refs), ("sampling", _rss._peak_sampling)):
        if method == "clear_refs" and not _rss._reset_hwm():
            continue
        calls: list[float] = []
        run = _scratch(hold_s=0.1)

        def counted(run=run, calls=calls):
            calls.append(run())

        peaks[method] = peak(counted)
        assert len(calls) == 1
    assert peaks and all(p >= 50 * MiB for p in peaks.values()), peaks


@linux_only
def test_the_sampler_thread_stops_even_when_run_fails():
    def failing():
        raise RuntimeError("forward failed")

    with pytest.raises(RuntimeError, match="forward failed"):
        _rss._peak_sampling(failing)
    assert not any(t.name == "distillsr-rss-sampler" for t in threading.enumerate())


def test_the_fallbacks_are_chosen_in_order(monkeypatch):
    calls = []
    run = lambda: calls.append(1)
    monkeypatch.setattr(_rss, "_reset_hwm", lambda: False)
    monkeypatch.setattr(_rss, "_status_readable", lambda: False)
    peak, method = _rss.peak_rss_increase(run)
    assert method == _rss.METHOD_GETRUSAGE == "getrusage-maxrss"
    assert isinstance(peak, int) and peak >= 0 and calls == [1]
    if sys.platform.startswith("linux"):
        monkeypatch.setattr(_rss, "_status_readable", lambda: True)
        assert _rss.peak_rss_increase(run)[1] == _rss.METHOD_SAMPLING == "vmrss-sampling-1ms"
        assert calls == [1, 1]


def test_a_falling_rss_reads_as_zero_not_negative(monkeypatch):
    monkeypatch.setattr(_rss, "_reset_hwm", lambda: True)
    monkeypatch.setattr(_rss, "_peak_clear_refs", lambda run: -5 * MiB)
    assert _rss.peak_rss_increase(lambda: None) == (0, _rss.METHOD_CLEAR_REFS)


def test_releasing_freed_memory_collects_and_trims(monkeypatch):
    collected, trimmed = [], []
    monkeypatch.setattr(_rss.gc, "collect", lambda: collected.append(1))

    class FakeLibc:
        def malloc_trim(self, pad):
            trimmed.append(pad)

    monkeypatch.setattr(_rss.ctypes, "CDLL", lambda name: FakeLibc())
    _rss.release_freed_memory()
    assert collected == [1]
    assert trimmed == ([0] if sys.platform.startswith("linux") else [])


def test_releasing_is_best_effort_without_glibc(monkeypatch):
    def no_libc(name):
        raise OSError("no such library")

    monkeypatch.setattr(_rss.ctypes, "CDLL", no_libc)
    _rss.release_freed_memory()  # does not raise
