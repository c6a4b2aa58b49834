"""YAML read with line numbers kept and duplicate keys refused, so every error can say ``file:line``.

PyYAML's plain loaders forget where a value came from and silently keep the last of two equal
keys; this SafeLoader subclass returns dict/list subclasses that remember the line of each key and
item, and raises on a key given twice. It constructs nothing but plain data (no arbitrary objects).
"""

from __future__ import annotations

from typing import Any

import yaml

from distillsr.errors import DistillsrError


class PositionedMapping(dict):
    """A YAML mapping that remembers the line of each key, for error messages."""

    line: int | None = None
    key_lines: dict


class PositionedSequence(list):
    """A YAML sequence that remembers the line of each item."""

    line: int | None = None
    item_lines: list


class PositionLoader(yaml.SafeLoader):
    """SafeLoader that records line numbers and refuses duplicate keys (PyYAML keeps the last one silently)."""


def _construct_mapping(loader: PositionLoader, node: yaml.MappingNode) -> PositionedMapping:
    explicit = sum(1 for key_node, _ in node.value if key_node.tag != "tag:yaml.org,2002:merge")
    loader.flatten_mapping(node)  # merged (<<) pairs first, then the explicit ones
    first_explicit = len(node.value) - explicit
    mapping = PositionedMapping()
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
        # Merged pairs: PyYAML's flatten_mapping already orders them so that assigning in order leaves
        # the value YAML specifies (the first merged mapping wins, the mapping's own keys win over all).
        mapping[key] = loader.construct_object(value_node, deep=True)
        mapping.key_lines[key] = key_node.start_mark.line + 1
    return mapping


def _construct_sequence(loader: PositionLoader, node: yaml.SequenceNode) -> PositionedSequence:
    sequence = PositionedSequence(loader.construct_object(child, deep=True) for child in node.value)
    sequence.line = node.start_mark.line + 1
    sequence.item_lines = [child.start_mark.line + 1 for child in node.value]
    return sequence


PositionLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
PositionLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def parse_yaml(text: str, source: str) -> Any:
    """Parsed YAML with positions; a syntax error is one ``source:line: invalid YAML: ...`` line."""
    try:
        return yaml.load(text, Loader=PositionLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise DistillsrError(f"{where}: invalid YAML: {problem}") from None


def line_of(container: Any, key: Any) -> int | None:
    """The line of ``container[key]`` (or of the container itself when the key has none)."""
    if isinstance(container, PositionedMapping):
        return container.key_lines.get(key, container.line)
    if isinstance(container, PositionedSequence) and isinstance(key, int) and 0 <= key < len(container.item_lines):
        return container.item_lines[key]
    return getattr(container, "line", None)


def plain(value: Any) -> Any:
    """Drop the position bookkeeping: nested plain dicts and lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
