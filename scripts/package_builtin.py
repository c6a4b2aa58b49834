"""Package a trained run as a built-in model: measured, carded, written into the package.

    python scripts/package_builtin.py RUN_FOLDER --scale 4 [--pick best|last_ema|last]

Reads ``RUN_FOLDER/models/<pick>.safetensors`` (written by ``distillsr train configs/builtin/xS.yaml``),
measures what the card states — Set5/Set14 PSNR/SSIM under the classic protocol, parameters, MACs at
3x256x256, CPU latency at 3x180x320 on one thread (median of 7) — and writes
``src/distillsr/weights/builtin_x<S>.safetensors`` with the card in its metadata (provenance.card).
Run it from the repository root with ``../shared`` beside it.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
LICENCES = {
    "dipnet": "DIPNet weights (xiumu00/DIPNet): MIT",
    "ddistill-sr": "DDistill-SR weights (icandle/DDistill-SR): Apache-2.0",
    "e-rfdn": "E-RFDN weights (njulj/RFDN): MIT",
}


def _wall_time(run: Path, iteration: int) -> float:
    """Seconds of training up to ``iteration``, from the log. A resumed run restarts its clock, so
    each drop of the ``seconds`` column starts a new segment that adds to the ones before."""
    rows = list(csv.DictReader(open(run / "log.csv", newline="")))
    offset, previous, wall = 0.0, 0.0, 0.0
    for row in rows:
        if not row.get("seconds"):
            continue
        seconds = float(row["seconds"])
        if seconds < previous:
            offset += previous
        previous = seconds
        if int(row["iteration"]) <= iteration:
            wall = offset + seconds
    return wall


def _describe_start(path: Path) -> str:
    """The starting weights by name; a derived start (scripts/upsampler_from_x4.py) names its source."""
    from distillsr.checkpoints.format import read_checkpoint

    if path.suffix != ".safetensors":
        return path.name
    info, _ = read_checkpoint(path)
    source = info.provenance.get("derived_from")
    if source is None:
        return path.name
    return f"{Path(source).name} ({info.provenance.get('how')}, scripts/upsampler_from_x4.py)"


def _latencies_ms(networks: list[torch.nn.Module], repeats: int = 9) -> list[float]:
    """Median 1-thread latency of each network at 3x180x320, interleaved so that noise hits all alike."""
    torch.set_num_threads(1)
    x = torch.rand(1, 3, 180, 320)
    times: list[list[float]] = [[] for _ in networks]
    with torch.inference_mode():
        for network in networks:
            network(x)
        for _ in range(repeats):
            for network, kept in zip(networks, times):
                start = time.perf_counter()
                network(x)
                kept.append((time.perf_counter() - start) * 1000)
    return [sorted(kept)[len(kept) // 2] for kept in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", type=Path)
    parser.add_argument("--scale", type=int, required=True)
    parser.add_argument("--pick", default="best", choices=["best", "last_ema", "last"])
    args = parser.parse_args()

    from distillsr import api
    from distillsr.checkpoints.format import (
        CheckpointInfo,
        read_checkpoint,
        save_checkpoint,
    )
    from distillsr.efficiency import count_ops, count_parameters
    from distillsr.stages import load_recipe

    source = args.run / "models" / f"{args.pick}.safetensors"
    info, tensors = read_checkpoint(source)
    recipe = load_recipe(REPO / "configs" / "builtin" / f"x{args.scale}.yaml")
    model = api.load_model(source, device="cpu")
    sets = [SHARED / "data" / "Set5" / "HR", SHARED / "data" / "Set14" / "HR"]
    results = api.evaluate(model, sets, scale=args.scale)
    scores = [
        {"dataset": r.dataset, "psnr": round(r.mean.psnr, 4), "ssim": round(r.mean.ssim, 4), "protocol": "classic"}
        for r in results
    ]
    network = model.network.eval()
    dipnet = api.load_model(SHARED / "weights" / "official" / "dipnet" / "DIPNet.pth", device="cpu").network.eval()
    latency, dipnet_latency = _latencies_ms([network, dipnet])
    recipe_iterations = sum(getattr(stage, "iterations", 0) for stage in recipe.stages)
    iterations = int(info.provenance.get("iteration", recipe_iterations))  # a run stopped early says where
    teachers = sorted({stage.teacher.name for stage in recipe.stages if getattr(stage, "teacher", None)})
    starts = [stage.init for stage in recipe.stages if getattr(stage, "init", None)]
    lineage = sorted({"dipnet"} | set(teachers))
    card = {
        "name": f"builtin x{args.scale}",
        "architecture": f"{info.model} ({json.dumps({k: v for k, v in info.kwargs.items() if k != 'pruned_widths'})})",
        "recipe": f"configs/builtin/x{args.scale}.yaml",
        "data": ", ".join(Path(folder).parent.name for folder in recipe.data.train.hr_folders) + " (HR, MATLAB bicubic LR)",
        "iterations": iterations,
        "recipe_iterations": recipe_iterations,
        "wall_time_minutes": round(_wall_time(args.run, iterations) / 60, 1),
        "device": f"CPU ({platform.processor() or platform.machine()}, 2 cores), torch {torch.__version__}",
        "scores": scores,
        "params": count_parameters(network).total,
        "macs_3x256x256": count_ops(network, (1, 3, 256, 256)).macs,
        "cpu_latency_ms_3x180x320_1thread": round(latency, 1),
        "dipnet_cpu_latency_ms_same_run": round(dipnet_latency, 1),
        "started_from": [_describe_start(Path(p)) for p in starts],
        "teachers": teachers,
        "lineage_licences": [LICENCES[name] for name in lineage if name in LICENCES],
        "licence": "Apache-2.0 (distillsr); derived from the MIT/Apache-2.0 weights listed in lineage_licences",
    }
    target = REPO / "src" / "distillsr" / "weights" / f"builtin_x{args.scale}.safetensors"
    packaged = CheckpointInfo(
        model=info.model, scale=info.scale, kwargs=info.kwargs, input_range=info.input_range, form=info.form,
        provenance={"builtin": True, "card": card}, scores=scores,
    )
    save_checkpoint(target, tensors, packaged)
    print(json.dumps(card, indent=2))
    print(f"{target}: {target.stat().st_size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
