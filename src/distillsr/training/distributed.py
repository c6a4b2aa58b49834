"""Who am I in a ``torchrun`` job: rank, world size, and the process group.

The same ``distillsr train`` command runs alone or under ``torchrun --nproc_per_node N``; torchrun
announces itself through ``RANK``/``WORLD_SIZE``/``LOCAL_RANK``. NCCL is used on GPUs, gloo on CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass(frozen=True)
class ProcessInfo:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def process_info() -> ProcessInfo:
    return ProcessInfo(
        rank=int(os.environ.get("RANK", 0)),
        world_size=int(os.environ.get("WORLD_SIZE", 1)),
        local_rank=int(os.environ.get("LOCAL_RANK", 0)),
    )


def init_distributed(info: ProcessInfo, device: torch.device, backend: str = "auto") -> None:
    """Join the process group torchrun set up (no-op for a single process)."""
    if not info.distributed or dist.is_initialized():
        return
    if backend == "auto":
        backend = "nccl" if device.type == "cuda" else "gloo"
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist.init_process_group(backend=backend)


def barrier(info: ProcessInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.barrier()


def agreed_signal(info: ProcessInfo, signum: int | None, device: torch.device) -> int | None:
    """The stop request of any rank, so that every rank stops after the same iteration.

    Ranks get a terminal's Ctrl-C at slightly different moments; one that stopped alone would
    leave the others waiting in the next gradient all-reduce. One tiny all-reduce per iteration
    costs little next to the step's own, and the loop already waits for the loss every iteration.
    """
    if not info.distributed or not dist.is_initialized():
        return signum
    flag = torch.tensor([signum or 0], dtype=torch.int32, device=device)
    dist.all_reduce(flag, op=dist.ReduceOp.MAX)
    return int(flag.item()) or None


def group_rank_and_size() -> tuple[int, int]:
    """(rank, world size) of the process group in use, (0, 1) without one.

    For code that runs inside a step (losses, log lines), which sees the group, not the ProcessInfo.
    """
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Each value averaged over the ranks of the process group (unchanged without one).

    The loss a log line shows is then the whole batch's, as one process would print it, not rank 0's
    share. Every rank logs after the same iterations with the same keys, so the collective lines up.
    """
    _, size = group_rank_and_size()
    if not values or size == 1:
        return values
    keys = sorted(values)
    total = torch.tensor([float(values[key]) for key in keys], dtype=torch.float64, device=device)
    dist.all_reduce(total)
    return dict(zip(keys, (total / size).tolist()))


def shutdown(info: ProcessInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()
