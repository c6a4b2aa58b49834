"""Measure what bf16 upscaling costs each shipped and official model, for their cards.

    python scripts/measure_reduced_precision.py [--shared ../shared]

Set5, x-scale classic protocol (Y channel, border = scale), official LR where stored: PSNR in
plain fp32 and with bf16 autocast (what ``distillsr upscale`` runs by default on a CPU with
native bf16). Writes ``src/distillsr/models/reduced_precision.json``, which ``distillsr zoo``,
``distillsr upscale --help`` and the tests read; the tests re-measure and fail if a model loses
more than its card says.
"""

from __future__ import annotations

import argparse
import datetime
import json
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TABLE = REPO / "src" / "distillsr" / "models" / "reduced_precision.json"

# (card key, what open_model takes, scale); official files live under <shared>/weights/official
MODELS = (
    ("builtin x2", "builtin", 2),
    ("builtin x3", "builtin", 3),
    ("builtin x4", "builtin", 4),
    ("e-rfdn x4", "rfdn/RFDN_AIM.pth", 4),
    ("dipnet x4", "dipnet/DIPNet.pth", 4),
    ("edipv1 x4", "dipnet/EDIPv1.pth", 4),
    ("ddistill-sr x4", "ddistill_sr/DDistill-SRx4_inference.pth", 4),
    ("imdn x2", "imdn/IMDN_x2.pth", 2),
    ("imdn x3", "imdn/IMDN_x3.pth", 3),
    ("imdn x4", "imdn/IMDN_x4.pth", 4),
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--shared", type=Path, default=REPO.parent / "shared")
    args = parser.parse_args()

    import torch

    from distillsr import api
    from distillsr.checkpoints.model_loading import open_model
    from distillsr.inference.fast_path import cpu_flags

    torch.set_num_threads(1)
    set5 = args.shared / "data" / "Set5"
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")), "?")
    entries = {}
    for key, spec, scale in MODELS:
        path = spec if spec == "builtin" else str(args.shared / "weights" / "official" / spec)
        model = open_model(path, scale=scale)
        scores = {
            precision: api.evaluate(model, set5, precision=precision, device="cpu")[0].mean
            for precision in ("fp32", "bf16")
        }
        delta = scores["bf16"].psnr - scores["fp32"].psnr
        entries[key] = {
            "bf16": {
                "set5_psnr_fp32": round(scores["fp32"].psnr, 4),
                "set5_psnr_bf16": round(scores["bf16"].psnr, 4),
                "delta_db": round(delta, 4),
                "delta_ssim": round(scores["bf16"].ssim - scores["fp32"].ssim, 5),
            }
        }
        print(f"{key:<16} fp32 {scores['fp32'].psnr:.4f}  bf16 {scores['bf16'].psnr:.4f}  delta {delta:+.4f} dB")
    table = {
        "about": "Set5 PSNR (classic: Y, border = scale) in fp32 and with bf16 autocast; "
        "written by scripts/measure_reduced_precision.py",
        "measured_on": {
            "cpu": cpu,
            "native_bf16": any(flag in cpu_flags() for flag in ("avx512_bf16", "amx_bf16")),
            "torch": torch.__version__,
            "date": datetime.date.today().isoformat(),
        },
        "models": entries,
    }
    TABLE.write_text(json.dumps(table, indent=1) + "\n")
    print(f"wrote {TABLE}")


if __name__ == "__main__":
    main()
