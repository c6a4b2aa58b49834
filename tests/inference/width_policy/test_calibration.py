"""Calibration: the threshold search against brute force, and a budget met on a real folder."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from inference.width_policy.toy import SCALE, WIDTHS

from distillsr.errors import DistillsrError
from distillsr.inference.width_policy.calibration import (
    PSNR_CAP,
    CalibrationTable,
    measure,
    search,
)
from distillsr.data.eval_sets import eval_sets
from distillsr.inference.width_policy.scores import BicubicRoundTrip


def random_table(n: int, seed: int, widths=(0.25, 0.5, 1.0)) -> CalibrationTable:
    rng = np.random.default_rng(seed)
    k = len(widths)
    psnr = 30 + rng.normal(0, 1, (n, 1)) + np.sort(rng.uniform(0, 2, (n, k)), axis=1)  # wider: better, mostly
    scores = rng.normal(35, 6, n)
    scores[rng.integers(0, n)] = scores[0]  # a tie: no threshold can split it
    return CalibrationTable(
        [f"im{i}" for i in range(n)], scores, rng.integers(100, 1000, n).astype(float), tuple(widths), psnr,
        np.array([w * w * 100 + 5 for w in widths]),
    )


def monotone_assignments(table: CalibrationTable):
    """By brute force, every assignment of widths to images that thresholds can make: an easier image never
    runs wider, and images of equal score run at the same width."""
    k, s = len(table.widths), table.scores
    for chosen in itertools.product(range(k), repeat=len(table.names)):
        ok = all(
            chosen[i] <= chosen[j] if s[i] > s[j] else chosen[i] == chosen[j]
            for i in range(len(chosen)) for j in range(len(chosen)) if s[i] >= s[j]
        )
        if ok:
            yield np.array(chosen)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_budget_search_is_the_brute_force_optimum(seed):
    table = random_table(7, seed)
    budget = 0.55
    found = search(table, budget=budget, tolerance=0.15)
    best = max(
        (-drop for chosen in monotone_assignments(table)
         for fraction, drop, _ in [table.achieved(chosen)] if budget * 0.85 - 1e-9 <= fraction <= budget + 1e-9),
    )
    assert found.met and budget * 0.85 - 1e-9 <= found.macs_fraction <= budget + 1e-9
    assert -found.psnr_drop == pytest.approx(best, abs=1e-9)
    # the stored thresholds reproduce what was searched
    assert table.achieved(table.chosen_by(found.policy))[0] == pytest.approx(found.macs_fraction)


@pytest.mark.parametrize("seed", [0, 3])
def test_max_drop_search_spends_the_fewest_macs(seed):
    table = random_table(7, seed)
    found = search(table, max_drop=0.4)
    cheapest = min(
        fraction for chosen in monotone_assignments(table)
        for fraction, drop, _ in [table.achieved(chosen)] if drop <= 0.4 + 1e-9
    )
    assert found.psnr_drop <= 0.4 + 1e-9
    assert found.macs_fraction == pytest.approx(cheapest, abs=1e-12)


def test_thinned_candidates_still_meet_the_budget():
    table = random_table(400, 5, widths=(0.25, 0.5, 0.75, 1.0))  # too many for every cut combination
    found = search(table, budget=0.6)
    assert "candidate cuts" in found.policy.calibration["search"]
    assert 0.57 <= found.macs_fraction <= 0.6


def test_budget_below_the_narrowest_width_is_refused():
    table = random_table(5, 0)
    with pytest.raises(DistillsrError, match="below what running every image at the narrowest width costs"):
        search(table, budget=0.05)


def test_exactly_one_target():
    table = random_table(5, 0)
    with pytest.raises(DistillsrError, match="exactly one target"):
        search(table)
    with pytest.raises(DistillsrError, match="exactly one target"):
        search(table, budget=0.5, max_drop=0.1)


def test_a_folder_too_small_for_the_band_says_so():
    table = CalibrationTable(["a", "b"], np.array([50.0, 20.0]), np.array([100.0, 100.0]), (0.5, 1.0),
                             np.array([[30.0, 31.0], [28.0, 30.0]]), np.array([30.0, 100.0]))
    found = search(table, budget=0.6)  # possible fractions: 0.3, 0.65, 1.0
    assert not found.met and found.macs_fraction == pytest.approx(0.3)
    assert "calibrate on more images" in found.note


def test_flat_images_with_infinite_scores_get_finite_or_null_thresholds():
    table = CalibrationTable(["flat", "flat2", "tex"], np.array([math.inf, math.inf, 25.0]), np.array([10.0, 10.0, 10.0]),
                             (0.5, 1.0), np.array([[PSNR_CAP, PSNR_CAP], [PSNR_CAP, PSNR_CAP], [28.0, 30.0]]),
                             np.array([25.0, 100.0]))
    found = search(table, max_drop=0.0)
    assert list(found.chosen) == [0, 0, 1]  # flat ones narrow for free, the textured one at full width
    assert found.policy.thresholds[0] == 26.0 and found.psnr_drop == 0.0


@pytest.fixture(scope="module")
def folder_table(tiny, calibration_folder) -> CalibrationTable:
    (benchmark,) = eval_sets([calibration_folder], SCALE, cache=False)
    return measure(tiny, benchmark, WIDTHS, BicubicRoundTrip(SCALE))


def test_the_table_holds_every_image_at_every_width(tiny, calibration_folder, folder_table):
    from distillsr.inference.predict import predict
    from distillsr.metrics.protocols import score
    from distillsr.nn.slimmable import width

    assert len(folder_table.names) == 16 and folder_table.widths == WIDTHS
    (benchmark,) = eval_sets([calibration_folder], SCALE, cache=False)
    sample = benchmark[5]
    index = folder_table.names.index(sample.name)
    with width(tiny.network, 0.5):
        expected = score(predict(tiny, sample.lr), sample.hr, "classic", SCALE).psnr
    assert folder_table.psnr[index, 1] == min(expected, PSNR_CAP)
    flat = [i for i, name in enumerate(folder_table.names) if name.startswith("flat")]
    assert all(folder_table.scores[i] > 200 for i in flat)  # the easiest by far


@pytest.mark.parametrize("budget", [0.4, 0.6, 0.8])
def test_calibration_meets_a_budget_within_five_percent_on_a_folder(folder_table, calibration_folder, budget):
    table = folder_table
    (benchmark,) = eval_sets([calibration_folder], SCALE, cache=False)
    found = search(table, budget=budget)
    assert found.met
    assert budget * 0.95 <= found.macs_fraction <= budget
    # independently: re-apply the thresholds to freshly computed scores and re-add the MACs
    score = BicubicRoundTrip(SCALE)
    spent = full = 0.0
    for sample in benchmark:
        chosen = found.policy.width_for(score(sample.lr))
        pixels = sample.lr.shape[0] * sample.lr.shape[1]
        spent += table.rates[WIDTHS.index(chosen)] * pixels
        full += table.rates[-1] * pixels
    assert spent / full == pytest.approx(found.macs_fraction, rel=1e-12)
