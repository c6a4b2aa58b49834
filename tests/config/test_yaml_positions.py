"""YAML with positions: line numbers kept, duplicate keys refused, one-line syntax errors, safe loading."""

from __future__ import annotations

import pytest

from distillsr.config import line_of, parse_yaml, plain
from distillsr.config.yaml_positions import PositionedMapping, PositionedSequence
from distillsr.errors import DistillsrError


def test_lines_of_keys_and_items():
    data = parse_yaml("a: 1\nb:\n  - x\n  - {c: 2}\n", "f.yaml")
    assert isinstance(data, PositionedMapping) and data.line == 1
    assert line_of(data, "a") == 1 and line_of(data, "b") == 2
    items = data["b"]
    assert isinstance(items, PositionedSequence) and items.item_lines == [3, 4]
    assert line_of(items, 1) == 4 and line_of(items[1], "c") == 4
    assert line_of(data, "missing") == 1  # falls back to the mapping's own line
    assert line_of(items, 9) == 3 and line_of({"plain": 1}, "plain") is None


def test_duplicate_key_is_an_error_with_its_line():
    with pytest.raises(DistillsrError, match=r"^f\.yaml:3: invalid YAML: duplicate key 'a'$"):
        parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")


def test_merge_keys_are_not_duplicates():
    data = parse_yaml("one: &one {x: 1, y: 1}\nm:\n  <<: *one\n  x: 3\n", "f.yaml")
    assert plain(data["m"]) == {"x": 3, "y": 1}  # the explicit key wins over the merged one
    with pytest.raises(DistillsrError, match="duplicate key 'x'"):
        parse_yaml("one: &one {x: 1}\nm:\n  <<: *one\n  x: 3\n  x: 4\n", "f.yaml")


def test_invalid_yaml_is_one_line():
    with pytest.raises(DistillsrError) as caught:
        parse_yaml("a: [1\nb: 2\n", "f.yaml")
    assert str(caught.value).startswith("f.yaml:") and "invalid YAML" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_only_plain_data_is_constructed():
    with pytest.raises(DistillsrError, match="invalid YAML"):
        parse_yaml("a: !!python/object/apply:os.getcwd []\n", "f.yaml")
    with pytest.raises(DistillsrError, match="a mapping key must be a plain value"):
        parse_yaml("? [1, 2]\n: 3\n", "f.yaml")


def test_plain_drops_the_bookkeeping():
    data = plain(parse_yaml("a: [1, {b: 2}]\n", "f.yaml"))
    assert data == {"a": [1, {"b": 2}]}
    assert type(data) is dict and type(data["a"]) is list and type(data["a"][1]) is dict


def test_among_merged_mappings_the_first_wins():
    data = parse_yaml("one: &one {y: 1}\ntwo: &two {y: 2, z: 2}\nm:\n  <<: [*one, *two]\n", "f.yaml")
    assert plain(data["m"]) == {"y": 1, "z": 2}  # as YAML specifies, and as yaml.safe_load reads it


@pytest.mark.parametrize(
    "text",
    [
        "base: &b {x: 1, y: 1}\nm:\n  <<: *b\n  y: 2\n",
        "a: &a {x: 1}\nb: &b {x: 2, y: 3}\nm:\n  <<: [*a, *b]\n  z: 4\n",
        "inner: &i {x: 1}\nouter: &o {<<: *i, x: 5, w: 6}\nm:\n  <<: *o\n",
    ],
    ids=["own-key-wins", "first-merged-wins", "nested-merge"],
)
def test_merge_keys_read_as_pyyaml_reads_them(text):
    import yaml

    assert plain(parse_yaml(text, "f.yaml")) == yaml.safe_load(text)
