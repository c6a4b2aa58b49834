"""A dataclass tree back to plain data and YAML, in the shape the reader accepts.

Every field is written, defaults included, under its own name (never an alias), and a tagged
union's tag key comes first, so the printed text documents the resolved config and reads back equal.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import yaml

from distillsr.config.schema import Schema


def to_plain(value: Any, schema: Schema) -> Any:
    """Plain data (dicts, lists, scalars) of a tree or any part of it; tags written first."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        key = None
        for union in schema.unions_of(value):
            key = union.key
            out[key] = union.tag_of(value)
        for f in dataclasses.fields(value):
            if f.name != key:
                out[f.name] = to_plain(getattr(value, f.name), schema)
        return out
    if isinstance(value, (list, tuple)):
        return [to_plain(v, schema) for v in value]
    if isinstance(value, dict):
        return {k: to_plain(v, schema) for k, v in value.items()}
    return value


def format_yaml(data: Any) -> str:
    """Plain data as block YAML with short lists inline, in the given key order."""
    return yaml.safe_dump(data, sort_keys=False, default_flow_style=None, allow_unicode=True, width=100)
