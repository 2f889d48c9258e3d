"""The cached generated code of catalogue surfaces: used when valid, rebuilt otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from gradient_explorer.surfaces import codecache
from gradient_explorer.surfaces.catalogue import definition_named
from gradient_explorer.surfaces.surface import Surface

POINTS = np.array([[-1.5, 2.0], [0.3, -0.4], [1.0, 1.0]])


@pytest.fixture
def cache_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("GRADIENT_EXPLORER_NO_CACHE", raising=False)
    return tmp_path


def _entries(home) -> list:
    folder = home / "gradient-explorer" / "generated"
    return sorted(folder.glob("*.json")) if folder.exists() else []


def _fresh(name: str) -> Surface:
    """The surface derived from scratch (no cache)."""
    return Surface._build(definition_named(name), Surface._parse(definition_named(name)))


def _same(a: Surface, b: Surface) -> None:
    assert a.sources == b.sources and a.variables == b.variables
    assert a.param_values == b.param_values and a.height_scale == b.height_scale
    assert np.array_equal(a.f(POINTS), b.f(POINTS), equal_nan=True)
    assert np.array_equal(a.gradient(POINTS), b.gradient(POINTS), equal_nan=True)


def test_a_second_process_reads_the_cache_and_never_imports_sympy(cache_home):
    code = (
        "import sys; from gradient_explorer.surfaces.surface import Surface; "
        "s = Surface.named('banana'); print(s.f((0.5, 0.5))); print('sympy' in sys.modules)"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    first = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split()[1] == "True"  # derived: sympy was needed
    assert len(_entries(cache_home)) == 1
    second = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert second.stdout.split() == [first.stdout.split()[0], "False"]


def test_cached_surface_equals_a_derived_one(cache_home):
    for name in ("banana", "ackley", "double_well", "softplus"):
        first = Surface.named(name)  # derives and writes
        second = Surface.named(name)  # reads
        _same(first, _fresh(name))
        _same(second, _fresh(name))
        assert second.expr == first.expr  # parsed on demand from the definition
    assert len(_entries(cache_home)) == 4


def test_a_changed_definition_is_rebuilt(cache_home):
    banana = definition_named("banana")
    Surface.cached(banana)
    changed = replace(banana, expression=banana.expression + " + x")
    assert codecache.load(changed) is None
    s = Surface.cached(changed)
    assert s.f((1.0, 1.0)) == pytest.approx(Surface.named("banana").f((1.0, 1.0)) + 1.0)
    assert len(_entries(cache_home)) == 2
    assert codecache.load(replace(banana, domain=((-3, 3), (-1, 3)))) is None


def test_a_new_sympy_or_generator_is_rebuilt(cache_home, monkeypatch):
    definition = definition_named("bowl")
    Surface.cached(definition)
    assert codecache.load(definition) is not None
    monkeypatch.setattr(codecache, "sympy_version", lambda: "0.0-other")
    assert codecache.load(definition) is None
    Surface.cached(definition)
    assert codecache.load(definition) is not None
    monkeypatch.setattr(codecache, "_generator_hash", lambda: "another generator")
    assert codecache.load(definition) is None


@pytest.mark.parametrize("damage", ["truncate", "edit", "garbage", "other key"])
def test_a_damaged_file_is_rebuilt(cache_home, damage):
    definition = definition_named("saddle")
    Surface.cached(definition)
    (path,) = _entries(cache_home)
    text = path.read_text()
    if damage == "truncate":
        path.write_text(text[: len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff not json")
    else:
        doc = json.loads(text)
        if damage == "edit":  # valid JSON, code changed: the checksum no longer matches
            doc["payload"]["python"] = doc["payload"]["python"].replace("x", "y")
        else:
            doc["payload"]["key"] = "0" * 64
            doc["sha256"] = codecache._checksum(doc["payload"])
        path.write_text(json.dumps(doc))
    assert codecache.load(definition) is None
    s = Surface.cached(definition)
    _same(s, _fresh("saddle"))
    assert codecache.load(definition) is not None  # written again, whole
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temporary left


def test_an_unwritable_cache_is_not_an_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    _same(Surface.named("banana"), _fresh("banana"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "c"))
    monkeypatch.setenv("GRADIENT_EXPLORER_NO_CACHE", "1")
    Surface.named("banana")
    assert not (tmp_path / "c").exists()


def test_write_cache_is_atomic_and_quiet_where_it_cannot_write(tmp_path, monkeypatch):
    from gradient_explorer import fileio

    target = tmp_path / "deep" / "entry.bin"
    assert fileio.write_cache(target, b"one") and target.read_bytes() == b"one"
    assert fileio.write_cache(target, "two") and target.read_text() == "two"

    def refuse(src, dst):
        raise PermissionError(13, "refused")

    monkeypatch.setattr(fileio.os, "replace", refuse)
    assert fileio.write_cache(target, b"three") is False
    assert target.read_text() == "two"  # the old entry stands
    assert sorted(p.name for p in target.parent.iterdir()) == ["entry.bin"]  # no temporary
    blocked = tmp_path / "a-file"
    blocked.write_text("x")
    assert fileio.write_cache(blocked / "entry.bin", b"x") is False  # its folder is a file
