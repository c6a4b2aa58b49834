"""ConfigError's one-line message and how it gains a path and a position; the nearest-key lookup."""

from __future__ import annotations

import pytest

from distillsr.config import ConfigError, nearest
from distillsr.errors import DistillsrError


@pytest.mark.parametrize(
    "kwargs,message",
    [
        ({"path": "a.b", "reason": "bad"}, "a.b: bad"),
        ({"path": "a.b", "reason": "bad", "source": "f.yaml"}, "f.yaml: a.b: bad"),
        ({"path": "a.b", "reason": "bad", "source": "f.yaml", "line": 3}, "f.yaml:3: a.b: bad"),
        ({"path": "", "reason": "empty", "source": "f.yaml"}, "f.yaml: empty"),
        ({"path": "", "reason": "empty"}, "empty"),
    ],
)
def test_message_format(kwargs, message):
    error = ConfigError(**kwargs)
    assert str(error) == message and isinstance(error, DistillsrError)


def test_within_prefixes_the_path():
    inner = ConfigError("lr", "too big", source="f.yaml", line=7)
    outer = inner.within("stages.0.optimizer")
    assert (outer.path, outer.reason, outer.source, outer.line) == ("stages.0.optimizer.lr", "too big", "f.yaml", 7)
    assert ConfigError("lr", "x").within("").path == "lr"
    assert ConfigError("", "x").within("stages.1").path == "stages.1"


def test_located_keeps_the_inner_position():
    assert str(ConfigError("a", "bad").located("f.yaml", 4)) == "f.yaml:4: a: bad"
    precise = ConfigError("a", "bad", source="f.yaml", line=9).located("g.yaml", 4)
    assert (precise.source, precise.line) == ("f.yaml", 9)


def test_nearest():
    assert nearest("optimzer", ["optimizer", "scheduler"]) == "optimizer"
    assert nearest("zzz", ["optimizer", "scheduler"]) is None
    assert nearest("x", []) is None
