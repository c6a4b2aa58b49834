"""The LR input size of a cost figure, as users write it."""

from __future__ import annotations

import pytest

from distillsr.efficiency.input_size import parse_input_shape
from distillsr.errors import DistillsrError


def test_parse_input_shape():
    assert parse_input_shape("3x256x256") == (1, 3, 256, 256)
    assert parse_input_shape("64x48") == (1, 3, 64, 48)
    assert parse_input_shape((1, 20, 30)) == (1, 1, 20, 30)
    assert parse_input_shape((20, 30)) == (1, 3, 20, 30)
    for bad in ("big", "3x0x4", (3, 2.5, 4), (True, 4, 4), "1x2x3x4"):
        with pytest.raises(DistillsrError, match="3x256x256"):
            parse_input_shape(bad)
