"""Upscaling speed and memory: every zoo model with weights, torch vs onnxruntime, on this CPU.

Run: ``python benchmarks/upscale_bench.py [--threads 1] [--repeats 3] [--models e-rfdn,dipnet]``
and, for the memory bound of a 4K x4 upscale with ``--tile auto``,
``python benchmarks/upscale_bench.py --memory-4k [--models e-rfdn]``.

Each measurement runs in a fresh subprocess, so its peak RSS is its own. Reports seconds per image
(median of ``--repeats``), tiles per second and peak RSS; onnxruntime is the same model exported
by ``distillsr export`` (skipped when onnxruntime is not installed).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "weights" / "official"
OFFICIAL = {
    "e-rfdn": "rfdn/RFDN_AIM.pth",
    "ddistill-sr": "ddistill_sr/DDistill-SRx4_inference.pth",
    "dipnet": "dipnet/DIPNet.pth",
    "edipv1": "dipnet/EDIPv1.pth",
    "imdn": "imdn/IMDN_x4.pth",
}

CHILD = r"""
import json, resource, sys, time
import numpy as np, torch
torch.set_num_threads({threads})
from distillsr.inference.upscaler import Upscaler
spec = json.loads(sys.argv[1])
if spec["backend"] == "onnxruntime":
    from distillsr.inference.onnx_backend import OnnxModel
    model = OnnxModel.load(spec["model"], threads={threads})
else:
    from distillsr.checkpoints.model_loading import load_or_build
    model = load_or_build(spec["name"], 4, spec["weights"])
rng = np.random.default_rng(0)
h, w = spec["size"]
image = (rng.random((h, w, 3)) * 255).astype(np.uint8)
# a smooth real-looking image: blurred noise, so models behave as on photos
from distillsr.imaging.resize import imresize
image = imresize(imresize(image, 0.125), size=(h, w))
upscaler = Upscaler(model, device="cpu", tile=spec["tile"])
times = []
tiles = 0
for _ in range(spec["repeats"]):
    count = [0]
    original = upscaler.forward_tile
    def counted(t, original=original):
        count[0] += 1
        return original(t)
    upscaler.forward_tile = counted
    start = time.perf_counter()
    out = upscaler.upscale_array(image)
    times.append(time.perf_counter() - start)
    upscaler.forward_tile = original
    tiles = count[0]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({{"seconds": times, "tiles": tiles, "peak_rss": peak, "out": list(out.shape)}}))
"""


def _run_child(spec: dict, threads: int, timeout: int) -> dict | None:
    code = CHILD.format(threads=threads)
    result = subprocess.run([sys.executable, "-c", code, json.dumps(spec)], capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        print(f"  failed: {result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode}")
        return None
    return json.loads(result.stdout.strip().splitlines()[-1])


def _export(name: str, weights: str | None, folder: Path) -> Path | None:
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return None
    target = folder / f"{name}.onnx"
    command = [sys.executable, "-m", "distillsr", "export", name, "-o", str(target), "-s", "4", "--no-verify"]
    if weights:
        command += ["-w", weights]
    result = subprocess.run(command, capture_output=True, text=True)
    return target if result.returncode == 0 else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", default=",".join(OFFICIAL))
    parser.add_argument("--tile", default="auto")
    parser.add_argument("--memory-4k", action="store_true", help="only the 3840x2160 x4 memory check")
    args = parser.parse_args()
    tile = args.tile if args.tile == "auto" else int(args.tile)
    names = [n for n in args.models.split(",") if n]
    sizes = [(2160, 3840)] if args.memory_4k else [(180, 320), (720, 1280)]
    repeats = 1 if args.memory_4k else args.repeats
    print(f"threads={args.threads}, tile={args.tile}, median of {repeats} run(s); peak RSS of the whole process")
    print(f"{'model':<13} {'backend':<12} {'input':>10} {'s/image':>9} {'tiles':>6} {'tiles/s':>8} {'peak RSS':>9} {'ort/torch':>9}")
    with tempfile.TemporaryDirectory() as scratch:
        for name in names:
            weights = str(SHARED / OFFICIAL[name]) if name in OFFICIAL and (SHARED / OFFICIAL[name]).exists() else None
            onnx_path = None if args.memory_4k else _export(name, weights, Path(scratch))
            for h, w in sizes:
                torch_time = None
                for backend in ("torch", "onnxruntime"):
                    if backend == "onnxruntime" and onnx_path is None:
                        continue
                    spec = {"name": name, "weights": weights, "backend": backend, "model": str(onnx_path),
                            "size": [h, w], "tile": tile, "repeats": repeats}
                    result = _run_child(spec, args.threads, timeout=3600)
                    if result is None:
                        continue
                    seconds = statistics.median(result["seconds"])
                    torch_time = seconds if backend == "torch" else torch_time
                    ratio = f"{seconds / torch_time:.2f}" if backend == "onnxruntime" and torch_time else ""
                    print(f"{name:<13} {backend:<12} {f'{w}x{h}':>10} {seconds:>9.2f} {result['tiles']:>6} "
                          f"{result['tiles'] / seconds:>8.2f} {result['peak_rss'] / 2**30:>8.2f}G {ratio:>9}")


if __name__ == "__main__":
    main()
