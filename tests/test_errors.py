"""distillsr.errors: every user-facing failure is a DistillsrError, so the CLI prints one line for all."""

from __future__ import annotations

import numpy as np
import pytest

from distillsr.errors import (
    DataError,
    DistillsrError,
    ImageReadError,
    NonFiniteValuesError,
)


@pytest.mark.parametrize("kind", [ImageReadError, DataError, NonFiniteValuesError])
def test_every_specific_error_is_a_distillsr_error(kind):
    assert issubclass(kind, DistillsrError)
    with pytest.raises(DistillsrError) as caught:
        raise kind("the message is the whole story")
    assert str(caught.value) == "the message is the whole story"


def test_the_specific_errors_are_distinct_from_each_other():
    kinds = (ImageReadError, DataError, NonFiniteValuesError)
    for a in kinds:
        for b in kinds:
            assert issubclass(a, b) == (a is b)


def test_user_errors_are_ordinary_exceptions_not_interrupts():
    # `except Exception` in callers must catch them; KeyboardInterrupt-like classes would escape it.
    assert issubclass(DistillsrError, Exception)
    assert not issubclass(DistillsrError, (KeyboardInterrupt, SystemExit))


def test_the_code_raises_the_specific_kinds(tmp_path):
    from distillsr.data.eval_sets import EvalSet
    from distillsr.imaging.pixels import from_float
    from distillsr.imaging.read import read_image

    with pytest.raises(ImageReadError):
        read_image(tmp_path / "missing.png")
    with pytest.raises(DataError):
        EvalSet(tmp_path / "no-such-set", 2)
    with pytest.raises(NonFiniteValuesError):
        from_float(np.array([0.5, np.nan]), np.uint8)
