"""The seam metric that the tiling tests rely on must itself see a seam."""

from __future__ import annotations

import numpy as np
from support.images import photo
from support.seams import seam_ratio


def test_seam_metric_sees_a_seam():
    image = photo(64, 64).astype(np.float64)
    seamed = image.copy()
    seamed[:, 32:] += 12  # a brightness step at a tile border
    assert seam_ratio(seamed, [], [32]) > 1.5 * seam_ratio(image, [], [32])
