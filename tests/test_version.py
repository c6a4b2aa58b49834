"""distillsr.version: the installed metadata is the one source of the version."""

from __future__ import annotations

import importlib.metadata

import pytest
from packaging.version import Version

import distillsr
from distillsr.version import NOT_INSTALLED, package_version


@pytest.fixture
def fresh_cache():
    package_version.cache_clear()
    yield
    package_version.cache_clear()


def test_version_is_the_installed_distributions(fresh_cache):
    assert package_version() == importlib.metadata.version("distillsr")
    assert distillsr.__version__ == package_version()
    Version(package_version())  # a valid PEP 440 version, as pip and packaging tools need


def test_metadata_is_read_once(fresh_cache, monkeypatch):
    calls = []
    monkeypatch.setattr(importlib.metadata, "version", lambda name: (calls.append(name), "1.2.3")[1])
    assert package_version() == "1.2.3"
    assert package_version() == "1.2.3"
    assert calls == ["distillsr"]


def test_a_never_installed_source_tree_says_so(fresh_cache, monkeypatch):
    def not_found(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_found)
    assert package_version() == NOT_INSTALLED == "0+unknown"
    Version(NOT_INSTALLED)  # still sortable by packaging tools
