"""The window's renderer, remembered between starts (which window to open first)."""

from __future__ import annotations

from gradient_explorer.app import renderer_memory


def test_remembered_per_kind_of_display(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("GRADIENT_EXPLORER_NO_CACHE", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    assert renderer_memory.remembered() is None
    renderer_memory.remember("llvmpipe (LLVM 15.0.6, 256 bits)")
    assert renderer_memory.remembered() == "llvmpipe (LLVM 15.0.6, 256 bits)"
    monkeypatch.setenv("DISPLAY", ":171")  # another server on this machine: the same entry
    assert renderer_memory.remembered() == "llvmpipe (LLVM 15.0.6, 256 bits)"
    monkeypatch.setenv("DISPLAY", "far:10.0")  # another machine's display: its own
    assert renderer_memory.remembered() is None
    renderer_memory.remember("NVIDIA GeForce RTX 4090/PCIe/SSE2")
    assert renderer_memory.remembered() == "NVIDIA GeForce RTX 4090/PCIe/SSE2"
    monkeypatch.setenv("WAYLAND_DISPLAY", "wayland-0")
    assert renderer_memory.remembered() is None
    monkeypatch.delenv("WAYLAND_DISPLAY")
    monkeypatch.setenv("DISPLAY", ":0")
    renderer_memory.remember("AMD Radeon")  # the renderer changed: the entry follows
    assert renderer_memory.remembered() == "AMD Radeon"
    monkeypatch.setenv("DISPLAY", "far:10.0")
    assert renderer_memory.remembered() == "NVIDIA GeForce RTX 4090/PCIe/SSE2"


def test_damaged_or_off_is_not_known(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("GRADIENT_EXPLORER_NO_CACHE", raising=False)
    monkeypatch.setenv("DISPLAY", ":0")
    renderer_memory.remember("llvmpipe")
    path = renderer_memory._path()
    for damaged in ("{not json", "[1, 2]", '{"": 3}', ""):
        path.write_text(damaged)
        assert renderer_memory.remembered() is None
    renderer_memory.remember("llvmpipe")  # written again over the damaged file
    assert renderer_memory.remembered() == "llvmpipe"
    monkeypatch.setenv("GRADIENT_EXPLORER_NO_CACHE", "1")
    assert renderer_memory.remembered() is None
    renderer_memory.remember("other")  # nothing written
    monkeypatch.delenv("GRADIENT_EXPLORER_NO_CACHE")
    assert renderer_memory.remembered() == "llvmpipe"


def test_an_unwritable_cache_is_no_error(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder would be
    monkeypatch.delenv("GRADIENT_EXPLORER_NO_CACHE", raising=False)
    renderer_memory.remember("llvmpipe")
    assert renderer_memory.remembered() is None
