"""Data loading that a training run can stop and resume without changing a single batch.

Three pieces, each small:

* :class:`ResumableSampler` — the order of each epoch is a pure function of ``(seed, epoch)``
  (a permutation from ``numpy.random.default_rng([seed, epoch])``; unlike ``seed + epoch`` two
  different seeds never share an epoch's order). It shards that order across ranks exactly as
  ``torch.utils.data.DistributedSampler`` does: rank ``r`` of ``W`` takes every ``W``-th index from
  ``r``, after padding the order by repeating its head (``drop_last=False``) or truncating it
  (``drop_last=True``) to a multiple of ``W``. Its state is ``(epoch, position)``, where
  ``position`` counts the samples each rank has *consumed* in the epoch.
* :func:`make_loader` — a ``DataLoader`` over that sampler whose workers are seeded from
  ``(seed, rank, epoch, worker id)``, for any randomness outside the dataset's own.
* :func:`iterate_batches` — the infinite batch stream the trainer pulls from: it tells the sampler
  each batch was consumed (so a checkpoint taken between batches records exactly where to
  continue) and moves both sampler and dataset to the next epoch at the end of one.

Why the consumed position is counted by :func:`iterate_batches` rather than by the sampler: the
``DataLoader`` reads the sampler ahead of the batches it has delivered (``prefetch_factor`` batches
per worker), so the sampler cannot know what the trainer has actually seen.

Workers are not persistent: each epoch's workers start after the dataset's epoch is set, so
:class:`~distillsr.data.training.PairedTrainingSet` copies in the workers see the right epoch.
"""

from __future__ import annotations

import math
import random
import signal
from collections.abc import Iterator, Sized
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Sampler, get_worker_info

from distillsr.errors import DistillsrError

_SEED_MASK = 0xFFFF_FFFF_FFFF_FFFF
STATE_VERSION = 1


class ResumableSampler(Sampler[int]):
    """Per-epoch order fixed by ``(seed, epoch)``, sharded over ranks, resumable mid-epoch."""

    def __init__(
        self,
        dataset_len: int,
        *,
        seed: int = 0,
        shuffle: bool = True,
        rank: int = 0,
        world_size: int = 1,
        drop_last: bool = True,
    ) -> None:
        if dataset_len < 1:
            raise DistillsrError(f"cannot sample from an empty dataset (length {dataset_len})")
        if world_size < 1 or not 0 <= rank < world_size:
            raise DistillsrError(f"rank {rank} is not valid for world size {world_size}")
        self.dataset_len = int(dataset_len)
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.rank = int(rank)
        self.world_size = int(world_size)
        self.drop_last = bool(drop_last)
        if self.drop_last:
            self.num_samples = self.dataset_len // self.world_size
        else:
            self.num_samples = math.ceil(self.dataset_len / self.world_size)
        if self.num_samples == 0:
            raise DistillsrError(f"{self.dataset_len} samples cannot be split over {self.world_size} ranks with drop_last")
        self.total_size = self.num_samples * self.world_size
        self.epoch = 0
        self._offset = 0  # how far into the epoch's global order all ranks together have consumed

    # ------------------------------------------------------------------------------- order --

    def epoch_order(self, epoch: int) -> np.ndarray:
        """The global order of one epoch, padded or truncated to ``total_size`` (all ranks)."""
        if self.shuffle:
            order = np.random.default_rng([self.seed & _SEED_MASK, int(epoch)]).permutation(self.dataset_len)
        else:
            order = np.arange(self.dataset_len)
        if self.total_size <= self.dataset_len:
            return order[: self.total_size]
        repeats = math.ceil((self.total_size - self.dataset_len) / self.dataset_len)
        padding = np.tile(order, repeats)[: self.total_size - self.dataset_len]
        return np.concatenate([order, padding])

    def rank_indices(self, epoch: int | None = None) -> list[int]:
        """This rank's full share of an epoch, from its start (ignores the resume position)."""
        order = self.epoch_order(self.epoch if epoch is None else epoch)
        return order[self.rank : self.total_size : self.world_size].tolist()

    def __iter__(self) -> Iterator[int]:
        order = self.epoch_order(self.epoch)
        return iter(order[self._offset + self.rank : self.total_size : self.world_size].tolist())

    def __len__(self) -> int:
        """What :meth:`__iter__` will yield now: the rest of the epoch after the resume position."""
        return len(range(self._offset + self.rank, self.total_size, self.world_size))

    # ------------------------------------------------------------------------------- state --

    @property
    def position(self) -> int:
        """Samples this rank has consumed in the current epoch."""
        return self._offset // self.world_size

    def set_epoch(self, epoch: int) -> None:
        """Start ``epoch`` from its beginning; setting the current epoch again keeps the position.

        Keeping it lets a loop that calls ``set_epoch(epoch)`` at the top of every epoch, as DDP
        loops do, still resume mid-epoch after :meth:`load_state_dict`.
        """
        if epoch < 0:
            raise DistillsrError(f"epoch must be non-negative, got {epoch}")
        if epoch != self.epoch:
            self.epoch = int(epoch)
            self._offset = 0

    def advance(self, samples: int) -> None:
        """Record that this rank (and every other rank likewise) consumed ``samples`` more."""
        self._offset = min(self.total_size, self._offset + int(samples) * self.world_size)

    def batches_per_epoch(self, batch_size: int) -> int:
        """Full batches per rank per epoch (the loader drops the last partial one)."""
        return self.num_samples // batch_size

    def state_dict(self) -> dict[str, Any]:
        """Plain ints and bools, loadable with ``torch.load(weights_only=True)``."""
        return {
            "version": STATE_VERSION,
            "epoch": self.epoch,
            "position": self.position,
            "world_size": self.world_size,
            "seed": self.seed,
            "shuffle": self.shuffle,
            "drop_last": self.drop_last,
            "dataset_len": self.dataset_len,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue where ``state`` was taken.

        The dataset length, seed and shuffle flag must match, or the order would differ and the
        resume could not be exact. A different world size is accepted: the samples consumed so
        far form a prefix of the epoch's order, so the new ranks share the rest between them
        (every remaining sample is still seen once; batches are then grouped differently).
        """
        try:
            epoch, position, old_world = int(state["epoch"]), int(state["position"]), int(state["world_size"])
        except (KeyError, TypeError, ValueError):
            raise DistillsrError("sampler state is missing epoch, position or world_size") from None
        for key in ("dataset_len", "seed", "shuffle"):
            if key in state and state[key] != getattr(self, key):
                raise DistillsrError(
                    f"cannot resume the data order: the saved sampler had {key}={state[key]!r} "
                    f"but this one has {key}={getattr(self, key)!r}"
                )
        if epoch < 0 or position < 0:
            raise DistillsrError(f"sampler state has a negative epoch or position ({epoch}, {position})")
        self.epoch = epoch
        self._offset = min(self.total_size, position * old_world)


@dataclass(frozen=True)
class WorkerSeeder:
    """``worker_init_fn`` seeding Python, NumPy and PyTorch from (seed, rank, epoch, worker id).

    A class rather than a closure so that it pickles for the ``spawn`` start method. The epoch is
    read from the dataset (when it has one) so that workers restarted each epoch do not repeat the
    previous epoch's random streams.
    """

    seed: int
    rank: int

    def __call__(self, worker_id: int) -> None:
        # Ctrl-C reaches the whole process group: a worker must leave it to the trainer, which
        # finishes its step and saves (a spawned worker would otherwise die with a traceback).
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        info = get_worker_info()
        epoch = int(getattr(info.dataset, "epoch", 0)) if info is not None else 0
        sequence = np.random.SeedSequence([self.seed & _SEED_MASK, self.rank, epoch, worker_id])
        seed32 = int(sequence.generate_state(1, dtype=np.uint32)[0])
        seed64 = int(sequence.generate_state(1, dtype=np.uint64)[0])
        random.seed(seed64)
        np.random.seed(seed32)
        torch.manual_seed(seed64)


def _set_dataset_epoch(dataset: Any, epoch: int) -> None:
    set_epoch = getattr(dataset, "set_epoch", None)
    if callable(set_epoch):
        set_epoch(epoch)


def make_loader(
    dataset: Sized,
    batch_size: int,
    *,
    num_workers: int = 0,
    seed: int = 0,
    rank: int = 0,
    world_size: int = 1,
    start_iteration: int = 0,
    shuffle: bool = True,
    pin_memory: bool = False,
) -> tuple[DataLoader, ResumableSampler]:
    """A training ``DataLoader`` (full batches only) and its :class:`ResumableSampler`.

    ``start_iteration`` positions the sampler after that many batches of this rank, for resuming
    from an iteration count alone; prefer restoring :meth:`ResumableSampler.state_dict`, which
    also survives changes of batch size.
    """
    if batch_size < 1:
        raise DistillsrError(f"batch size must be positive, got {batch_size}")
    if num_workers < 0:
        raise DistillsrError(f"num_workers must be non-negative, got {num_workers}")
    if start_iteration < 0:
        raise DistillsrError(f"start_iteration must be non-negative, got {start_iteration}")
    sampler = ResumableSampler(len(dataset), seed=seed, shuffle=shuffle, rank=rank, world_size=world_size, drop_last=True)
    per_epoch = sampler.batches_per_epoch(batch_size)
    if per_epoch == 0:
        raise DistillsrError(
            f"batch size {batch_size} is larger than the {sampler.num_samples} samples each rank gets per epoch; "
            "use a smaller batch or a larger repeat"
        )
    sampler.set_epoch(start_iteration // per_epoch)
    sampler.advance((start_iteration % per_epoch) * batch_size)
    generator = torch.Generator()
    generator.manual_seed(int(np.random.SeedSequence([seed & _SEED_MASK, rank]).generate_state(1, dtype=np.uint64)[0]))
    loader = DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=num_workers,
        worker_init_fn=WorkerSeeder(seed, rank) if num_workers > 0 else None,
        generator=generator,
        drop_last=True,
        pin_memory=pin_memory,
        persistent_workers=False,
    )
    return loader, sampler


def iterate_batches(loader: DataLoader, sampler: ResumableSampler) -> Iterator[Any]:
    """Batches forever, epoch after epoch, keeping ``sampler`` positioned at the next batch.

    A batch counts as consumed when it is handed out, so ``sampler.state_dict()`` taken after the
    trainer has used a batch resumes at the following one. Starts wherever the sampler stands
    (after :meth:`ResumableSampler.load_state_dict` that is mid-epoch).
    """
    batch_size = loader.batch_size
    if batch_size is None:
        raise DistillsrError("iterate_batches needs a loader built with batch_size (not a batch_sampler)")
    while True:
        epoch = sampler.epoch
        _set_dataset_epoch(loader.dataset, epoch)
        delivered = 0
        for batch in loader:
            delivered += 1
            sampler.advance(batch_size)
            yield batch
        if delivered == 0 and sampler.position == 0:
            raise DistillsrError("the loader produced no batch in a whole epoch; the batch size is too large")
        sampler.set_epoch(epoch + 1)
