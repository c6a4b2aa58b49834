"""The contrastive loss under DistributedDataParallel, computed as one process would compute it on the whole batch.

CSD's loss is a *ratio of batch means*, not a mean of per-image losses, and ``others`` draws an
anchor's negatives from the other images of the batch. Run per rank on the local share, both change
with the number of processes: each rank would see a smaller batch of negatives and DDP would average
ratios of local means. With the helpers here every rank sees the step's whole batch of LR images (in
the single-process order) and every mean is taken over the whole batch, so a ``torchrun`` run trains
exactly the model a single process with the same global batch trains (a test checks this).

**Order.** :class:`~distillsr.data.loader.EpochOrder` deals the epoch's order to ranks like
``DistributedSampler`` does, every ``W``-th sample to each; so image ``i`` of rank ``r``'s batch is
image ``i * W + r`` of the batch one process would draw. :func:`gather_batch` restores that order.

**Gradients.** :func:`global_mean` averages a local mean over ranks with torch's autograd-aware
``all_reduce``, whose backward sums the incoming gradients over ranks: each rank's local mean then
receives ``W`` times its share of the gradient, and DDP's average over ranks divides by ``W`` again,
which is exactly the gradient of the single-process loss. (The ranks' local batches are the same
size, as the loader guarantees.)
"""

from __future__ import annotations

import torch


def gather_batch(local: torch.Tensor, rank: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(the step's whole batch in single-process order, the positions of this rank's images in it)."""
    positions = torch.arange(local.shape[0], device=local.device) * size + rank
    if size == 1:
        return local, positions
    import torch.distributed as dist

    parts = [torch.empty_like(local) for _ in range(size)]
    dist.all_gather(parts, local.contiguous())
    return torch.stack(parts, dim=1).flatten(0, 1), positions


def global_mean(local_mean: torch.Tensor, size: int) -> torch.Tensor:
    """The mean over the whole batch from each rank's mean over its equal share, differentiably."""
    if size == 1:
        return local_mean
    from torch.distributed.nn.functional import all_reduce

    return all_reduce(local_mean) / size
