"""Parsed YAML -> a tree of frozen dataclasses, strictly: every key and value is checked on the way.

Strict means: an unknown key anywhere is an error naming its dotted path and the nearest valid key;
a value of the wrong type is an error naming the path and the expected type; a missing required key
is an error; a key given twice (also through an alias) is an error. With a ``source`` every message
is one line that starts with ``file:line:``. The only coercions are the ones that cannot change
meaning: an integer where a number is expected, a single string where a list of strings is expected,
and a number that PyYAML left as a string (YAML 1.1 reads ``2e-4`` as text because it has no dot).

The reader knows nothing of any particular config: the root dataclass and a :class:`Schema`
(tagged unions, per-class hooks) are its parameters.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from dataclasses import MISSING
from typing import Any, Literal

from distillsr.config.describe import expected, show
from distillsr.config.errors import ConfigError, nearest
from distillsr.config.schema import Schema, TaggedUnion, init_fields, is_union, join, spellings
from distillsr.config.yaml_positions import PositionedMapping, line_of, plain

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


def read(root: type, data: Any, schema: Schema, *, source: str) -> Any:
    """The ``root`` dataclass built from parsed ``data``; errors name ``source`` and the line."""
    return Reader(schema, source).build(root, data, "", getattr(data, "line", None))


class Reader:
    """Turns parsed YAML into dataclasses, checking every key and value on the way."""

    def __init__(self, schema: Schema, source: str) -> None:
        self.schema = schema
        self.source = source

    def error(self, path: str, reason: str, line: int | None) -> ConfigError:
        return ConfigError(path, reason, source=self.source, line=line)

    # mappings -> dataclasses

    def build(self, cls: type, raw: Any, path: str, line: int | None, what: str = "") -> Any:
        """An instance of ``cls`` from the mapping ``raw`` found at ``path`` (``line``)."""
        union = self.schema.union_for(cls)
        if union is not None:
            return self.build_tagged(union, raw, path, line)
        if not isinstance(raw, dict):
            raise self.error(path, f"expected {expected(cls, self.schema)}, got {show(raw)}", line)
        fields = init_fields(cls)
        hints = typing.get_type_hints(cls)
        names = spellings(fields)
        values: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for key, value in raw.items():
            key_line = line_of(raw, key) or line
            if not isinstance(key, str) or key not in names:
                raise self.unknown_key(key, path, names, key_line, what)
            name = names[key]
            if name in spelled:
                raise self.error(join(path, key), f"sets the same option as {spelled[name]!r}; give it once", key_line)
            spelled[name] = key
            values[name] = self.convert(value, hints[name], fields[name], join(path, key), key_line)
        for name, f in fields.items():
            if name not in values and f.default is MISSING and f.default_factory is MISSING:
                raise self.error(join(path, name), f"missing required key ({f.metadata.get('help', '')})", line)
        coercer = self.schema.coercers.get(cls)
        if coercer is not None:
            values = coercer(self, values, raw, path, line)
        try:
            return cls(**values)
        except ConfigError as error:
            first = error.path.split(".")[0]
            key_line = line_of(raw, spelled.get(first, first)) if first in spelled else line
            raise error.within(path).located(self.source, key_line) from None

    def build_tagged(self, union: TaggedUnion, raw: Any, path: str, line: int | None) -> Any:
        """The member of ``union`` that the tag key of ``raw`` names (or the union's default)."""
        if not isinstance(raw, dict):
            raise self.error(path, f"expected a mapping with a {union.key!r} key, got {show(raw)}", line)
        known = ", ".join(union.members)
        tag = raw.get(union.key, union.default)
        tag_path, tag_line = join(path, union.key), line_of(raw, union.key) or line
        if tag is None:
            for key in raw:  # a misspelt tag key reads better as that than as a missing one
                if isinstance(key, str) and nearest(key, [union.key]):
                    raise self.error(
                        join(path, key), f"unknown key; did you mean {union.key!r}?", line_of(raw, key) or line
                    )
            raise self.error(tag_path, f"missing required key; known {union.noun}s: {known}", line)
        canonical = union.lookup(tag) if isinstance(tag, str) else None
        if canonical is None:
            close = nearest(str(tag), union.members)
            hint = f"did you mean {close!r}? " if close else ""
            raise self.error(tag_path, f"unknown {union.noun} {tag!r}; {hint}known {union.noun}s: {known}", tag_line)
        cls = union.members[canonical]
        rest = PositionedMapping((k, v) for k, v in raw.items() if k != union.key)
        rest.line = getattr(raw, "line", line)
        rest.key_lines = getattr(raw, "key_lines", {})
        if union.key in init_fields(cls):
            rest[union.key] = canonical
        return self.build(cls, rest, path, line, what=f" for a {canonical!r} {union.noun.split()[0]}")

    def unknown_key(self, key: Any, path: str, names: Mapping[str, str], line: int | None, what: str) -> ConfigError:
        close = nearest(str(key), names)
        if close is not None:
            hint = f"did you mean {close!r}?"
        else:
            hint = "valid keys: " + (", ".join(dict.fromkeys(names.values())) or "none")
        return self.error(join(path, key), f"unknown key{what}; {hint}", line)

    # values

    def convert(
        self, value: Any, tp: Any, f: dataclasses.Field | None, path: str, line: int | None, lenient: bool = False
    ) -> Any:
        """``value`` as a ``tp``; ``f`` (when a field) brings its value aliases.

        ``lenient``: a type the reader does not model is passed through for the consumer to check
        (a hook converting values typed by a third-party signature); otherwise it is a schema bug.
        """
        value_aliases = f.metadata.get("value_aliases", {}) if f is not None else {}
        return self._convert(value, tp, path, line, value_aliases, lenient)

    def _convert(
        self, value: Any, tp: Any, path: str, line: int | None, value_aliases: Mapping[str, str], lenient: bool
    ) -> Any:
        if tp is Any:
            return plain(value)
        origin, args = typing.get_origin(tp), typing.get_args(tp)

        def wrong() -> ConfigError:
            return self.error(path, f"expected {expected(tp, self.schema)}, got {show(value)}", line)

        if is_union(tp):
            if value is None:
                if type(None) in args:
                    return None
                raise wrong()
            members = [a for a in args if a is not type(None)]
            if len(members) == 1:
                return self._convert(value, members[0], path, line, value_aliases, lenient)
            for member in members:
                try:
                    return self._convert(value, member, path, line, value_aliases, lenient)
                except ConfigError:
                    continue
            raise wrong()
        if value is None:
            raise wrong()
        if origin is Literal:
            if isinstance(value, str):
                wanted = value_aliases.get(value.lower(), value).lower()
                for choice in args:
                    if isinstance(choice, str) and choice.lower() == wanted:
                        return choice
                close = nearest(value, [str(a) for a in args])
                if close is not None:
                    raise self.error(
                        path, f"expected {expected(tp, self.schema)}, got {value!r}; did you mean {close!r}?", line
                    )
            raise wrong()
        if tp is bool:
            if isinstance(value, bool):
                return value
            raise wrong()
        if tp is int:
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            if isinstance(value, str) and _NUMBER.match(value.strip()):
                number = float(value)
                if number.is_integer():
                    return int(number)
            raise wrong()
        if tp is float:
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
            if isinstance(value, str) and _NUMBER.match(value.strip()):
                return float(value)
            raise wrong()
        if tp is str:
            if isinstance(value, str):
                return value
            raise wrong()
        if origin is tuple:
            variadic = len(args) == 2 and args[1] is Ellipsis
            if variadic and args[0] is str and isinstance(value, str):
                value = [value]  # a single string where a list of strings is expected (one folder)
            if not isinstance(value, (list, tuple)):
                raise wrong()
            if not variadic and len(value) != len(args):
                raise self.error(path, f"expected {expected(tp, self.schema)}, got {len(value)} value(s)", line)
            item_types = [args[0]] * len(value) if variadic else list(args)
            return tuple(
                self._convert(item, item_type, f"{path}.{i}", line_of(value, i) or line, {}, lenient)
                for i, (item, item_type) in enumerate(zip(value, item_types))
            )
        if origin is dict:
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise wrong()
            return plain(value)
        if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or self.schema.union_for(tp) is not None):
            return self.build(tp, value, path, line)
        if lenient:  # an annotation we do not model (Sequence[float], ...): the consumer checks it
            return plain(value)
        raise TypeError(f"config field type {tp!r} at {path} is not supported by the reader")
