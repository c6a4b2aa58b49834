"""models.reduced_precision: each card's bf16 cost is re-measured and must not be exceeded.

The table is written by scripts/measure_reduced_precision.py; here every official and built-in
model is scored again on Set5 in fp32 and with bf16 autocast. The fp32 scores are also the ones
scores.md lists, so a card computed on a broken fp32 path would fail too.
"""

from __future__ import annotations

import pytest
from support import official_weights, require_shared

from distillsr import api
from distillsr.checkpoints.model_loading import open_model
from distillsr.models.reduced_precision import card_keys, describe_cost, measured_on, precision_cost

FILES = {
    "e-rfdn x4": ("rfdn", "RFDN_AIM.pth"),
    "dipnet x4": ("dipnet", "DIPNet.pth"),
    "edipv1 x4": ("dipnet", "EDIPv1.pth"),
    "ddistill-sr x4": ("ddistill_sr", "DDistill-SRx4_inference.pth"),
    "imdn x2": ("imdn", "IMDN_x2.pth"),
    "imdn x3": ("imdn", "IMDN_x3.pth"),
    "imdn x4": ("imdn", "IMDN_x4.pth"),
    "rlfn x2": ("rlfn", "rlfn_x2.pth"),
    "rlfn x4": ("rlfn", "rlfn_x4.pth"),
    "rlfn-s x2": ("rlfn", "rlfn_s_x2.pth"),
    "rlfn-s x4": ("rlfn", "rlfn_s_x4.pth"),
    "rlfn-ntire x4": ("rlfn", "rlfn_ntire_x4.pth"),
    "efdn x4": ("ntire2025", "team00_EFDN.pth"),
    "span x4": ("ntire2025", "team46_span.pth"),
    "dipnet-slim-v2 x4": ("ntire2025", "team15_DIPNet_slim_v2.pt"),
}
TOLERANCE_DB = 0.003  # another CPU's bf16 kernels may round differently


def test_every_shipped_and_official_model_has_a_card():
    assert set(card_keys()) == {"builtin x2", "builtin x3", "builtin x4", *FILES}
    assert measured_on()["native_bf16"] is True
    dipnet = precision_cost("dipnet", 4)
    assert dipnet is not None and dipnet.psnr_fp32 == 31.8053  # scores.md
    assert dipnet.delta_db == pytest.approx(dipnet.psnr - dipnet.psnr_fp32, abs=2e-4)  # each rounded to 1e-4
    assert describe_cost("dipnet", 4) == f"{dipnet.delta_db:+.3f} dB Set5 PSNR"
    assert precision_cost("dipnet", 3) is None and describe_cost("nothing", 4) is None


@pytest.mark.parametrize("key", sorted(card_keys()))
def test_bf16_costs_no_more_than_the_card_says(key):
    name, scale = key.split(" x")
    spec = "builtin" if name == "builtin" else str(official_weights(*FILES[key]))
    set5 = require_shared("data", "Set5")
    model = open_model(spec, scale=int(scale))
    card = precision_cost(name, int(scale))
    fp32 = api.evaluate(model, set5, precision="fp32", device="cpu")[0]
    bf16 = api.evaluate(model, set5, precision="bf16", device="cpu")[0]
    assert (fp32.precision, bf16.precision) == ("fp32", "bf16")
    assert fp32.mean.psnr == pytest.approx(card.psnr_fp32, abs=1e-4)
    assert bf16.mean.psnr - fp32.mean.psnr >= card.delta_db - TOLERANCE_DB
    assert card.delta_db > -0.05, "a card may not hide a large loss behind the default"
