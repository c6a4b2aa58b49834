"""``--set`` overrides on the test bike schema: they follow the schema, so typos fail before reading."""

from __future__ import annotations

import pytest

from distillsr.config import ConfigError, apply_override, parse_yaml, plain
from distillsr.errors import DistillsrError

BASE = "name: a\nspeeds: 2\nwheels: [{size: 1}]\nparts: [{kind: bell}]\n"


def overridden(bike, text: str, *overrides: str) -> dict:
    raw = parse_yaml(text, "bike.yaml")
    for override in overrides:
        apply_override(raw, override, bike.Bike, bike.SCHEMA, "bike.yaml")
    return plain(raw)


def override_error(bike, text: str, override: str) -> str:
    with pytest.raises(ConfigError) as caught:
        overridden(bike, text, override)
    return str(caught.value)


def test_overrides_set_values_along_the_schema(bike):
    raw = overridden(bike, BASE, "wheels.0.size=20", "parts.0.loud=false", "owners=[a, b]", "extras.basket=2")
    assert raw["wheels"] == [{"size": 20}] and raw["parts"] == [{"kind": "bell", "loud": False}]
    assert raw["owners"] == ["a", "b"] and raw["extras"] == {"basket": 2}


def test_an_absent_optional_section_is_created(bike):
    assert overridden(bike, "name: a\n", "front.size=20") == {"name": "a", "front": {"size": 20}}


def test_an_alias_in_the_file_keeps_its_spelling(bike):
    raw = overridden(bike, BASE, "gears=5")
    assert raw["speeds"] == 5 and "gears" not in raw  # never both spellings: the reader would refuse that


def test_a_union_tag_can_change_and_picks_the_keys(bike):
    raw = overridden(bike, BASE, "parts.0.kind=light", "parts.0.lumens=3")
    assert raw["parts"] == [{"kind": "light", "lumens": 3}]
    assert override_error(bike, BASE, "parts.0.lumens=3") == (
        "bike.yaml: parts.0.lumens: unknown key for a 'bell' part (in --set 'parts.0.lumens=3'); valid keys: grams, loud"
    )
    assert override_error(bike, "name: a\nparts: [{kind: lamp}]\n", "parts.0.grams=1") == (
        "bike.yaml: parts.0.kind: unknown part kind 'lamp'; known part kinds: bell, light (in --set 'parts.0.grams=1')"
    )


@pytest.mark.parametrize(
    "text,override,message",
    [
        (BASE, "wheels.0.sise=2", "wheels.0.sise: unknown key (in --set 'wheels.0.sise=2'); did you mean 'size'?"),
        (BASE, "zzzzz=1", "zzzzz: unknown key (in --set 'zzzzz=1'); valid keys: name, speed, gears, price, owners,"),
        (BASE, "gears", "expected key.path=value (in --set 'gears')"),
        (BASE, "=1", "expected key.path=value (in --set '=1')"),
        (BASE, "wheels.3.size=1", "wheels.3: no such item: the list has 1 item(s), counted from 0"),
        (BASE, "wheels.x.size=1", "wheels.x: no such item: the list has 1 item(s)"),
        (BASE, "gears.x=1", "gears: is a single value, it has no key 'x' (in --set 'gears.x=1')"),
        (BASE, "extras.basket.x=1", "extras.basket: set entries of extras one level deep"),
        ("name: a\nfront: 3\n", "front.size=2", "front: is not a mapping in the bike file (in --set 'front.size=2')"),
        ("name: a\nextras: 3\n", "extras.x=1", "extras: is not a mapping in the bike file"),
        ("name: a\n", "wheels.0.size=1", "wheels: the bike file has no wheels list to index"),
    ],
)
def test_bad_overrides(bike, text, override, message):
    assert override_error(bike, text, override).startswith("bike.yaml: " + message)


def test_the_value_is_yaml(bike):
    assert overridden(bike, BASE, "price=null", "gears=2e1")["price"] is None
    with pytest.raises(DistillsrError, match=r"^bike\.yaml: --set name:1: invalid YAML"):
        overridden(bike, BASE, "name=[")
