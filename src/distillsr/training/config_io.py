"""Reading recipes from YAML strictly, applying ``--set`` overrides, and printing them back.

Strict means: an unknown key anywhere is an error naming its dotted path and the nearest valid key;
a value of the wrong type is an error naming the path and the expected type; a missing required key
is an error; a key given twice (also through an alias) is an error. Every message is one line that
starts with ``file:line:``. The only coercions are the ones that cannot change meaning: an integer
where a number is expected, a single folder where a list of folders is expected, and a number that
PyYAML left as a string (YAML 1.1 reads ``2e-4`` as text because it has no dot).

Overrides (``stages.0.optimizer.lr=2e-4``) are applied to the parsed YAML before validation, along
the schema, so a misspelt override path fails with a suggestion even when the file never mentions
that key. :func:`format_recipe` prints the resolved recipe, every default included; reading the
printed text back gives an equal recipe.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import MISSING
from pathlib import Path
from typing import Any, Literal

import yaml

from distillsr.errors import DistillsrError
from distillsr.training.config import (
    ConfigError,
    ModelConfig,
    RecipeConfig,
    TaggedUnion,
    model_annotations,
    model_parameters,
    nearest,
    tagged_union,
    type_name,
)

_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")


# --- YAML with positions -----------------------------------------------------------------------


class _Mapping(dict):
    """A YAML mapping that remembers the line of each key, for error messages."""

    line: int | None = None
    key_lines: dict


class _Sequence(list):
    """A YAML sequence that remembers the line of each item."""

    line: int | None = None
    item_lines: list


class _PositionLoader(yaml.SafeLoader):
    """SafeLoader that records line numbers and refuses duplicate keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: _PositionLoader, node: yaml.MappingNode) -> _Mapping:
    explicit = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)  # merged (<<) pairs first, then the explicit ones
    first_explicit = len(node.value) - explicit
    mapping = _Mapping()
    mapping.line = node.start_mark.line + 1
    mapping.key_lines = {}
    explicit_keys: set = set()
    for position, (key_node, value_node) in enumerate(node.value):
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "a mapping key must be a plain value", key_node.start_mark
            ) from None
        if position >= first_explicit:
            if key in explicit_keys:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            explicit_keys.add(key)
        elif key in mapping:
            continue  # among merged mappings the first one wins, as YAML specifies
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: _PositionLoader, node: yaml.SequenceNode) -> _Sequence:
    sequence = _Sequence(loader.construct_object(child, deep=True) for child in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
    return sequence


_PositionLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_PositionLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def _parse_yaml(text: str, source: str) -> Any:
    try:
        return yaml.load(text, Loader=_PositionLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise DistillsrError(f"{where}: invalid YAML: {problem}") from None


def _line_of(container: Any, key: Any) -> int | None:
    if isinstance(container, _Mapping):
        return container.key_lines.get(key, container.line)
    if isinstance(container, _Sequence) and isinstance(key, int) and 0 <= key < len(container.item_lines):
        return container.item_lines[key]
    return getattr(container, "line", None)


def _plain(value: Any) -> Any:
    """Drop the position bookkeeping: nested plain dicts and lists."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


# --- schema helpers -------------------------------------------------------------------------------


def _join(path: str, key: Any) -> str:
    return f"{path}.{key}" if path else str(key)


def _is_union(tp: Any) -> bool:
    return typing.get_origin(tp) is typing.Union or isinstance(tp, types.UnionType)


def _init_fields(cls: type) -> dict[str, dataclasses.Field]:
    return {f.name: f for f in dataclasses.fields(cls) if f.init}


def _spellings(fields: Mapping[str, dataclasses.Field]) -> dict[str, str]:
    """Every accepted key spelling -> the field it sets."""
    names = {name: name for name in fields}
    for name, f in fields.items():
        for alias in f.metadata.get("aliases", ()):
            names.setdefault(alias, name)
    return names


def _expected(tp: Any) -> str:
    """What a value of ``tp`` looks like, in words."""
    if _is_union(tp):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        text = " or ".join(_expected(a) for a in members)
        return f"{text} or null" if len(members) < len(typing.get_args(tp)) else text
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(str(a) for a in typing.get_args(tp))
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if typing.get_origin(tp) is tuple:
        args = typing.get_args(tp)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a list of {type_name(args[0])}"
        return f"a list of {len(args)} values ({', '.join(type_name(a) for a in args)})"
    if typing.get_origin(tp) is dict:
        return "a mapping"
    union = tagged_union(tp)
    if union is not None:
        return f"a mapping with a {union.key!r} key"
    if dataclasses.is_dataclass(tp):
        return f"a mapping ({tp.__name__})"
    return type_name(tp)


def _show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


# --- building the dataclass tree ---------------------------------------------------------------------


class _Reader:
    """Turns parsed YAML into recipe dataclasses, checking every key and value on the way."""

    def __init__(self, source: str) -> None:
        self.source = source

    def error(self, path: str, reason: str, line: int | None) -> ConfigError:
        return ConfigError(path, reason, source=self.source, line=line)

    # mappings -> dataclasses

    def build(self, cls: type, raw: Any, path: str, line: int | None, what: str = "") -> Any:
        union = tagged_union(cls)
        if union is not None:
            return self.build_tagged(union, raw, path, line)
        if not isinstance(raw, dict):
            raise self.error(path, f"expected {_expected(cls)}, got {_show(raw)}", line)
        fields = _init_fields(cls)
        hints = typing.get_type_hints(cls)
        spellings = _spellings(fields)
        values: dict[str, Any] = {}
        spelled: dict[str, str] = {}
        for key, value in raw.items():
            key_line = _line_of(raw, key) or line
            if not isinstance(key, str) or key not in spellings:
                raise self.unknown_key(key, path, spellings, key_line, what)
            name = spellings[key]
            if name in spelled:
                raise self.error(_join(path, key), f"sets the same option as {spelled[name]!r}; give it once", key_line)
            spelled[name] = key
            values[name] = self.convert(value, hints[name], fields[name], _join(path, key), key_line)
        for name, f in fields.items():
            if name not in values and f.default is MISSING and f.default_factory is MISSING:
                raise self.error(_join(path, name), f"missing required key ({f.metadata.get('help', '')})", line)
        if cls is ModelConfig:
            values = self.coerce_model_kwargs(values, path, raw, line)
        try:
            return cls(**values)
        except ConfigError as error:
            first = error.path.split(".")[0]
            key_line = _line_of(raw, spelled.get(first, first)) if first in spelled else line
            raise error.within(path).located(self.source, key_line) from None

    def build_tagged(self, union: TaggedUnion, raw: Any, path: str, line: int | None) -> Any:
        if not isinstance(raw, dict):
            raise self.error(path, f"expected a mapping with a {union.key!r} key, got {_show(raw)}", line)
        known = ", ".join(union.members)
        tag = raw.get(union.key, union.default)
        tag_path, tag_line = _join(path, union.key), _line_of(raw, union.key) or line
        if tag is None:
            for key in raw:  # a misspelt tag key reads better as that than as a missing one
                if isinstance(key, str) and nearest(key, [union.key]):
                    raise self.error(
                        _join(path, key), f"unknown key; did you mean {union.key!r}?", _line_of(raw, key) or line
                    )
            raise self.error(tag_path, f"missing required key; known {union.noun}s: {known}", line)
        canonical = union.lookup(tag) if isinstance(tag, str) else None
        if canonical is None:
            close = nearest(str(tag), union.members)
            hint = f"did you mean {close!r}? " if close else ""
            raise self.error(tag_path, f"unknown {union.noun} {tag!r}; {hint}known {union.noun}s: {known}", tag_line)
        cls = union.members[canonical]
        rest = _Mapping((k, v) for k, v in raw.items() if k != union.key)
        rest.line = getattr(raw, "line", line)
        rest.key_lines = getattr(raw, "key_lines", {})
        if union.key in _init_fields(cls):
            rest[union.key] = canonical
        return self.build(cls, rest, path, line, what=f" for a {canonical!r} {union.noun.split()[0]}")

    def unknown_key(
        self, key: Any, path: str, spellings: Mapping[str, str], line: int | None, what: str
    ) -> ConfigError:
        close = nearest(str(key), spellings)
        if close is not None:
            hint = f"did you mean {close!r}?"
        else:
            hint = "valid keys: " + (", ".join(dict.fromkeys(spellings.values())) or "none")
        return self.error(_join(path, key), f"unknown key{what}; {hint}", line)

    def coerce_model_kwargs(self, values: dict, path: str, raw: Any, line: int | None) -> dict:
        """Check ``model.kwargs`` values against the constructor's annotations (names: ModelConfig)."""
        kwargs = values.get("kwargs") or {}
        name, scale = values.get("name"), values.get("scale")
        if not kwargs or not isinstance(name, str) or not isinstance(scale, int):
            return values
        try:
            parameters = model_parameters(name, scale)
            annotations = model_annotations(name, scale)
        except DistillsrError:
            return values  # an unknown model or scale: ModelConfig reports it with its own path
        kwargs_raw = raw.get("kwargs") if isinstance(raw, dict) else None
        coerced = {}
        for key, value in kwargs.items():
            tp = annotations.get(key) if key in parameters else None
            key_line = _line_of(kwargs_raw, key) or line
            coerced[key] = (
                value
                if tp is None
                else self.convert(value, tp, None, _join(path, f"kwargs.{key}"), key_line, lenient=True)
            )
        return {**values, "kwargs": coerced}

    # values

    def convert(
        self, value: Any, tp: Any, f: dataclasses.Field | None, path: str, line: int | None, lenient: bool = False
    ) -> Any:
        value_aliases = f.metadata.get("value_aliases", {}) if f is not None else {}
        return self._convert(value, tp, path, line, value_aliases, lenient)

    def _convert(
        self, value: Any, tp: Any, path: str, line: int | None, value_aliases: Mapping[str, str], lenient: bool
    ) -> Any:
        if tp is Any:
            return _plain(value)
        origin, args = typing.get_origin(tp), typing.get_args(tp)

        def wrong() -> ConfigError:
            return self.error(path, f"expected {_expected(tp)}, got {_show(value)}", line)

        if _is_union(tp):
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
                    raise self.error(path, f"expected {_expected(tp)}, got {value!r}; did you mean {close!r}?", line)
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
                value = [value]  # a single folder where a list is expected (BasicSR's dataroot_gt)
            if not isinstance(value, (list, tuple)):
                raise wrong()
            if not variadic and len(value) != len(args):
                raise self.error(path, f"expected {_expected(tp)}, got {len(value)} value(s)", line)
            item_types = [args[0]] * len(value) if variadic else list(args)
            return tuple(
                self._convert(item, item_type, f"{path}.{i}", _line_of(value, i) or line, {}, lenient)
                for i, (item, item_type) in enumerate(zip(value, item_types))
            )
        if origin is dict:
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise wrong()
            return _plain(value)
        if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or tagged_union(tp) is not None):
            return self.build(tp, value, path, line)
        if lenient:  # a model annotation we do not model (Sequence[float], ...): the constructor checks it
            return _plain(value)
        raise TypeError(f"recipe field type {tp!r} at {path} is not supported by the reader")


# --- overrides ---------------------------------------------------------------------------------------


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _unwrap_optional(tp: Any) -> Any:
    if _is_union(tp):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(members) == 1:
            return members[0]
    return tp


def _apply_override(raw: dict, text: str, source: str) -> None:
    """Set one ``dotted.path=value`` in the parsed YAML, following the schema so typos are caught."""
    key, sep, value_text = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError("", f"expected key.path=value (in --set {text!r})", source=source)
    value = _plain(_parse_yaml(value_text, f"{source}: --set {key}"))
    parts = key.split(".")
    container: Any = raw
    schema: Any = RecipeConfig
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        parent = ".".join(parts[:depth])
        last = depth == len(parts) - 1
        schema = _unwrap_optional(schema)
        if typing.get_origin(schema) is tuple:
            if not part.isdigit() or not isinstance(container, list) or int(part) >= len(container):
                size = len(container) if isinstance(container, list) else 0
                raise ConfigError(
                    here,
                    f"no such item: the list has {size} item(s), counted from 0 (in --set {text!r})",
                    source=source,
                )
            index = int(part)
            if last:
                container[index] = value
                return
            container, schema = container[index], typing.get_args(schema)[0]
            continue
        if typing.get_origin(schema) is dict:
            if not isinstance(container, dict):
                raise ConfigError(parent, f"is not a mapping in the recipe (in --set {text!r})", source=source)
            if last:
                container[part] = value
                return
            raise ConfigError(here, f"set model hyperparameters one level deep (in --set {text!r})", source=source)
        if not (isinstance(schema, type) and (dataclasses.is_dataclass(schema) or tagged_union(schema))):
            raise ConfigError(parent, f"is a single value, it has no key {part!r} (in --set {text!r})", source=source)
        if not isinstance(container, dict):
            raise ConfigError(parent, f"is not a mapping in the recipe (in --set {text!r})", source=source)
        cls, what = schema, ""
        union = tagged_union(schema)
        if union is not None:
            tag = container.get(union.key, union.default)
            canonical = union.lookup(tag) if isinstance(tag, str) else None
            if part == union.key and last:
                container[part] = value
                return
            if canonical is None:
                raise ConfigError(
                    _join(parent, union.key),
                    f"unknown {union.noun} {tag!r}; known {union.noun}s: "
                    f"{', '.join(union.members)} (in --set {text!r})",
                    source=source,
                )
            cls, what = union.members[canonical], f" for a {canonical!r} {union.noun.split()[0]}"
        fields = _init_fields(cls)
        spellings = _spellings(fields)
        if part not in spellings:
            close = nearest(part, spellings)
            hint = f"did you mean {close!r}?" if close else "valid keys: " + ", ".join(fields)
            raise ConfigError(here, f"unknown key{what} (in --set {text!r}); {hint}", source=source)
        name = spellings[part]
        # Write under the spelling the file already uses, so a key and its alias never both appear.
        existing = next((k for k in container if isinstance(k, str) and spellings.get(k) == name), name)
        if last:
            container[existing] = value
            return
        child = container.get(existing)
        child_schema = _field_type(cls, name)
        if child is None:
            inner = _unwrap_optional(child_schema)
            if typing.get_origin(inner) is tuple:
                raise ConfigError(here, f"the recipe has no {name} list to index (in --set {text!r})", source=source)
            child = {}
            container[existing] = child
        container, schema = child, child_schema


# --- public API ------------------------------------------------------------------------------------


def recipe_from_dict(data: Any, *, source: str = "<recipe>", overrides: Iterable[str] = ()) -> RecipeConfig:
    """A validated recipe from already-parsed data (overrides applied first)."""
    if data is None:
        raise ConfigError("", "the recipe is empty", source=source)
    if not isinstance(data, dict):
        raise ConfigError("", f"a recipe is a mapping of keys, got {_show(data)}", source=source)
    overrides = tuple(overrides)
    if overrides:
        data = copy.deepcopy(data)  # the caller's data stays as it was
    for text in overrides:
        _apply_override(data, text, source)
    return _Reader(source).build(RecipeConfig, data, "", getattr(data, "line", None))


def parse_recipe(text: str, *, source: str = "<string>", overrides: Iterable[str] = ()) -> RecipeConfig:
    """A validated recipe from YAML text; ``source`` names it in error messages."""
    return recipe_from_dict(_parse_yaml(text, source), source=source, overrides=overrides)


def load_recipe(path: str | Path, overrides: Iterable[str] = ()) -> RecipeConfig:
    """Read a recipe file strictly, after applying ``--set``-style ``overrides`` (``a.b.c=value``)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DistillsrError(f"{path}: no such recipe file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise DistillsrError(f"{path}: cannot read the recipe ({error})") from None
    return parse_recipe(text, source=str(path), overrides=tuple(overrides))


def recipe_to_dict(value: Any) -> Any:
    """Plain data (dicts, lists, scalars) of a recipe or any part of it; tags written first."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        key = None
        for union in _unions_of(value):
            key = union.key
            out[key] = union.tag_of(value)
        for f in dataclasses.fields(value):
            if f.name != key:
                out[f.name] = recipe_to_dict(getattr(value, f.name))
        return out
    if isinstance(value, (list, tuple)):
        return [recipe_to_dict(v) for v in value]
    if isinstance(value, dict):
        return {k: recipe_to_dict(v) for k, v in value.items()}
    return value


def _unions_of(value: Any) -> list[TaggedUnion]:
    from distillsr.training.config import TAGGED_UNIONS

    return [u for u in TAGGED_UNIONS if isinstance(value, u.base)]


def format_recipe(recipe: RecipeConfig) -> str:
    """The resolved recipe as YAML, defaults included (``--print-config``); it reads back equal."""
    return yaml.safe_dump(
        recipe_to_dict(recipe), sort_keys=False, default_flow_style=None, allow_unicode=True, width=100
    )
