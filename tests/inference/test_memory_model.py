"""inference.memory_model: a forward's peak memory counted from the tensors it creates, and cached.

The exact cases are counted by hand; the real-model case is checked against the process's own
resident memory (an independent measurement, :mod:`distillsr.efficiency.memory`).
"""

from __future__ import annotations

import json

import pytest
import torch
from support.images import LocalConvStack

from distillsr.efficiency.memory import measure_peak_memory
from distillsr.inference.memory_model import (
    CACHE_FILE,
    ForwardMemory,
    forward_memory,
    model_signature,
    peak_live_bytes,
    read_cached,
    spendable,
    store_cached,
)
from distillsr.models.zoo import build_model

X = torch.rand(1, 4, 10, 10)  # 1600 bytes
N = 1600


def test_the_peak_is_the_largest_set_of_live_tensors():
    def chain(x):
        a = x * 2
        b = a + 1  # a and b live together: 2N
        del a
        return b * 3  # b and the result: 2N again

    assert peak_live_bytes(chain, X, []) == 2 * N


def test_a_view_keeps_its_whole_storage_alive():
    def view(x):
        a = x * 2
        first = a[:, :1]  # a quarter of a, but a's storage stays
        del a
        return first + 1  # N + N/4

    assert peak_live_bytes(view, X, []) == N + N // 4


def test_the_input_and_the_weights_are_not_counted():
    conv = torch.nn.Conv2d(4, 8, 3, padding=1)
    known = list(conv.parameters())
    assert peak_live_bytes(conv, X, known) == 8 * 100 * 4  # the output alone
    assert peak_live_bytes(lambda x: x, X, []) == 0


def test_the_line_through_two_probes_predicts_a_real_model():
    """DIPNet (fresh weights: memory does not depend on them) at a size the fit never saw."""
    model = build_model("dipnet", scale=4)
    known = list(model.network.state_dict().values())
    fitted = forward_memory(model, lambda h, w: torch.rand(1, 3, h, w), known, sides=(32, 64))
    counted = peak_live_bytes(model, torch.rand(1, 3, 90, 150), known)
    assert fitted.peak(90, 150) == pytest.approx(counted, rel=0.02)
    assert fitted.pixels_within(fitted.peak(90, 150)) == pytest.approx(90 * 150, rel=0.01)


def test_the_count_agrees_with_the_process_resident_memory():
    network = LocalConvStack().eval()
    known = list(network.parameters())
    counted = peak_live_bytes(network, torch.rand(1, 3, 768, 768), known)
    resident = measure_peak_memory(network, (1, 3, 768, 768), device="cpu", warmup=1).peak_bytes
    # what an operator keeps to itself is missed, never more: the margin the budget keeps must cover it
    assert counted <= 1.05 * resident and spendable(int(resident)) <= counted, (counted, resident)


def test_the_cache_keeps_counts_by_architecture_and_survives_bad_files(tmp_path, monkeypatch):
    monkeypatch.setenv("DISTILLSR_HOME", str(tmp_path / "home"))
    model = build_model("dipnet", scale=4)
    key = model_signature(model, "bf16", torch.device("cpu"), 3)
    assert key is not None and "dipnet|x4|" in key and "bf16" in key and torch.__version__ in key
    assert key != model_signature(build_model("dipnet", scale=2), "bf16", torch.device("cpu"), 3)
    assert model_signature(LocalConvStack(), "fp32", torch.device("cpu"), 3) is None  # no description: not cached
    assert read_cached(key) is None
    store_cached(key, ForwardMemory(10.0, 600.5))
    assert read_cached(key) == ForwardMemory(10.0, 600.5)
    cache = tmp_path / "home" / CACHE_FILE
    assert json.loads(cache.read_text()) == {key: [10.0, 600.5]}
    cache.write_text("{not json")
    assert read_cached(key) is None
    store_cached(key, ForwardMemory(0.0, 1.0))  # a broken cache is replaced, not fatal
    assert read_cached(key) == ForwardMemory(0.0, 1.0)


def test_an_unwritable_cache_is_skipped(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("DISTILLSR_HOME", str(blocker / "home"))  # a folder under a file: cannot exist
    store_cached("key", ForwardMemory(0.0, 1.0))
    assert read_cached("key") is None
