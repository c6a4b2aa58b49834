"""Dynamic inference against fixed widths at the same MACs, on a trained slimmable (CSD) checkpoint.

Run: ``python benchmarks/dynamic_vs_fixed.py -w CKPT --calibrate ../shared/data/BSD200/HR
--data ../shared/data/Set5,../shared/data/Set14 [--budgets 0.3,0.45,0.6,0.8]``

Every calibration and test image runs once at every width (classic protocol: Y, border = scale; the
LR images are the ones ``eval`` reads). Then, for each budget, the thresholds ``distillsr calibrate``
would store are searched on the calibration images and applied to the test images, and the table gives,
on the test images: the MACs actually spent and the mean PSNR of the dynamic run, the best
difficulty-blind mixture of fixed widths at exactly that spend, the oracle (each image at its own best
width under the same spend; an upper bound no score reaches) and the nearest single fixed width.
(:mod:`distillsr.inference.dynamic.baselines` defines the references.) ``--check`` also runs
``eval --dynamic``'s code path for the first budget and asserts it gives the table's PSNR and MACs.

``--tile T`` adds our extension, a width per tile: each budget's thresholds (calibrated per image)
applied to every T x T tile window as ``upscale --dynamic --tile T`` does, with the MACs spent
counted per tile and the PSNR of the blended result, against the fixed-width mixture at that spend.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from pathlib import Path

import numpy as np


def _measure(model, values: list[str], score):
    """Every image of the ``--calibrate``/``--data`` folders at every width, read as ``eval`` reads them."""
    from distillsr.commands.common import dataset_folders
    from distillsr.data.benchmark import benchmark_sets
    from distillsr.inference.dynamic.calibration import measure_sets

    return measure_sets(model, benchmark_sets(dataset_folders(values), model.scale), score, progress=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-w", "--weights", required=True, help="a slimmable distillsr checkpoint")
    parser.add_argument("--calibrate", required=True, action="append", help="calibration folder(s)")
    parser.add_argument("--data", required=True, action="append", help="test folder(s)")
    parser.add_argument("--budgets", default="0.3,0.45,0.6,0.8", help="MACs budgets, fractions of full width")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the rows here")
    parser.add_argument("--check", action="store_true", help="cross-check one budget through evaluate_dynamic")
    parser.add_argument("--tile", type=int, default=0, help="also choose a width per tile of this size (LR px)")
    args = parser.parse_args()

    import torch

    from distillsr.checkpoints.model_loading import load_model
    from distillsr.inference.dynamic.baselines import fixed_width_mix, fixed_width_points, oracle_mix
    from distillsr.inference.dynamic.calibration import search
    from distillsr.inference.dynamic.scores import DEFAULT_SCORE, make_score

    torch.set_num_threads(args.threads)
    model = load_model(None, None, args.weights)
    score = make_score(DEFAULT_SCORE, model.scale)
    calibration = _measure(model, args.calibrate, score)
    test = _measure(model, args.data, score)

    print(f"\n{model.name} x{model.scale}: calibrated on {len(calibration.names)} images, "
          f"tested on {len(test.names)}; difficulty score {score.name}")
    print("\nfixed widths on the test images")
    print("| width | MACs (of full) | mean PSNR |")
    print("|---|---|---|")
    points = fixed_width_points(test)
    for width, point in zip(test.widths, points):
        print(f"| {width:g} | {point.macs_fraction:.4f} | {point.psnr:.4f} |")

    full = float(test.psnr[:, -1].mean())
    rows, policies = [], []
    for budget in (float(b) for b in args.budgets.split(",")):
        found = search(calibration, budget=budget, score_name=score.name)
        policies.append(found.policy)
        chosen = test.chosen_by(found.policy)
        spend, drop, mean_width = test.achieved(chosen)
        dynamic = full - drop
        mix = fixed_width_mix(test, spend)
        oracle = oracle_mix(test, spend)
        nearest = min(range(len(points)), key=lambda k: abs(points[k].macs_fraction - spend))
        counts = {f"{w:g}": int((chosen == k).sum()) for k, w in enumerate(test.widths)}
        rows.append({
            "budget": budget, "calibration_spend": found.macs_fraction, "test_spend": spend, "mean_width": mean_width,
            "widths": counts, "dynamic_psnr": dynamic, "fixed_mix_psnr": mix.psnr, "oracle_psnr": oracle.psnr,
            "oracle_spend": oracle.macs_fraction, "full_psnr": full, "nearest_width": test.widths[nearest],
            "nearest_spend": points[nearest].macs_fraction, "nearest_psnr": points[nearest].psnr,
            "thresholds": list(found.policy.thresholds),
        })

    print("\ndynamic vs fixed widths at the same MACs (test images; PSNR in dB, Y, border = scale)")
    print("| budget | MACs spent (cal / test) | mean width | widths used | dynamic | fixed mix, same MACs | "
          "dynamic - mix | oracle | nearest fixed width | full width |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        used = ", ".join(f"{w}: {n}" for w, n in r["widths"].items() if n)
        print(f"| {r['budget']:g} | {r['calibration_spend']:.3f} / {r['test_spend']:.3f} | {r['mean_width']:.3f} | "
              f"{used} | {r['dynamic_psnr']:.4f} | {r['fixed_mix_psnr']:.4f} | "
              f"{r['dynamic_psnr'] - r['fixed_mix_psnr']:+.4f} | {r['oracle_psnr']:.4f} | "
              f"{r['nearest_width']:g} ({r['nearest_spend']:.3f}): {r['nearest_psnr']:.4f} | {r['full_psnr']:.4f} |")

    if args.tile:
        _per_tile(model, score, test, args, rows, policies)
    if args.check and rows:
        _cross_check(model, args, rows[0], policies[0])
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


def _per_tile(model, score, test, args, rows, policies) -> None:
    """Each budget's per-image thresholds applied per tile window (``upscale --dynamic --tile``)."""
    from distillsr.commands.common import dataset_folders
    from distillsr.data.benchmark import benchmark_sets
    from distillsr.inference.dynamic.baselines import fixed_width_mix
    from distillsr.inference.dynamic.calibration import PSNR_CAP
    from distillsr.inference.dynamic.costs import DynamicWidths, macs_per_pixel
    from distillsr.inference.upscaler import Upscaler
    from distillsr.metrics.protocols import score as score_image

    rates = macs_per_pixel(model, model.network.widths)
    samples = list(itertools.chain.from_iterable(benchmark_sets(dataset_folders(args.data), model.scale)))
    print(f"\nper tile ({args.tile} px LR tiles; thresholds calibrated per image)")
    if model.tiling.pools_globally:
        print(f"({model.name} pools globally (channel attention), so a tile's output would depend on the tiling: "
              "the upscaler runs such a model whole, at one width per image)")
    print("| budget | MACs spent | mean tile width | tiles | dynamic per tile | fixed mix, same MACs | difference |")
    print("|---|---|---|---|---|---|---|")
    for r, policy in zip(rows, policies):
        chooser = DynamicWidths(policy, score, rates)
        upscaler = Upscaler(model, device="cpu", precision="fp32", tile=args.tile, width_for=chooser)
        psnrs = []
        for sample in samples:
            sr = upscaler.upscale_array(sample.lr)
            psnrs.append(min(score_image(sr, sample.hr, "classic", model.scale).psnr, PSNR_CAP))
        summary = chooser.summary()
        psnr = float(np.mean(psnrs))
        mix = fixed_width_mix(test, summary.fraction).psnr
        r["tile"] = {"tile": args.tile, "macs_fraction": summary.fraction, "psnr": psnr, "fixed_mix_psnr": mix,
                     "mean_width": summary.mean_width, "tiles": summary.decisions}
        print(f"| {r['budget']:g} | {summary.fraction:.3f} | {summary.mean_width:.3f} | {summary.decisions} | "
              f"{psnr:.4f} | {mix:.4f} | {psnr - mix:+.4f} |")


def _cross_check(model, args, row, policy) -> None:
    """The table's dynamic figures for one budget equal what ``eval --dynamic`` measures."""
    from distillsr.commands.common import dataset_folders
    from distillsr.inference.dynamic.evaluation import evaluate_dynamic
    from distillsr.inference.dynamic.policy import POLICY_KEY

    provenance = {**(model.metadata.get("provenance") or {}), POLICY_KEY: policy.to_dict()}
    model.metadata = {**model.metadata, "provenance": provenance}
    results = evaluate_dynamic(model, dataset_folders(args.data))
    psnr = float(np.mean([image.score.psnr for r, _ in results for image in r.images]))
    spent = sum(s.macs for _, s in results) / sum(s.full_macs for _, s in results)
    print(f"\ncheck (budget {row['budget']:g}) through evaluate_dynamic: PSNR {psnr:.4f} (table {row['dynamic_psnr']:.4f}), "
          f"MACs {spent:.4f} (table {row['test_spend']:.4f})")
    assert abs(psnr - row["dynamic_psnr"]) < 1e-3 and abs(spent - row["test_spend"]) < 2e-3, policy


if __name__ == "__main__":
    sys.exit(main())
