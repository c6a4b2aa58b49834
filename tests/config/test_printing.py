"""Printing a tree back: plain data with union tags first, YAML that the reader reads back equal."""

from __future__ import annotations

from distillsr.config import format_yaml, parse_yaml, read, to_plain


def test_to_plain(bike):
    tree = bike.Bike(name="a", owners=("ann",), front=bike.Wheel(size=20), parts=(bike.Light(lumens=3.0),))
    data = to_plain(tree, bike.SCHEMA)
    assert list(data) == ["name", "speed", "gears", "price", "owners", "front", "wheels", "parts", "extras"]
    assert data["owners"] == ["ann"] and data["front"] == {"size": 20} and data["wheels"] == []
    assert data["parts"] == [{"kind": "light", "grams": 100.0, "lumens": 3.0}]
    assert list(data["parts"][0])[0] == "kind"  # the tag first, so a reader sees the class before its keys
    assert to_plain(bike.Light(lumens=1.0), bike.SCHEMA)["kind"] == "light"  # any part of a tree


def test_printed_yaml_reads_back_equal(bike):
    tree = bike.read("name: a\nspeed: Quick\nspeeds: 3\nparts: [{}, {kind: light, lumens: 2}]\nextras: {basket: 1}\n")
    text = format_yaml(to_plain(tree, bike.SCHEMA))
    assert "speeds" not in text and "gears: 3" in text  # our spelling, never the alias
    assert "- {kind: bell, grams: 100.0, loud: true}\n" in text and "owners: []\n" in text  # short maps inline
    assert read(bike.Bike, parse_yaml(text, "printed.yaml"), bike.SCHEMA, source="printed.yaml") == tree
