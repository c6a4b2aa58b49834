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


def shutdown(info: ProcessInfo) -> None:
    if info.distributed and dist.is_initialized():
        dist.destroy_process_group()
