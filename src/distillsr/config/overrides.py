"""``--set dotted.path=value`` overrides, applied to parsed YAML before it is read.

An override walks the schema (the root dataclass, its field types and tagged unions), not only the
data, so a misspelt path fails with a suggestion even when the file never mentions that key, and
a section the file leaves out (an optional block) can still be set. The value is YAML, so
``a.b=[1, 2]`` and ``a.b=null`` mean what they look like.
"""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from distillsr.config.errors import ConfigError, nearest
from distillsr.config.schema import Schema, init_fields, join, spellings, unwrap_optional
from distillsr.config.yaml_positions import parse_yaml, plain


def apply_override(raw: dict, text: str, root: type, schema: Schema, source: str) -> None:
    """Set one ``dotted.path=value`` in the parsed YAML ``raw`` (read as ``root``), in place."""
    key, sep, value_text = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError("", f"expected key.path=value (in --set {text!r})", source=source)
    value = plain(parse_yaml(value_text, f"{source}: --set {key}"))
    parts = key.split(".")
    container: Any = raw
    node: Any = root
    for depth, part in enumerate(parts):
        here = ".".join(parts[: depth + 1])
        parent = ".".join(parts[:depth])
        last = depth == len(parts) - 1
        node = unwrap_optional(node)
        if typing.get_origin(node) is tuple:
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
            container, node = container[index], typing.get_args(node)[0]
            continue
        if typing.get_origin(node) is dict:
            if not isinstance(container, dict):
                raise ConfigError(
                    parent, f"is not a mapping in the {schema.document} (in --set {text!r})", source=source
                )
            if last:
                container[part] = value
                return
            raise ConfigError(here, f"set entries of {parent} one level deep (in --set {text!r})", source=source)
        if not (isinstance(node, type) and (dataclasses.is_dataclass(node) or schema.union_for(node))):
            raise ConfigError(parent, f"is a single value, it has no key {part!r} (in --set {text!r})", source=source)
        if not isinstance(container, dict):
            raise ConfigError(
                parent, f"is not a mapping in the {schema.document} (in --set {text!r})", source=source
            )
        cls, what = node, ""
        union = schema.union_for(node)
        if union is not None:
            tag = container.get(union.key, union.default)
            canonical = union.lookup(tag) if isinstance(tag, str) else None
            if part == union.key and last:
                container[part] = value
                return
            if canonical is None:
                raise ConfigError(
                    join(parent, union.key),
                    f"unknown {union.noun} {tag!r}; known {union.noun}s: "
                    f"{', '.join(union.members)} (in --set {text!r})",
                    source=source,
                )
            cls, what = union.members[canonical], f" for a {canonical!r} {union.noun.split()[0]}"
        fields = init_fields(cls)
        names = spellings(fields)
        if part not in names:
            close = nearest(part, names)
            hint = f"did you mean {close!r}?" if close else "valid keys: " + ", ".join(fields)
            raise ConfigError(here, f"unknown key{what} (in --set {text!r}); {hint}", source=source)
        name = names[part]
        # Write under the spelling the file already uses, so a key and its alias never both appear.
        existing = next((k for k in container if isinstance(k, str) and names.get(k) == name), name)
        if last:
            container[existing] = value
            return
        child = container.get(existing)
        child_type = typing.get_type_hints(cls)[name]
        if child is None:
            if typing.get_origin(unwrap_optional(child_type)) is tuple:
                raise ConfigError(
                    here, f"the {schema.document} has no {name} list to index (in --set {text!r})", source=source
                )
            child = {}
            container[existing] = child
        container, node = child, child_type
