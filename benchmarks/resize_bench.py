"""How fast is MATLAB-exact imresize? NumPy and PyTorch back ends against PIL's (inexact) bicubic.

Run: ``python benchmarks/resize_bench.py [--repeats 7] [--threads 1]``. Prints medians of several
runs and the ratio to PIL in the same run, for the resizes an SR pipeline does (x1/4 of a DIV2K-
sized HR image, x4 of its LR).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from PIL import Image

from distillsr.imaging.resize import imresize, imresize_torch


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    hr = rng.integers(0, 256, (1356, 2040, 3), dtype=np.uint8)
    lr = hr[::4, ::4].copy()
    cases = [("HR 2040x1356 -> x1/4", hr, 0.25), ("LR 510x339 -> x4", lr, 4.0)]
    print(f"threads={args.threads}, median of {args.repeats} runs (ms)")
    print(f"{'case':<24} {'PIL bicubic':>12} {'numpy uint8':>12} {'torch f32':>10} {'numpy/PIL':>10} {'torch/PIL':>10}")
    for name, image, scale in cases:
        size = (round(image.shape[1] * scale), round(image.shape[0] * scale))
        pil = Image.fromarray(image)
        tensor = torch.from_numpy(image).permute(2, 0, 1)[None].float()
        t_pil = _median_ms(lambda: pil.resize(size, Image.BICUBIC), args.repeats)
        t_np = _median_ms(lambda: imresize(image, scale), args.repeats)
        t_torch = _median_ms(lambda: imresize_torch(tensor, scale), args.repeats)
        print(f"{name:<24} {t_pil:>12.1f} {t_np:>12.1f} {t_torch:>10.1f} {t_np / t_pil:>10.1f} {t_torch / t_pil:>10.1f}")


if __name__ == "__main__":
    main()
