"""distillsr.commands.common: integer options accept what they say and refuse the rest as argparse errors."""

from __future__ import annotations

import argparse

import pytest

from distillsr.cli import main
from distillsr.commands.common import non_negative_int, positive_int


@pytest.mark.parametrize("text,value", [("1", 1), ("42", 42), ("+3", 3), (" 7 ", 7), ("007", 7)])
def test_positive_int_accepts_positive_integers(text, value):
    assert positive_int(text) == value


@pytest.mark.parametrize("text", ["0", "-1", "-0", "1.5", "1e3", "abc", "", "four"])
def test_positive_int_refuses_the_rest(text):
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        positive_int(text)
    assert str(caught.value) == f"expected a positive integer, got {text!r}"


@pytest.mark.parametrize("text,value", [("0", 0), ("-0", 0), ("5", 5)])
def test_non_negative_int_accepts_zero_and_up(text, value):
    assert non_negative_int(text) == value


@pytest.mark.parametrize("text", ["-1", "0.0", "x"])
def test_non_negative_int_refuses_the_rest(text):
    with pytest.raises(argparse.ArgumentTypeError, match=f"expected a non-negative integer, got {text!r}"):
        non_negative_int(text)


def test_argparse_turns_a_refusal_into_a_usage_error(capsys):
    parser = argparse.ArgumentParser(prog="prog")
    parser.add_argument("--tile", type=non_negative_int)
    assert parser.parse_args(["--tile", "0"]).tile == 0
    with pytest.raises(SystemExit) as exited:
        parser.parse_args(["--tile", "-2"])
    assert exited.value.code == 2
    assert "argument --tile: expected a non-negative integer, got '-2'" in capsys.readouterr().err


def test_a_real_command_option_uses_them(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["zoo", "--scale", "0"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "argument --scale/-s: expected a positive integer, got '0'" in err and "Traceback" not in err
