"""Who am I under torchrun, and how ranks agree to stop after the same iteration."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap

import torch.distributed as dist

from distillsr.training.distributed import (
    ProcessInfo,
    agreed_signal,
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
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    processes = []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), OMP_NUM_THREADS="1")
        processes.append(subprocess.Popen([sys.executable, "-c", RANK_SCRIPT], env=env, stdout=subprocess.PIPE,
                                          stderr=subprocess.PIPE, text=True))
    outputs = [process.communicate(timeout=120) for process in processes]
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-2000:]
    assert [out.split() for out, _ in outputs] == [[str(int(signal.SIGINT)), "None"]] * 2
