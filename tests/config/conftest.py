"""A tiny config tree of the tests' own (a bike), so the generic reader is tested without recipes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType, SimpleNamespace
from typing import Any, ClassVar, Literal

import pytest

from distillsr.config import (
    ConfigError,
    Reader,
    Schema,
    TaggedUnion,
    doc,
    line_of,
    parse_yaml,
    read,
)


@dataclass(frozen=True, kw_only=True)
class Wheel:
    size: int = field(default=16, metadata=doc("rim size in inches", aliases=("rim",)))

    def __post_init__(self) -> None:
        if self.size <= 0:
            raise ConfigError("size", f"must be positive, got {self.size}")


@dataclass(frozen=True, kw_only=True)
class Part:
    kind: ClassVar[str] = ""
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({})

    grams: float = field(default=100.0, metadata=doc("weight of the part"))


@dataclass(frozen=True, kw_only=True)
class Bell(Part):
    kind: ClassVar[str] = "bell"
    tag_aliases: ClassVar[Mapping[str, str]] = MappingProxyType({"ding": "bell"})

    loud: bool = field(default=True, metadata=doc("rings loudly"))


@dataclass(frozen=True, kw_only=True)
class Light(Part):
    kind: ClassVar[str] = "light"

    lumens: float = field(metadata=doc("brightness"))


@dataclass(frozen=True, kw_only=True)
class Bike:
    name: str = field(metadata=doc("what the bike is called"))
    speed: Literal["slow", "fast"] = field(
        default="slow", metadata=doc("how it rides", value_aliases={"Quick": "fast"})
    )
    gears: int = field(default=1, metadata=doc("number of gears", aliases=("speeds",)))
    price: float | None = field(default=None, metadata=doc("in euros; null: not for sale"))
    owners: tuple[str, ...] = field(default=(), metadata=doc("who rode it"))
    front: Wheel | None = field(default=None, metadata=doc("the front wheel; null: a unicycle"))
    wheels: tuple[Wheel, ...] = field(default=(), metadata=doc("every wheel"))
    parts: tuple[Part, ...] = field(default=(), metadata=doc("bells and lights"))
    extras: dict[str, Any] = field(default_factory=dict, metadata=doc("free-form accessories"))


EXTRA_TYPES = {"basket": int}
"""Types of known ``extras``, as a model signature types ``model.kwargs`` in the recipe."""


def type_extras(reader: Reader, values: dict, raw: Any, path: str, line: int | None) -> dict:
    extras = values.get("extras") or {}
    extras_raw = raw.get("extras") if isinstance(raw, dict) else None
    typed = {}
    for key, value in extras.items():
        tp = EXTRA_TYPES.get(key)
        where = f"{path}.extras.{key}" if path else f"extras.{key}"
        typed[key] = value if tp is None else reader.convert(value, tp, None, where, line_of(extras_raw, key) or line)
    return {**values, "extras": typed}


PARTS = TaggedUnion(Part, "kind", MappingProxyType({"bell": Bell, "light": Light}), "bell", "part kind")
SCHEMA = Schema(document="bike file", unions=(PARTS,), coercers=MappingProxyType({Bike: type_extras}))


def _read_bike(text: str, source: str = "bike.yaml") -> Bike:
    return read(Bike, parse_yaml(text, source), SCHEMA, source=source)


def _error_of(text: str) -> str:
    with pytest.raises(ConfigError) as caught:
        _read_bike(text)
    message = str(caught.value)
    assert "\n" not in message
    return message


@pytest.fixture
def bike() -> SimpleNamespace:
    """The bike schema: its classes, ``SCHEMA``, ``read(text)`` and ``error_of(text)`` (source ``bike.yaml``)."""
    return SimpleNamespace(
        Bike=Bike,
        Wheel=Wheel,
        Bell=Bell,
        Light=Light,
        Part=Part,
        PARTS=PARTS,
        SCHEMA=SCHEMA,
        read=_read_bike,
        error_of=_error_of,
    )
