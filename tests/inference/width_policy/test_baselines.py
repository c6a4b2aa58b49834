"""The references dynamic inference is compared with, against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from distillsr.errors import DistillsrError
from distillsr.inference.width_policy.baselines import fixed_width_mix, fixed_width_points, oracle_mix
from distillsr.inference.width_policy.calibration import CalibrationTable


def table_of(psnr, widths, rates, pixels=None) -> CalibrationTable:
    psnr = np.asarray(psnr, dtype=float)
    n = psnr.shape[0]
    pixels = np.full(n, 100.0) if pixels is None else np.asarray(pixels, dtype=float)
    return CalibrationTable([f"im{i}" for i in range(n)], np.arange(n, dtype=float), pixels, tuple(widths), psnr,
                            np.asarray(rates, dtype=float))


def two_images() -> CalibrationTable:
    # width 0.5 costs a quarter of full width; image 1 gains 5 dB from full width, image 0 only 1 dB
    return table_of([[30.0, 31.0], [28.0, 33.0]], (0.5, 1.0), (25.0, 100.0))


def test_fixed_points_are_each_width_on_every_image():
    points = fixed_width_points(two_images())
    assert [(p.macs_fraction, p.psnr) for p in points] == [(0.25, 29.0), (1.0, 32.0)]


def test_mix_interpolates_between_fixed_widths_at_the_same_spend():
    table = two_images()
    assert fixed_width_mix(table, 0.625).psnr == pytest.approx(30.5)  # half the images at each width
    assert fixed_width_mix(table, 0.25).psnr == pytest.approx(29.0)
    assert fixed_width_mix(table, 1.0).psnr == pytest.approx(32.0)


def test_mix_skips_a_width_below_the_chord_of_its_neighbours():
    # the middle width (f = 0.5, P = 29) lies under the line from (0.25, 29) to (1, 32), which passes 30 at 0.5:
    # mixing its neighbours beats running it, so the reference follows the chord
    table = table_of([[29.0, 29.0, 32.0]], (0.5, 0.7071067811865476, 1.0), (25.0, 50.0, 100.0))
    assert fixed_width_mix(table, 0.5).psnr == pytest.approx(30.0)
    # raised above the chord, it is a vertex of the envelope
    table = table_of([[29.0, 31.0, 32.0]], (0.5, 0.7071067811865476, 1.0), (25.0, 50.0, 100.0))
    assert fixed_width_mix(table, 0.5).psnr == pytest.approx(31.0)


def test_mix_refuses_a_spend_outside_the_fixed_widths():
    with pytest.raises(DistillsrError, match="outside"):
        fixed_width_mix(two_images(), 0.2)


def test_oracle_sends_the_image_that_gains_most_to_full_width():
    oracle = oracle_mix(two_images(), 0.625)
    assert oracle.macs_fraction == pytest.approx(0.625)
    assert oracle.psnr == pytest.approx((30.0 + 33.0) / 2)  # not (31 + 28) / 2
    assert oracle.psnr > fixed_width_mix(two_images(), 0.625).psnr


def test_oracle_weighs_images_by_pixels():
    # image 1 gains most, but it is 9x larger: at a spend of 0.4 only image 0 fits at full width
    table = table_of([[30.0, 32.0], [28.0, 33.0]], (0.5, 1.0), (25.0, 100.0), pixels=[100.0, 900.0])
    oracle = oracle_mix(table, 0.4)
    assert oracle.macs_fraction == pytest.approx((100 * 1.0 + 900 * 0.25) / 1000)
    assert oracle.psnr == pytest.approx((32.0 + 28.0) / 2)


def test_oracle_is_the_brute_force_knapsack_optimum():
    import itertools

    from distillsr.inference.width_policy.baselines import ORACLE_UNITS

    rng = np.random.default_rng(4)
    psnr = 30 + np.sort(rng.uniform(0, 3, (8, 3)), axis=1)
    table = table_of(psnr, (0.25, 0.5, 1.0), (6.25, 25.0, 100.0), pixels=rng.integers(50, 500, 8))
    assignments = [np.array(c) for c in itertools.product(range(3), repeat=8)]
    achieved = [table.achieved(c) for c in assignments]
    full = table.psnr[:, -1].mean()

    def brute(budget):
        return full - min(drop for spend, drop, _ in achieved if spend <= budget + 1e-12)

    for budget in (0.3, 0.5, 0.8):
        oracle = oracle_mix(table, budget)
        slack = 8 / ORACLE_UNITS  # costs rounded down to the grid: at most one step per image over
        assert oracle.macs_fraction <= budget + slack
        assert brute(budget) - 1e-9 <= oracle.psnr <= brute(budget + slack) + 1e-9
