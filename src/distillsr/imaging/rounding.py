"""MATLAB's conversion of computed values to an integer image class, in one place.

``uint8(x)`` in MATLAB rounds half away from zero and saturates; NumPy's ``astype`` truncates and
wraps, and ``np.round`` rounds half to even. Every step that must match MATLAB's integer output
(imresize passes, imfilter, rgb2ycbcr, added noise) goes through :func:`matlab_cast`.
"""

from __future__ import annotations

import numpy as np


def matlab_cast(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Round half away from zero and saturate to ``dtype``, as MATLAB's cast to an integer class."""
    info = np.iinfo(dtype)
    # np.round is exact but rounds halves to even; move exact halves away from zero first. The
    # obvious floor(|x| + 0.5) is off for 0.49999999999999994, whose sum with 0.5 rounds up to 1.0.
    fraction, whole = np.modf(np.abs(values))  # exact, and (0, inf) for infinities
    rounded = np.sign(values) * (whole + (fraction >= 0.5))
    return np.clip(rounded, info.min, info.max).astype(dtype)
