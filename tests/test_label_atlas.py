"""Labels from the cached glyph atlas: the same pixels as imgui's, and a cache that is used
when valid and rebuilt when missing, damaged or stale."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("imgui_bundle")

from gradient_explorer.app.state import AppState, ViewOptions
from gradient_explorer.render import label_atlas
from gradient_explorer.render.headless import HeadlessRenderer
from gradient_explorer.render.label import Label
from gradient_explorer.surfaces.surface import Surface

pytestmark = pytest.mark.gl

SIZE = (200, 150)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh, empty cache folder for this test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("GRADIENT_EXPLORER_NO_CACHE", raising=False)
    return tmp_path


def _render(gl_ctx, state, size=SIZE, labels=None):
    """(picture, whether imgui drew the overlay) from a fresh renderer; ``labels``
    replaces the scene by a plain background under these labels."""
    renderer = HeadlessRenderer(gl_ctx, grid=32)
    if labels is not None:

        def scene(_state, _size, clear=True, with_labels=None):
            gl_ctx.clear(0.3, 0.35, 0.4, 1.0, depth=1.0)
            if with_labels is not None:  # as the scene does: laid out before they are drawn
                with_labels(labels)
            return labels

        renderer.scene.render = scene
    try:
        image = renderer.render(state, size, samples=4)
        return image, renderer._imgui is not None
    finally:
        renderer.release()


def _state(name="banana", preset="three_quarter"):
    view = ViewOptions(grid=32, floor=True)
    state = AppState.for_surface(Surface.named(name), aspect=SIZE[0] / SIZE[1], view=view)
    state.camera.preset(preset, SIZE[0] / SIZE[1], snap=True)
    return state


@pytest.mark.parametrize(("name", "preset"), [("banana", "three_quarter"), ("saddle", "top")])
def test_cached_labels_equal_imgui_labels(gl_ctx, cache, name, preset):
    state = _state(name, preset)
    drawn_by_imgui, used_imgui = _render(gl_ctx, state)  # no atlas yet: imgui, which stores it
    assert used_imgui
    atlas = label_atlas.load()
    assert atlas is not None
    assert sorted(atlas.glyphs) == sorted(map(ord, label_atlas.CHARSET))  # the fonts have all
    cached, used_imgui = _render(gl_ctx, state)
    assert not used_imgui
    np.testing.assert_array_equal(cached, drawn_by_imgui)
    # the picture has labels: without them it differs
    state.view = ViewOptions(grid=32, floor=True, axes=False)
    bare, _ = _render(gl_ctx, state)
    assert (bare != cached).any(axis=2).sum() > 100


def test_labels_anywhere_equal_imgui_labels(gl_ctx, cache, rng):
    """Fractional and negative positions, edges, every character of the set, colours with
    alpha: imgui's pixels either way."""
    chars = label_atlas.CHARSET
    labels = []
    for k in range(40):
        text = "".join(rng.choice(list(chars), size=int(rng.integers(1, 9))))
        x, y = rng.uniform(-20, SIZE[0] + 20), rng.uniform(-15, SIZE[1] + 15)
        color = tuple(rng.uniform(0, 1, 4)) if k % 3 else (1.0, 1.0, 1.0, 1.0)
        labels.append(Label((x, y), text, color, k, screen_size=SIZE))
    labels.append(Label((50.5, 60.25), "", (1.0, 1.0, 1.0, 1.0), 99, screen_size=SIZE))
    state = _state()
    by_imgui, used_imgui = _render(gl_ctx, state, labels=labels)
    assert used_imgui
    cached, used_imgui = _render(gl_ctx, state, labels=labels)
    assert not used_imgui
    np.testing.assert_array_equal(cached, by_imgui)
    # and an odd display size: the clip rectangle is the display
    by_imgui, _ = _render(gl_ctx, state, (123, 77), labels)
    cached, _ = _render(gl_ctx, state, (123, 77), labels)
    np.testing.assert_array_equal(cached, by_imgui)


def test_measure_is_calc_text_size(gl_ctx, cache, rng):
    from imgui_bundle import imgui

    from gradient_explorer.render.fonts import use_ui_font

    _render(gl_ctx, _state())  # writes the atlas
    atlas = label_atlas.load()
    context = imgui.create_context()
    try:
        imgui.set_current_context(context)
        io = imgui.get_io()
        io.set_ini_filename(None)
        io.backend_flags |= imgui.BackendFlags_.renderer_has_textures
        assert use_ui_font()
        io.display_size, io.delta_time = SIZE, 1.0 / 60.0
        imgui.new_frame()
        label_atlas.prebake(imgui)
        texts = ["", " ", "x", "f(x, y)", "−1.5e−3", label_atlas.CHARSET]
        texts += ["".join(rng.choice(list(label_atlas.CHARSET), size=12)) for _ in range(30)]
        for text in texts:
            size = imgui.calc_text_size(text)
            assert atlas.measure(text) == (size.x, size.y), text
        imgui.end_frame()
    finally:
        imgui.destroy_context(context)


def test_a_character_outside_the_set_goes_through_imgui(gl_ctx, cache):
    labels = [Label((100.0, 70.0), "x ∮ y", screen_size=SIZE)]
    _render(gl_ctx, _state())  # writes the atlas
    assert "∮" not in label_atlas.CHARSET
    _, used_imgui = _render(gl_ctx, _state(), labels=labels)
    assert used_imgui


def test_the_cache_is_rebuilt_when_damaged_or_stale(gl_ctx, cache, monkeypatch):
    state = _state()
    reference, _ = _render(gl_ctx, state)
    path = label_atlas._cache_path()
    good = path.read_bytes()
    damaged = [
        good[: len(good) // 2],  # truncated
        good[:-1] + bytes([good[-1] ^ 1]),  # one pixel byte changed
        good.replace(b'"font_size"', b'"font_sizf"', 1),  # the header changed
        b"not an atlas",
    ]
    for data in damaged:
        path.write_bytes(data)
        assert label_atlas.load() is None
        image, used_imgui = _render(gl_ctx, state)  # imgui draws, and writes it again
        assert used_imgui
        np.testing.assert_array_equal(image, reference)
        assert path.read_bytes() == good
    # stale: another imgui-bundle or font is another key
    real_key = label_atlas.key
    monkeypatch.setattr(label_atlas, "key", lambda: "0" * 64)
    assert label_atlas.load() is None
    monkeypatch.setattr(label_atlas, "key", real_key)
    assert label_atlas.load() is not None
    # a font file that changes is a new key (copies: the installed fonts stay untouched)
    copies = []
    for font in label_atlas.FONT_FILES:
        copies.append(cache / font.name)
        copies[-1].write_bytes(font.read_bytes())
    monkeypatch.setattr(label_atlas, "FONT_FILES", tuple(copies))
    before = label_atlas.key()
    stat = copies[0].stat()
    os.utime(copies[0], ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert label_atlas.key() != before
    monkeypatch.setattr(label_atlas, "FONT_FILES", tuple(copies[::-1]))
    assert label_atlas.key() != before
    # the cache turned off: imgui every time, nothing read
    monkeypatch.setenv("GRADIENT_EXPLORER_NO_CACHE", "1")
    assert label_atlas.load() is None
    _, used_imgui = _render(gl_ctx, state)
    assert used_imgui


def test_render_with_warm_caches_imports_no_imgui(tmp_path):
    # imgui-bundle takes ~0.1 s to import: a catalogue surface's picture with its labels
    # needs none of it once the glyph atlas is cached
    argv = ["render", "--surface", "banana", "--size", "160x120", "--grid", "32"]
    argv += ["--out", str(tmp_path / "x.png")]
    code = (
        "import sys, contextlib, io\n"
        "from gradient_explorer.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    main({argv!r})\n"
        "print([m for m in ('imgui_bundle', 'sympy') if m in sys.modules])\n"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path)}
    env.pop("GRADIENT_EXPLORER_NO_CACHE", None)
    runs = [
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
        for _ in range(2)
    ]
    for out in runs:
        assert out.returncode == 0, out.stderr
    assert runs[0].stdout.strip() != "[]"  # the first run derives and bakes
    assert runs[1].stdout.strip() == "[]"


def test_an_unwritable_cache_folder_is_no_error(gl_ctx, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))  # a file where the folder would be
    monkeypatch.delenv("GRADIENT_EXPLORER_NO_CACHE", raising=False)
    state = _state()
    first, used_imgui = _render(gl_ctx, state)
    assert used_imgui
    second, used_imgui = _render(gl_ctx, state)
    assert used_imgui  # nothing was stored: imgui again, the same picture
    np.testing.assert_array_equal(first, second)


def test_a_descent_without_legend_rows_draws_its_labels_from_the_atlas(gl_ctx, cache):
    """One ball and no glyphs shown: the legend has no rows, so the labels come from the
    cached atlas (imgui's pixels, no imgui frame); a glyph shown gives the legend a row,
    and then imgui draws it."""
    from gradient_explorer.render.label_layout import legend_rows

    state = _state()
    state.descent.kind = "single"
    state.descent.start_run(state.surface, start=(-1.5, 2.0))
    state.descent.step()
    assert state.descent.active and legend_rows(state.descent) == []
    by_imgui, used_imgui = _render(gl_ctx, state)  # no atlas yet: imgui, which stores it
    assert used_imgui
    cached, used_imgui = _render(gl_ctx, state)
    assert not used_imgui
    np.testing.assert_array_equal(cached, by_imgui)
    state.descent.glyphs.gradient = True
    assert legend_rows(state.descent)
    with_legend, used_imgui = _render(gl_ctx, state)
    assert used_imgui
    assert (with_legend != cached).any(axis=2).sum() > 50
