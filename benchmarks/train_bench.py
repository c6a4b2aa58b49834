"""Training speed: iterations per second of E-RFDN x4 (batch 16, LR patch 48) on this machine.

Run: ``python benchmarks/train_bench.py [--threads 1] [--iterations 20] [--device cpu|cuda]``.
Prints medians over timed chunks for (a) the bare step (forward, L1, backward, Adam) on random
tensors — the baseline — and (b) the same step fed by distillsr's data pipeline from T91 (LR made
by MATLAB bicubic, cached; random aligned patches and flips), so the ratio shows the data cost.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import torch

from distillsr.models.zoo import get_entry
from distillsr.training.losses import PixelLoss, StepOutputs

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def _time_steps(step, iterations: int, chunks: int, device: torch.device) -> list[float]:
    step()  # warm-up
    rates = []
    for _ in range(chunks):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        for _ in range(iterations):
            step()
        if device.type == "cuda":
            torch.cuda.synchronize()
        rates.append(iterations / (time.perf_counter() - start))
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iterations", type=int, default=5, help="iterations per timed chunk")
    parser.add_argument("--chunks", type=int, default=3)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--patch", type=int, default=48)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    network = get_entry("e-rfdn").build(4).to(device).train()
    optimizer = torch.optim.Adam(network.parameters(), lr=5e-4)
    loss = PixelLoss("l1")

    def step_on(lr: torch.Tensor, hr: torch.Tensor) -> None:
        sr = network(lr * 255) / 255  # E-RFDN's input range
        value = loss(StepOutputs(lr, hr, sr))
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        optimizer.step()

    lr = torch.rand(args.batch, 3, args.patch, args.patch, device=device)
    hr = torch.rand(args.batch, 3, args.patch * 4, args.patch * 4, device=device)
    rows = [("bare step (random tensors)", _time_steps(lambda: step_on(lr, hr), args.iterations, args.chunks, device))]

    t91 = SHARED / "data" / "T91" / "HR"
    if t91.is_dir():
        from distillsr.data.loader import iterate_batches, make_loader
        from distillsr.data.training import PairedTrainingSet

        dataset = PairedTrainingSet(t91, 4, lr_patch_size=args.patch, repeat=20)
        loader, sampler = make_loader(dataset, args.batch, num_workers=0, seed=0)
        batches = iterate_batches(loader, sampler)

        def fed_step() -> None:
            batch = next(batches)
            step_on(batch["lr"].to(device), batch["hr"].to(device))

        rows.append(("step fed from T91 (workers 0)", _time_steps(fed_step, args.iterations, args.chunks, device)))

    base = statistics.median(rows[0][1])
    print(f"E-RFDN x4, batch {args.batch}, LR patch {args.patch}, device {device}, threads {args.threads}")
    print(f"{'case':<32} {'median it/s':>12} {'min':>8} {'max':>8} {'vs bare':>8}")
    for name, rates in rows:
        median = statistics.median(rates)
        print(f"{name:<32} {median:>12.3f} {min(rates):>8.3f} {max(rates):>8.3f} {median / base:>8.2f}")


if __name__ == "__main__":
    main()
