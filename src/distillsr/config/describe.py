"""Types and values in words, for error messages and generated docs (YAML-minded: list, mapping, null)."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any, Literal

from distillsr.config.schema import Schema, is_union


def type_name(tp: Any) -> str:
    """A short, YAML-minded name of a field type."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if tp is type(None):
        return "null"
    if origin is Literal:
        return "|".join(str(a) for a in args)
    if origin is typing.Union or type(tp).__name__ == "UnionType":
        return " | ".join(type_name(a) for a in args)
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return f"list[{type_name(args[0])}]"
        return f"[{', '.join(type_name(a) for a in args)}]"
    if origin is dict:
        return "mapping"
    if dataclasses.is_dataclass(tp):
        return tp.__name__
    return getattr(tp, "__name__", str(tp))


def expected(tp: Any, schema: Schema) -> str:
    """What a value of ``tp`` looks like, in words."""
    if is_union(tp):
        members = [a for a in typing.get_args(tp) if a is not type(None)]
        text = " or ".join(expected(a, schema) for a in members)
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
    union = schema.union_for(tp)
    if union is not None:
        return f"a mapping with a {union.key!r} key"
    if dataclasses.is_dataclass(tp):
        return f"a mapping ({tp.__name__})"
    return type_name(tp)


def show(value: Any) -> str:
    """A value as the message quotes it: YAML's null/true/false, lists and mappings by kind only."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)
