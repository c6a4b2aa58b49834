"""`distillsr eval` of every official checkpoint reproduces the official code's scores.

Reference values: ``shared/reference/scores.md`` (official model code + weights, classic
protocol). A faithful implementation matches them within 0.005 dB PSNR.
"""

from __future__ import annotations

import pytest
from support import official_weights, require_shared

from distillsr.checkpoints.model_loading import load_or_build
from distillsr.data.eval_sets import EvalSet
from distillsr.evaluation.runner import evaluate_set
from distillsr.metrics.protocols import CLASSIC

REFERENCE = [
    # family, file, scale, Set5 (psnr, ssim), Set14 (psnr, ssim)
    ("rfdn", "RFDN_AIM.pth", 4, (32.1589, 0.89459), (28.5507, 0.78093)),
    ("ddistill_sr", "DDistill-SRx4_inference.pth", 4, (32.2835, 0.89612), (28.5923, 0.78179)),
    ("dipnet", "DIPNet.pth", 4, (31.8053, 0.88977), (28.3472, 0.77576)),
    ("imdn", "IMDN_x4.pth", 4, (32.2096, 0.89476), (28.4875, 0.77954)),
    ("imdn", "IMDN_x3.pth", 3, (34.3597, 0.92698), (30.2271, 0.84059)),
    ("imdn", "IMDN_x2.pth", 2, (37.9960, 0.96049), (33.5322, 0.91722)),
]


@pytest.mark.parametrize("family,filename,scale,set5,set14", REFERENCE, ids=[r[1] for r in REFERENCE])
def test_official_checkpoint_scores(family, filename, scale, set5, set14):
    model = load_or_build(None, scale, str(official_weights(family, filename)))
    for dataset, (psnr, ssim) in (("Set5", set5), ("Set14", set14)):
        bench = EvalSet(require_shared("data", dataset, "HR"), scale)
        mean = evaluate_set(model, bench, CLASSIC, progress=False).mean
        assert mean.psnr == pytest.approx(psnr, abs=0.005), dataset
        assert mean.ssim == pytest.approx(ssim, abs=0.0005), dataset
