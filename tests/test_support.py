"""The ``../shared`` gate of tests/support.py: a user's clone skips, CI (DISTILLSR_REQUIRE_SHARED=1) fails.

If ``require_shared`` skipped under CI too, a moved or renamed reference file would silently turn
the reference tests into skips; if it failed without the variable, a clone without ``../shared``
could not pass its own suite.
"""

from __future__ import annotations

import pytest
import support


@pytest.fixture
def shared(tmp_path, monkeypatch):
    """An empty stand-in for ``../shared`` with one file in it."""
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "present.txt").write_text("here")
    monkeypatch.setattr(support, "SHARED", tmp_path)
    return tmp_path


@pytest.mark.parametrize("value", [None, "", "0", "false", "no", " No "])
def test_a_missing_path_skips_without_the_variable(shared, monkeypatch, value):
    if value is None:
        monkeypatch.delenv(support.REQUIRE_SHARED_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(support.REQUIRE_SHARED_VARIABLE, value)
    with pytest.raises(pytest.skip.Exception, match=r"missing\.txt is not available"):
        support.require_shared("data", "missing.txt")


@pytest.mark.parametrize("value", ["1", "yes", "true"])
def test_a_missing_path_fails_when_the_variable_is_set(shared, monkeypatch, value):
    monkeypatch.setenv(support.REQUIRE_SHARED_VARIABLE, value)
    with pytest.raises(pytest.fail.Exception, match=r"missing\.txt is not available.*DISTILLSR_REQUIRE_SHARED is set"):
        support.require_shared("data", "missing.txt")
    with pytest.raises(pytest.fail.Exception, match=r"weights/official/imdn/IMDN_x9\.pth"):
        support.official_weights("imdn", "IMDN_x9.pth")


@pytest.mark.parametrize("value", [None, "1"])
def test_a_present_path_is_returned_either_way(shared, monkeypatch, value):
    if value is None:
        monkeypatch.delenv(support.REQUIRE_SHARED_VARIABLE, raising=False)
    else:
        monkeypatch.setenv(support.REQUIRE_SHARED_VARIABLE, value)
    assert support.require_shared("data", "present.txt") == shared / "data" / "present.txt"
