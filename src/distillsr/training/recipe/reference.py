"""The recipe reference (every key, its type, default and help), generated from the dataclasses.

Driven by the same field metadata the reader uses, so the docs cannot drift from the code. Like
the reader, it takes the stage and loss kinds as an argument (:class:`~.kinds.RecipeKinds`):
:func:`distillsr.stages.field_reference` passes the one table.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import MISSING, dataclass
from typing import Any

from distillsr.config.describe import type_name
from distillsr.training.recipe.kinds import RecipeKinds
from distillsr.training.recipe.losses import LossConfig
from distillsr.training.recipe.run import RecipeConfig


@dataclass(frozen=True)
class FieldDoc:
    """One row of the recipe reference."""

    path: str
    type: str
    default: str
    help: str
    aliases: tuple[str, ...]


def _default_text(f: dataclasses.Field, kinds: RecipeKinds) -> str:
    if f.default is not MISSING:
        value = f.default
    elif f.default_factory is not MISSING:
        value = f.default_factory()
        if dataclasses.is_dataclass(value):
            return "(defaults)"
    else:
        return "required"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(_default_text_value(v, kinds) for v in value) + "]"
    return _default_text_value(value, kinds)


def _default_text_value(value: Any, kinds: RecipeKinds) -> str:
    if dataclasses.is_dataclass(value):
        tag = next((u.tag_of(value) for u in kinds.unions if isinstance(value, u.base)), type(value).__name__)
        return f"{{type: {tag}}}" if isinstance(value, LossConfig) else tag
    return str(value)


def field_reference(kinds: RecipeKinds, cls: type = RecipeConfig, prefix: str = "", skip: str = "") -> list[FieldDoc]:
    """Every recipe key (stages and losses: those of ``kinds``) with its type, default and help, in file order."""
    rows: list[FieldDoc] = []
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name == skip:  # a union's tag field, already described by its `[].kind`/`[].type` row
            continue
        path = f"{prefix}{f.name}"
        tp = hints[f.name]
        rows.append(FieldDoc(path, type_name(tp), _default_text(f, kinds), f.metadata["help"], f.metadata["aliases"]))
        for inner in _inner_types(tp):
            union = kinds.union_for(inner)
            if union is not None:
                rows.append(
                    FieldDoc(
                        f"{path}[].{union.key}",
                        "|".join(union.members),
                        union.default or "required",
                        f"which {union.noun}; picks the options below",
                        (),
                    )
                )
                by_class: dict[type, list[str]] = {}
                for tag, member in union.members.items():
                    by_class.setdefault(member, []).append(tag)
                for member, tags in by_class.items():
                    rows.extend(field_reference(kinds, member, f"{path}[{union.key}={'|'.join(tags)}].", skip=union.key))
            elif dataclasses.is_dataclass(inner):
                rows.extend(field_reference(kinds, inner, f"{path}."))
    return rows


def _inner_types(tp: Any) -> list[Any]:
    """The dataclass types a field holds directly, through Optional and tuple[...]."""
    origin, args = typing.get_origin(tp), typing.get_args(tp)
    if origin is tuple or origin is typing.Union or type(tp).__name__ == "UnionType":
        return [t for a in args if a is not Ellipsis for t in _inner_types(a)]
    return [tp] if isinstance(tp, type) and dataclasses.is_dataclass(tp) else []
