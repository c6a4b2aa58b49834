"""Which channel ranking keeps a pruned model best: L2 filter norms, activation RMS, first-order
Taylor or output sensitivity.

Run: ``python benchmarks/prune_criteria.py --data ../shared/data/T91/HR --test ../shared/data/Set5/HR
--test ../shared/data/Set14/HR -w e-rfdn=RFDN_AIM.pth -w dipnet=DIPNet.pth ... [--fractions 0.75,0.6]``

For each model and each criterion the official weights are pruned with ``prune_iteratively`` (step
0.1, no fine-tuning, so the ranking alone decides) to each fraction of the model's parameters. The
data-aware criteria measure channels on 16 LR patches of ``--data`` (the training images: what
``distillsr prune --data`` uses); the table scores the pruned models on the ``--test`` folders
(classic protocol), which the ranking never saw, next to bicubic. ``--json`` writes the rows.
"""

from __future__ import annotations

import argparse
import json
import time


def _finite_or_nan(check, model) -> float:
    """The validator's PSNR, or NaN where the pruned model's output is not finite (it refuses those)."""
    from distillsr.errors import DistillsrError

    try:
        return check(model)
    except DistillsrError:
        return float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-w", "--weights", action="append", required=True, metavar="NAME=FILE",
                        help="a label and an official weights file (repeatable)")
    parser.add_argument("--data", action="append", required=True, help="calibration (training) folder(s)")
    parser.add_argument("--test", action="append", required=True, help="held-out test folder(s)")
    parser.add_argument("--fractions", default="0.75,0.6", help="parameter fractions to prune to")
    parser.add_argument("--criteria", default="l2,activation,taylor,sensitivity")
    parser.add_argument("--step", type=float, default=0.1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the rows here")
    args = parser.parse_args()

    import torch

    from distillsr.checkpoints.model_loading import load_model
    from distillsr.compression.pruning.calibration import CalibrationSet, make_criterion
    from distillsr.compression.pruning.checkpoint import deployed
    from distillsr.compression.pruning.finetune import make_validator
    from distillsr.compression.pruning.iterative import PruneTarget, prune_iteratively
    from distillsr.efficiency import count_parameters

    torch.set_num_threads(args.threads)
    fractions = [float(value) for value in args.fractions.split(",")]
    rows = []
    for spec in args.weights:
        label, _, path = spec.partition("=")
        model = deployed(load_model(None, None, path))
        calibration = CalibrationSet.from_folders(args.data, model.scale)
        validators = {folder: make_validator(folder, model.scale) for folder in args.test}
        params = count_parameters(model.network).total
        unpruned = {folder: check(model) for folder, check in validators.items()}
        print(f"{label}: {params:,} params, unpruned " + ", ".join(f"{v:.4f}" for v in unpruned.values()), flush=True)
        for fraction in fractions:
            for name in args.criteria.split(","):
                started = time.perf_counter()
                criterion = make_criterion(name, calibration, model.input_range)
                result = prune_iteratively(model, args.step, PruneTarget(params=int(params * fraction)), criterion=criterion)
                scores = {folder: _finite_or_nan(check, result.model) for folder, check in validators.items()}
                row = {
                    "model": label, "fraction": fraction, "criterion": name, "steps": result.kept,
                    "params": result.steps[-1].params, "seconds": round(time.perf_counter() - started, 1),
                    "calibration_psnr": calibration.model_psnr(result.model), "bicubic_calibration": calibration.bicubic_psnr,
                    **{f"psnr:{folder}": value for folder, value in scores.items()},
                    **{f"unpruned:{folder}": value for folder, value in unpruned.items()},
                }
                rows.append(row)
                print(f"  {fraction:.2f} {name:>10}: " + ", ".join(f"{v:.4f}" for v in scores.values())
                      + f" (calibration {row['calibration_psnr']:.2f}, bicubic {row['bicubic_calibration']:.2f}; "
                        f"{row['seconds']:.0f} s)", flush=True)
                if args.json:
                    with open(args.json, "w") as handle:
                        json.dump(rows, handle, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
