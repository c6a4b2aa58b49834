"""Where distillsr keeps what it downloads (home.py): $DISTILLSR_HOME, else the platform's cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from distillsr.home import HOME_VARIABLE, distillsr_home, platform_cache_dir


@pytest.fixture(autouse=True)
def _plain_environment(monkeypatch, tmp_path):
    """A known home directory and none of the variables that move the cache."""
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    monkeypatch.setenv("USERPROFILE", str(tmp_path / "user"))  # what Path.home() reads on Windows
    for name in (HOME_VARIABLE, "XDG_CACHE_HOME", "LOCALAPPDATA"):
        monkeypatch.delenv(name, raising=False)


def test_linux_uses_the_xdg_cache_folder(monkeypatch, tmp_path):
    assert platform_cache_dir("linux") == tmp_path / "user" / ".cache" / "distillsr"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert platform_cache_dir("linux") == tmp_path / "xdg" / "distillsr"
    assert platform_cache_dir("freebsd13") == tmp_path / "xdg" / "distillsr"


@pytest.mark.parametrize("value", ["", "relative/cache"])
def test_an_empty_or_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path, value):
    """The XDG base-directory spec: relative paths are invalid and must be ignored."""
    monkeypatch.setenv("XDG_CACHE_HOME", value)
    assert platform_cache_dir("linux") == tmp_path / "user" / ".cache" / "distillsr"


def test_macos_uses_library_caches():
    assert platform_cache_dir("darwin") == Path.home() / "Library" / "Caches" / "distillsr"


def test_windows_uses_local_app_data(monkeypatch, tmp_path):
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert platform_cache_dir("win32") == tmp_path / "Local" / "distillsr" / "Cache"
    monkeypatch.delenv("LOCALAPPDATA")
    assert platform_cache_dir("win32") == Path.home() / "AppData" / "Local" / "distillsr" / "Cache"


def test_without_the_variable_home_is_the_platform_cache(monkeypatch):
    assert distillsr_home() == platform_cache_dir()
    monkeypatch.setenv(HOME_VARIABLE, "   ")  # blank counts as unset
    assert distillsr_home() == platform_cache_dir()


def test_the_variable_moves_home_with_tilde_expanded_and_made_absolute(monkeypatch, tmp_path):
    monkeypatch.setenv(HOME_VARIABLE, str(tmp_path / "shared-disk"))
    assert distillsr_home() == tmp_path / "shared-disk"
    monkeypatch.setenv(HOME_VARIABLE, "~/models")
    assert distillsr_home() == tmp_path / "user" / "models"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(HOME_VARIABLE, "relative")
    assert distillsr_home() == tmp_path / "relative" and distillsr_home().is_absolute()


def test_asking_creates_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv(HOME_VARIABLE, str(tmp_path / "not-yet"))
    distillsr_home()
    platform_cache_dir()
    assert not (tmp_path / "not-yet").exists() and not (tmp_path / "user").exists()
