"""The generic strict reader, on the tests' own bike schema: every message is one ``file:line:`` line."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from distillsr.config import (
    ConfigError,
    Reader,
    Schema,
    TaggedUnion,
    doc,
    parse_yaml,
    read,
)
from distillsr.errors import DistillsrError


def test_reads_a_whole_tree(bike):
    text = """\
name: roadster
speed: fast
gears: 3
price: 250
owners: [ann, bob]
front: {size: 28}
wheels:
  - {}
  - rim: 20
parts:
  - {kind: light, lumens: 300}
  - {loud: false}
extras: {basket: 2, pump: yes}
"""
    got = bike.read(text)
    assert got == bike.Bike(
        name="roadster",
        speed="fast",
        gears=3,
        price=250.0,
        owners=("ann", "bob"),
        front=bike.Wheel(size=28),
        wheels=(bike.Wheel(), bike.Wheel(size=20)),
        parts=(bike.Light(lumens=300.0), bike.Bell(loud=False)),
        extras={"basket": 2, "pump": True},
    )
    assert isinstance(got.price, float) and type(got.extras) is dict


def test_unknown_key_names_the_line_and_the_nearest_key(bike):
    assert bike.error_of("name: a\ngaers: 3\n") == "bike.yaml:2: gaers: unknown key; did you mean 'gears'?"
    assert bike.error_of("name: a\nfront:\n  sise: 3\n") == "bike.yaml:3: front.sise: unknown key; did you mean 'size'?"


def test_unknown_key_without_a_near_one_lists_the_keys(bike):
    message = bike.error_of("name: a\nzzz: 1\n")
    assert message == (
        "bike.yaml:2: zzz: unknown key; valid keys: name, speed, gears, price, owners, front, wheels, parts, extras"
    )


@pytest.mark.parametrize(
    "text,message",
    [
        ("name: a\ngears: many\n", "bike.yaml:2: gears: expected an integer, got 'many'"),
        ("name: a\ngears: 1.5\n", "bike.yaml:2: gears: expected an integer, got 1.5"),
        ("name: a\ngears: true\n", "bike.yaml:2: gears: expected an integer, got true"),
        ("name: 12\n", "bike.yaml:1: name: expected a string, got 12"),
        ("name: a\nprice: [1]\n", "bike.yaml:2: price: expected a number, got a list"),
        ("name: a\nowners: {x: 1}\n", "bike.yaml:2: owners: expected a list of str, got a mapping"),
        ("name: a\nfront: 3\n", "bike.yaml:2: front: expected a mapping (Wheel), got 3"),
        ("name: a\nparts: [3]\n", "bike.yaml:2: parts.0: expected a mapping with a 'kind' key, got 3"),
        ("name: a\nspeed: fsat\n", "bike.yaml:2: speed: expected one of slow, fast, got 'fsat'; did you mean 'fast'?"),
        ("name: a\nspeed: 3\n", "bike.yaml:2: speed: expected one of slow, fast, got 3"),
        ("name: a\nextras: [1]\n", "bike.yaml:2: extras: expected a mapping, got a list"),
        ("- 1\n", "bike.yaml:1: expected a mapping (Bike), got a list"),
    ],
)
def test_wrong_type_names_the_expected_type(bike, text, message):
    assert bike.error_of(text) == message


def test_missing_key(bike):
    assert bike.error_of("speed: fast\n") == "bike.yaml:1: name: missing required key (what the bike is called)"
    message = bike.error_of("name: a\nparts:\n  - kind: light\n")
    assert message == "bike.yaml:3: parts.0.lumens: missing required key (brightness)"


def test_duplicate_key(bike):
    with pytest.raises(DistillsrError, match=r"^bike\.yaml:2: invalid YAML: duplicate key 'name'$"):
        bike.read("name: a\nname: b\n")


def test_alias_is_accepted_once(bike):
    assert bike.read("name: a\nspeeds: 4\n").gears == 4
    message = bike.error_of("name: a\ngears: 2\nspeeds: 3\n")
    assert message == "bike.yaml:3: speeds: sets the same option as 'gears'; give it once"


def test_a_class_check_gets_the_path_and_line_of_its_key(bike):
    message = bike.error_of("name: a\nwheels:\n  - size: 20\n  - size: 0\n")
    assert message == "bike.yaml:4: wheels.1.size: must be positive, got 0"


def test_safe_coercions(bike):
    got = bike.read("name: a\nprice: 2e2\ngears: '1e1'\nowners: ann\nspeed: Quick\n")
    assert got.price == 200.0 and isinstance(got.price, float)  # YAML 1.1 leaves 2e2 a string
    assert got.gears == 10 and isinstance(got.gears, int)
    assert got.owners == ("ann",)  # a single string where a list of strings is expected
    assert got.speed == "fast"  # a value alias, any case
    assert bike.read("name: a\nspeed: FAST\n").speed == "fast"
    assert "expected an integer" in bike.error_of("name: a\ngears: '10x'\n")


def test_tagged_union(bike):
    parts = bike.read("name: a\nparts: [{kind: DING}, {kind: light, lumens: 1}, {}]\n").parts
    assert parts == (bike.Bell(), bike.Light(lumens=1.0), bike.Bell())
    assert bike.error_of("name: a\nparts: [{kind: ligth}]\n") == (
        "bike.yaml:2: parts.0.kind: unknown part kind 'ligth'; did you mean 'light'? known part kinds: bell, light"
    )
    assert bike.error_of("name: a\nparts:\n  - kind: bell\n    lumens: 3\n") == (
        "bike.yaml:4: parts.0.lumens: unknown key for a 'bell' part; valid keys: grams, loud"
    )
    assert bike.error_of("name: a\nparts: [{lood: true}]\n") == (
        "bike.yaml:2: parts.0.lood: unknown key for a 'bell' part; did you mean 'loud'?"
    )


def test_tagged_union_without_a_default(bike):
    schema = Schema(unions=(TaggedUnion(bike.Part, "kind", bike.PARTS.members, None, "part kind"),))

    def error_of(text: str) -> str:
        with pytest.raises(ConfigError) as caught:
            read(bike.Bike, parse_yaml(text, "b.yaml"), schema, source="b.yaml")
        return str(caught.value)

    assert error_of("name: a\nparts:\n  - {knd: bell}\n") == "b.yaml:3: parts.0.knd: unknown key; did you mean 'kind'?"
    assert error_of("name: a\nparts:\n  - {grams: 3}\n") == (
        "b.yaml:3: parts.0.kind: missing required key; known part kinds: bell, light"
    )


def test_a_coercion_hook_converts_with_paths_and_lines(bike):
    assert bike.read("name: a\nextras: {basket: '3', pump: x}\n").extras == {"basket": 3, "pump": "x"}
    message = bike.error_of("name: a\nextras:\n  pump: x\n  basket: lots\n")
    assert message == "bike.yaml:4: extras.basket: expected an integer, got 'lots'"


def test_hooks_run_only_for_their_class(bike):
    seen = []

    def spy(reader: Reader, values: dict, raw, path: str, line: int | None) -> dict:
        seen.append((path, dict(values), line))
        return {**values, "size": values.get("size", 16) * 2}

    schema = Schema(unions=bike.SCHEMA.unions, coercers={bike.Wheel: spy})
    got = read(bike.Bike, parse_yaml("name: a\nwheels:\n  - {size: 10}\n", "f.yaml"), schema, source="f.yaml")
    assert got.wheels == (bike.Wheel(size=20),) and seen == [("wheels.0", {"size": 10}, 3)]


@dataclass(frozen=True, kw_only=True)
class Odd:
    tags: frozenset = field(default=frozenset(), metadata=doc("a type the reader does not model"))


def test_unsupported_field_types_are_a_schema_bug():
    with pytest.raises(TypeError, match="not supported by the reader"):
        read(Odd, {"tags": [1]}, Schema(), source="odd.yaml")
    reader = Reader(Schema(), "odd.yaml")
    assert reader.convert([1, 2], frozenset, None, "tags", 1, lenient=True) == [1, 2]  # the consumer checks it
