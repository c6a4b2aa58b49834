"""Per-pixel cost of a forward at 180x320 vs 720x1280, with glibc's mmap threshold and without it.

Run: ``python benchmarks/malloc_bench.py [--repeats 3] [--models dipnet,e-rfdn]``

Each cell runs in a fresh process (1 thread) so malloc's state is its own: ``default`` leaves
glibc as it is, ``heap`` calls :func:`distillsr.inference.allocator.keep_large_blocks_on_heap`
first (what ``distillsr upscale`` does). Reports the median µs per LR pixel of untiled forwards
and the ratio of 720x1280 to 180x320 (1.0 = the large image costs no more per pixel).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "weights" / "official"
OFFICIAL = {"dipnet": "dipnet/DIPNet.pth", "e-rfdn": "rfdn/RFDN_AIM.pth"}
SIZES = ((180, 320), (720, 1280))

CELL = """
import json, statistics, sys, time, torch
from distillsr.inference.allocator import keep_large_blocks_on_heap
mode, weights, height, width, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
if mode == "heap":
    assert keep_large_blocks_on_heap()
torch.set_num_threads(1)
import distillsr
network = distillsr.load_model(weights).network.eval()
x = torch.rand(1, 3, height, width)
times = []
with torch.inference_mode():
    network(x)
    for _ in range(repeats):
        start = time.perf_counter()
        network(x)
        times.append(time.perf_counter() - start)
print(json.dumps(statistics.median(times) / (height * width) * 1e6))
"""


def _cell(mode: str, weights: Path, size: tuple[int, int], repeats: int) -> float:
    done = subprocess.run([sys.executable, "-c", CELL, mode, str(weights), *map(str, size), str(repeats)],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default="dipnet,e-rfdn")
    args = parser.parse_args()
    print("| model | malloc | µs/px 180x320 | µs/px 720x1280 | 720p / 180x320 |")
    print("|---|---|---|---|---|")
    for name in args.models.split(","):
        weights = SHARED / OFFICIAL[name]
        for mode in ("default", "heap"):
            small, large = (_cell(mode, weights, size, args.repeats) for size in SIZES)
            print(f"| {name} | {mode} | {small:.2f} | {large:.2f} | {large / small:.2f} |", flush=True)


if __name__ == "__main__":
    main()
