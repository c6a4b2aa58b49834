"""Strict configuration files: YAML read into frozen dataclasses, with ``file:line`` errors.

Generic: nothing here knows a particular config. A caller gives the root dataclass and a
:class:`Schema` (its tagged unions and per-class hooks); field help, aliases and value aliases come
from each field's :func:`doc` metadata. The training recipe (:mod:`distillsr.training.recipe`) is
one such config.

- :mod:`~distillsr.config.yaml_positions`: YAML with line numbers, duplicate keys refused;
- :mod:`~distillsr.config.reader`: parsed YAML -> dataclasses, every key and value checked;
- :mod:`~distillsr.config.overrides`: ``--set a.b=c`` applied along the schema;
- :mod:`~distillsr.config.printing`: dataclasses -> plain data -> YAML that reads back equal.
"""

from distillsr.config.describe import type_name
from distillsr.config.errors import ConfigError, nearest
from distillsr.config.overrides import apply_override
from distillsr.config.printing import format_yaml, to_plain
from distillsr.config.reader import Reader, read
from distillsr.config.schema import Coercer, Schema, TaggedUnion, doc
from distillsr.config.yaml_positions import line_of, parse_yaml, plain

__all__ = [
    "Coercer",
    "ConfigError",
    "Reader",
    "Schema",
    "TaggedUnion",
    "apply_override",
    "doc",
    "format_yaml",
    "line_of",
    "nearest",
    "parse_yaml",
    "plain",
    "read",
    "to_plain",
    "type_name",
]
