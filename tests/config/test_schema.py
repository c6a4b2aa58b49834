"""Field metadata, tagged unions and the Schema lookups, on the test bike schema."""

from __future__ import annotations

import dataclasses
from typing import Optional

import pytest

from distillsr.config import Schema, doc
from distillsr.config.schema import (
    init_fields,
    is_union,
    join,
    spellings,
    unwrap_optional,
)


def test_doc_metadata():
    meta = doc("the help", aliases=["other"], value_aliases={"MultiStepLR": "multistep"})
    assert meta["help"] == "the help" and meta["aliases"] == ("other",)
    assert dict(meta["value_aliases"]) == {"multisteplr": "multistep"}  # matched case-insensitively
    with pytest.raises(TypeError):
        meta["help"] = "changed"  # type: ignore[index]


def test_union_lookup(bike):
    parts = bike.PARTS
    assert parts.lookup("light") == "light" and parts.lookup("LIGHT") == "light"
    assert parts.lookup("Ding") == "bell"  # a member's tag alias
    assert parts.lookup("lamp") is None
    assert parts.tag_of(bike.Light(lumens=1.0)) == "light"


def test_schema_finds_unions_by_base_only(bike):
    schema = bike.SCHEMA
    assert schema.union_for(bike.Part) is bike.PARTS
    assert schema.union_for(bike.Light) is None and schema.union_for(bike.Wheel) is None
    assert schema.unions_of(bike.Light(lumens=1.0)) == [bike.PARTS]
    assert schema.unions_of(bike.Wheel()) == []
    empty = Schema()
    assert empty.union_for(bike.Part) is None and dict(empty.coercers) == {} and empty.document == "config"


def test_field_helpers(bike):
    fields = init_fields(bike.Bike)
    assert list(fields)[:3] == ["name", "speed", "gears"]
    names = spellings(fields)
    assert names["speeds"] == "gears" and names["gears"] == "gears" and "kind" not in spellings(init_fields(bike.Bell))
    assert join("", "a") == "a" and join("a", 0) == "a.0"
    assert is_union(int | None) and is_union(Optional[int]) and not is_union(int)
    assert unwrap_optional(int | None) is int and unwrap_optional(int | str | None) == (int | str | None)
    assert all(isinstance(f, dataclasses.Field) for f in fields.values())
