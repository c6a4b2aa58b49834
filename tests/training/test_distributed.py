"""Who am I under torchrun, and how ranks agree to stop after the same iteration."""

from __future__ import annotations

import signal
import textwrap

import torch.distributed as dist
from support.training import run_two_ranks

from distillsr.training.distributed import (
    ProcessInfo,
    agreed_signal,
    mean_over_ranks,
    barrier,
    init_distributed,
    process_info,
    shutdown,
)


def test_process_info_reads_what_torchrun_sets(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    alone = process_info()
    assert alone == ProcessInfo(0, 1, 0) and alone.is_main and not alone.distributed
    monkeypatch.setenv("RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_RANK", "1")
    info = process_info()
    assert (info.rank, info.world_size, info.local_rank) == (3, 4, 1)
    assert not info.is_main and info.distributed


def test_a_single_process_needs_no_process_group():
    import torch

    info = ProcessInfo()
    init_distributed(info, torch.device("cpu"))
    assert not dist.is_initialized()
    barrier(info)
    shutdown(info)
    assert agreed_signal(info, None, torch.device("cpu")) is None
    assert agreed_signal(info, signal.SIGTERM, torch.device("cpu")) == signal.SIGTERM


RANK_SCRIPT = textwrap.dedent(
    """
    import os, signal, torch
    from distillsr.training.distributed import agreed_signal, init_distributed, process_info, shutdown
    info = process_info()
    init_distributed(info, torch.device("cpu"))
    mine = signal.SIGINT if info.rank == 1 else None  # only rank 1 got the signal so far
    first = agreed_signal(info, mine, torch.device("cpu"))
    second = agreed_signal(info, None, torch.device("cpu"))
    print(first, second)
    shutdown(info)
    """
)


def test_two_ranks_agree_on_a_signal_only_one_of_them_got(tmp_path):
    ranks = run_two_ranks(RANK_SCRIPT, timeout=120)
    for code, _, err in ranks:
        assert code == 0, err[-2000:]
    outputs = [(out, err) for _, out, err in ranks]
    assert [out.split() for out, _ in outputs] == [[str(int(signal.SIGINT)), "None"]] * 2


MEAN_SCRIPT = textwrap.dedent(
    """
    import torch
    from distillsr.training.distributed import init_distributed, mean_over_ranks, process_info, shutdown
    info = process_info()
    init_distributed(info, torch.device("cpu"))
    mine = {"loss": 1.0 + 2.0 * info.rank, "l1": 0.25 * (info.rank + 1)}  # rank 0: 1, 0.25; rank 1: 3, 0.5
    print(mean_over_ranks(mine, torch.device("cpu")))
    shutdown(info)
    """
)


def test_log_values_are_averaged_over_ranks():
    ranks = run_two_ranks(MEAN_SCRIPT, timeout=120)
    for code, _, err in ranks:
        assert code == 0, err[-2000:]
    assert [out.strip() for _, out, _ in ranks] == [str({"l1": 0.375, "loss": 2.0})] * 2
    import torch

    assert mean_over_ranks({"loss": 1.5}, torch.device("cpu")) == {"loss": 1.5}  # alone: unchanged
