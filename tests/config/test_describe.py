"""Types and values in words, as messages and docs print them."""

from __future__ import annotations

from typing import Any, Literal

import pytest

from distillsr.config import Schema, type_name
from distillsr.config.describe import expected, show


@pytest.mark.parametrize(
    "tp,name",
    [
        (int, "int"),
        (type(None), "null"),
        (Literal["a", "b"], "a|b"),
        (int | None, "int | null"),
        (tuple[str, ...], "list[str]"),
        (tuple[float, float], "[float, float]"),
        (dict[str, Any], "mapping"),
    ],
)
def test_type_name(tp, name):
    assert type_name(tp) == name


def test_type_name_of_a_dataclass(bike):
    assert type_name(bike.Wheel) == "Wheel" and type_name(bike.Wheel | None) == "Wheel | null"


def test_expected(bike):
    schema = bike.SCHEMA
    assert expected(int, schema) == "an integer" and expected(float, schema) == "a number"
    assert expected(bool, schema) == "true or false" and expected(str, schema) == "a string"
    assert expected(float | None, schema) == "a number or null"
    assert expected(Literal["slow", "fast"], schema) == "one of slow, fast"
    assert expected(tuple[str, ...], schema) == "a list of str"
    assert expected(tuple[float, float], schema) == "a list of 2 values (float, float)"
    assert expected(dict[str, Any], schema) == "a mapping"
    assert expected(bike.Wheel, schema) == "a mapping (Wheel)"
    assert expected(bike.Part, schema) == "a mapping with a 'kind' key"
    assert expected(bike.Part, Schema()) == "a mapping (Part)"  # not a union without the schema's table


def test_show():
    assert [show(v) for v in (None, True, False, {"a": 1}, [1], "x", 1.5)] == [
        "null",
        "true",
        "false",
        "a mapping",
        "a list",
        "'x'",
        "1.5",
    ]
