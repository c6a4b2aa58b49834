"""What the reader needs to know about a config tree besides its dataclasses.

The dataclass fields say most of it: their type hints, defaults and the :func:`doc` metadata
(one-line help, other accepted key spellings, other spellings of a choice). Two things a type hint
cannot say are passed in a :class:`Schema`: which abstract base is a *tagged union* (the class of a
value is picked by one of its keys, from an explicit table) and which classes need their values
adjusted before construction (a hook per class). Keeping both as data means the reader serves any
config tree, and a new member of a union is one table row, never a reader change.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from distillsr.config.reader import Reader


def doc(help: str, aliases: tuple[str, ...] = (), value_aliases: Mapping[str, str] | None = None) -> Mapping[str, Any]:
    """The field metadata the reader and generated docs use.

    ``help`` is the one-line description; ``aliases`` are other accepted key spellings;
    ``value_aliases`` map other spellings of a choice (``MultiStepLR``) to ours (``multistep``),
    matched case-insensitively.
    """
    return MappingProxyType(
        {
            "help": help,
            "aliases": tuple(aliases),
            "value_aliases": MappingProxyType({k.lower(): v for k, v in (value_aliases or {}).items()}),
        }
    )


@dataclass(frozen=True)
class TaggedUnion:
    """A field whose value's class is chosen by one of its keys (``kind``/``type``) from a table.

    A member class may declare ``tag_aliases`` (lower-cased other spelling -> canonical tag) as a
    class attribute, so familiar spellings from other tools (``L1Loss``) are accepted.
    """

    base: type
    key: str
    members: Mapping[str, type]
    default: str | None
    noun: str

    def lookup(self, tag: str) -> str | None:
        """The canonical tag for ``tag`` (any case, or a known alias), or None."""
        lowered = tag.lower()
        for canonical, cls in self.members.items():
            if lowered == canonical.lower():
                return canonical
            alias = getattr(cls, "tag_aliases", {}).get(lowered)
            if alias in self.members:
                return alias
        return None

    def tag_of(self, value: Any) -> str:
        return str(getattr(value, self.key))


class Coercer(Protocol):
    """A per-class hook: adjusts the converted field values of one mapping before the class is built.

    ``raw`` is the mapping as read (with its line numbers); the hook may convert further values
    with ``reader.convert`` so its errors carry the same path and file position as the reader's.
    """

    def __call__(
        self, reader: Reader, values: dict[str, Any], raw: Any, path: str, line: int | None
    ) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Schema:
    """The tagged unions of a config tree, its per-class coercion hooks, and what its files are called."""

    document: str = "config"  # what a user calls one file of this tree ("recipe"), for messages
    unions: tuple[TaggedUnion, ...] = ()
    coercers: Mapping[type, Coercer] = field(default_factory=lambda: MappingProxyType({}))

    def union_for(self, cls: Any) -> TaggedUnion | None:
        """The tagged union whose base is ``cls``, if it is one."""
        for union in self.unions:
            if cls is union.base:
                return union
        return None

    def unions_of(self, value: Any) -> list[TaggedUnion]:
        """The tagged unions ``value`` is a member of (its tag is written with it)."""
        return [u for u in self.unions if isinstance(value, u.base)]


# --- field helpers shared by the reader and the overrides ---------------------------------------


def join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def is_union(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Union or isinstance(tp, types.UnionType)


def unwrap_optional(tp: Any) -> Any:
    """``X`` for ``X | None``; any other type as it is."""
    if is_union(tp):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return tp


def init_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def spellings(fields: Mapping[str, dataclasses.Field]) -> dict[str, str]:
    """Every accepted key spelling -> the field it sets."""
    names = {name: name for name in fields}
    for name, f in fields.items():
        for alias in f.metadata.get("aliases", ()):
            names.setdefault(alias, name)
    return names
