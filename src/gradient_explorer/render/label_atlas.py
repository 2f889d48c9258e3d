"""Labels of a headless picture drawn from imgui's glyph atlas, cached, without imgui.

Importing imgui-bundle takes ~0.1 s of a fresh ``render`` process, and a picture whose
overlay is only its labels needs nothing of imgui but the glyphs. So the first headless
overlay drawn with imgui bakes a fixed set of characters (:data:`CHARSET`) into its atlas
before anything else, and :func:`snapshot` writes that atlas (imgui's texture, byte for
byte) and its glyph table (advances, quads and texture coordinates, as imgui computed
them) to the user's cache folder. A later process lays the labels out and builds the
same triangles imgui builds (:meth:`GlyphAtlas.measure` is ``ImGui::CalcTextSize``,
:meth:`GlyphAtlas.text_quads` is ``ImFont::RenderText``, both in float32) and draws them
with the same shader, texture and blend: the pixels are the same
(``tests/test_label_atlas.py``). Text with a character outside the set, a legend, a plot
or panels go through imgui as before.

The entry is keyed by the format, the character set, the font files, the font size and
imgui-bundle's native module (size and modification time, read without importing it);
it carries a SHA-256 of its contents, is written atomically, and is rebuilt when
missing, damaged or stale, as the generated-code cache is
(:mod:`gradient_explorer.surfaces.codecache`; ``GRADIENT_EXPLORER_NO_CACHE=1`` turns
both off).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

import moderngl
import numpy as np

from gradient_explorer.fileio import write_cache
from gradient_explorer.render.fonts import FONT_FILES, FONT_SIZE
from gradient_explorer.render.overlay_gl import OVERLAY_BLEND_FUNC, ortho
from gradient_explorer.render.shader_loader import load_program
from gradient_explorer.surfaces import codecache

__all__ = ["CHARSET", "GlyphAtlas", "LabelDrawer", "color_u32", "load", "snapshot", "store"]

FORMAT = 1
#: Baked first, in this order, into every headless imgui atlas: what axis ticks, names
#: and the 1D view's labels are written with (digits, letters, signs, Greek, powers).
CHARSET = (
    "".join(chr(c) for c in range(32, 127))
    + "×·°±µ−∂√∞≈≠≤≥…′″²³¹⁰⁴⁵⁶⁷⁸⁹⁻"
    + "αβγδεζηθικλμνξοπρστυφχψω"
    + "ΓΔΘΛΞΠΣΦΨΩ"
)
_MAGIC = b"GE-ATLAS\n"
_VERTEX = np.dtype([("pos", "<f4", 2), ("uv", "<f4", 2), ("col", "u1", 4)])  # ImDrawVert
_F32 = struct.Struct("<f")


def _f32(value: float) -> float:
    """``value`` rounded to float32, as C's ``float`` holds it."""
    return _F32.unpack(_F32.pack(value))[0]


def color_u32(rgba) -> tuple[int, int, int, int]:
    """``ImGui::GetColorU32(ImVec4)`` as bytes: saturate, times 255, plus 0.5, truncated,
    in float32 (style alpha 1)."""
    out = []
    for v in rgba:
        v = _f32(float(v))
        v = 0.0 if v < 0.0 else 1.0 if v > 1.0 else v
        out.append(int(_f32(_f32(v * 255.0) + 0.5)))
    return tuple(out)


def _cache_path() -> Path:
    return codecache.cache_dir().parent / "labels" / "atlas.bin"


def _stamp(path: Path) -> list:
    st = path.stat()
    return [path.name, st.st_size, st.st_mtime_ns]


def key() -> str | None:
    """The entry's key, or None where the fonts or imgui-bundle cannot be found."""
    spec = importlib.util.find_spec("imgui_bundle")
    if spec is None or not spec.origin:
        return None
    try:
        native = sorted(Path(spec.origin).parent.glob("_imgui_bundle*"))
        stamps = [_stamp(p) for p in (*FONT_FILES, *native)]
    except OSError:
        return None
    if not native:
        return None
    text = json.dumps([FORMAT, CHARSET, FONT_SIZE, stamps], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class GlyphAtlas:
    """imgui's atlas texture (RGBA8, top row first) and its glyph table.

    ``glyphs`` maps a code point to (advance, visible, x0, y0, x1, y1, u0, v0, u1, v1):
    imgui's ``ImFontGlyph`` fields (float32 values) at :data:`FONT_SIZE`.
    """

    width: int
    height: int
    pixels: bytes
    font_size: float
    glyphs: dict

    def covers(self, text: str) -> bool:
        """Whether every character of ``text`` is in the table (then drawn as imgui would)."""
        return all(ord(c) in self.glyphs for c in text)

    def measure(self, text: str) -> tuple[float, float]:
        """``ImGui::CalcTextSize(text)``: the advances summed in float32, the width rounded
        up to a whole pixel, the height one line (:func:`snapshot` checks it is imgui's)."""
        width = 0.0
        for c in text:
            width = _f32(width + self.glyphs[ord(c)][0])
        return (float(math.ceil(width)), self.font_size)

    def text_quads(self, pos, col, text: str, clip) -> list[tuple]:
        """``ImDrawList::AddText(pos, col, text)`` on one line: the glyph quads
        (x1, y1, x2, y2, u0, v0, u1, v1) imgui emits, with ``clip`` (x0, y0, x1, y1) its
        draw list's clip rectangle."""
        if col[3] == 0 or not text:
            return []
        x = float(math.trunc(_f32(pos[0])))  # IM_TRUNC: pixel-aligned start
        y = float(math.trunc(_f32(pos[1])))
        if y > clip[3] or _f32(y + self.font_size) < clip[1]:
            return []
        quads = []
        for c in text:
            advance, visible, x0, y0, x1, y1, u0, v0, u1, v1 = self.glyphs[ord(c)]
            if visible:
                qx1, qx2 = _f32(x + x0), _f32(x + x1)
                if qx1 <= clip[2] and qx2 >= clip[0]:
                    quads.append((qx1, _f32(y + y0), qx2, _f32(y + y1), u0, v0, u1, v1))
            x = _f32(x + advance)
        return quads


def snapshot(imgui) -> GlyphAtlas | None:
    """The current imgui context's atlas and the table of :data:`CHARSET`, at the current
    font's size; call within a frame, after :func:`prebake`. None if it is not RGBA8."""
    io = imgui.get_io()
    tex = io.fonts.tex_data
    if tex is None or tex.bytes_per_pixel != 4:
        return None
    baked = imgui.get_font_baked()
    glyphs = {}
    for ch in dict.fromkeys(CHARSET):
        c = ord(ch)
        g = baked.find_glyph_no_fallback(c)
        if g is None or g.is_colored() or g.get_codepoint() != c:
            continue
        advance = float(baked.get_char_advance(c))
        if advance != float(g.advance_x):
            continue
        glyphs[c] = (advance, bool(g.is_visible()), g.x0, g.y0, g.x1, g.y1, g.u0, g.v0, g.u1, g.v1)
        glyphs[c] = tuple(float(v) if not isinstance(v, bool) else v for v in glyphs[c])
    pixels = np.ascontiguousarray(tex.get_pixels_array(), dtype=np.uint8).tobytes()
    if len(pixels) != tex.width * tex.height * 4:
        return None
    atlas = GlyphAtlas(tex.width, tex.height, pixels, float(baked.size), glyphs)
    # the layout must measure as imgui does: checked here, or no atlas (imgui draws)
    chars = "".join(chr(c) for c in glyphs)
    for text in (chars[:k] for k in range(len(chars) + 1)):
        size = imgui.calc_text_size(text)
        if atlas.measure(text) != (size.x, size.y):
            return None
    return atlas


def prebake(imgui) -> None:
    """Bake :data:`CHARSET` into the current font's atlas, in order (within a frame, first
    thing): every headless atlas then has the same layout as the cached one."""
    imgui.calc_text_size(CHARSET)


def _payload(atlas: GlyphAtlas, k: str) -> dict:
    return {
        "key": k,
        "width": atlas.width,
        "height": atlas.height,
        "font_size": atlas.font_size,
        "glyphs": [[c, *v] for c, v in sorted(atlas.glyphs.items())],
    }


def _checksum(payload: dict, pixels: bytes) -> str:
    digest = hashlib.sha256(json.dumps(payload, sort_keys=True).encode())
    digest.update(pixels)
    return digest.hexdigest()


def store(atlas: GlyphAtlas) -> bool:
    """Write the entry atomically; False (nothing written) when that is not possible."""
    k = key()
    if k is None or not codecache.enabled():
        return False
    payload = _payload(atlas, k)
    header = json.dumps({"sha256": _checksum(payload, atlas.pixels), "payload": payload})
    data = _MAGIC + struct.pack("<Q", len(header)) + header.encode() + atlas.pixels
    return write_cache(_cache_path(), data)


def load() -> GlyphAtlas | None:
    """The cached atlas, or None when there is no valid entry (missing, damaged, stale)."""
    if not codecache.enabled():
        return None
    k = key()
    if k is None:
        return None
    try:
        data = _cache_path().read_bytes()
        if not data.startswith(_MAGIC):
            return None
        start = len(_MAGIC) + 8
        (length,) = struct.unpack("<Q", data[len(_MAGIC) : start])
        doc = json.loads(data[start : start + length].decode())
        pixels = data[start + length :]
        payload = doc["payload"]
        if payload.get("key") != k or doc.get("sha256") != _checksum(payload, pixels):
            return None
        width, height = int(payload["width"]), int(payload["height"])
        if len(pixels) != width * height * 4:
            return None
        glyphs = {}
        for row in payload["glyphs"]:
            c, advance, visible, *box = row
            glyphs[int(c)] = (float(advance), bool(visible), *(float(v) for v in box))
            if len(box) != 8:
                return None
        return GlyphAtlas(width, height, pixels, float(payload["font_size"]), glyphs)
    except (OSError, ValueError, KeyError, TypeError, struct.error, UnicodeDecodeError):
        return None


class LabelDrawer:
    """Draws placed labels (:func:`~gradient_explorer.render.label_layout.layout_labels`)
    from a :class:`GlyphAtlas`, as imgui's background draw list and renderer would."""

    def __init__(self, ctx: moderngl.Context, atlas: GlyphAtlas):
        self.ctx = ctx
        self.atlas = atlas
        self._program = load_program(ctx, "imgui")
        self._program["u_texture"].value = 0
        self._texture = ctx.texture((atlas.width, atlas.height), 4, atlas.pixels)
        self._texture.filter = (moderngl.LINEAR, moderngl.LINEAR)
        self._texture.repeat_x = self._texture.repeat_y = False
        self._released = False

    def vertices(self, placed, size, shadow, offset: float) -> tuple[np.ndarray, np.ndarray]:
        """imgui's vertices and indices for ``placed``: each label's shadow, then its text."""
        width, height = size
        clip = (0.0, 0.0, _f32(float(width)), _f32(float(height)))
        shadow_col = color_u32(shadow)
        quads, colors = [], []
        for label, (x, y, _, _) in placed:
            for pos, col in (
                ((x + offset, y + offset), shadow_col),
                ((x, y), color_u32(label.color)),
            ):
                q = self.atlas.text_quads(pos, col, label.text, clip)
                quads += q
                colors += [col] * len(q)
        n = len(quads)
        vtx = np.zeros(4 * n, dtype=_VERTEX)
        if n:
            q = np.array(quads, dtype=np.float64).astype(np.float32)  # already float32 values
            x1, y1, x2, y2, u0, v0, u1, v1 = q.T
            corners = [(x1, y1, u0, v0), (x2, y1, u1, v0), (x2, y2, u1, v1), (x1, y2, u0, v1)]
            for k, (px, py, u, v) in enumerate(corners):
                vtx["pos"][k::4] = np.column_stack([px, py])
                vtx["uv"][k::4] = np.column_stack([u, v])
                vtx["col"][k::4] = np.array(colors, dtype=np.uint8)
        base = 4 * np.arange(n, dtype=np.uint32)[:, None]
        idx = (base + np.array([0, 1, 2, 0, 2, 3], dtype=np.uint32)).reshape(-1)
        return vtx, idx

    def draw(self, placed, size, fbo: moderngl.Framebuffer, shadow, offset: float) -> None:
        """Draw the labels over what ``fbo`` holds (``size`` = its pixels)."""
        vtx, idx = self.vertices(placed, size, shadow, offset)
        if not len(idx):
            return
        ctx = self.ctx
        width, height = (int(v) for v in size)
        self._program["u_projection"].write(ortho(0.0, float(width), 0.0, float(height)))
        vbo = ctx.buffer(vtx.tobytes())
        ibo = ctx.buffer(idx.tobytes())
        vao = ctx.vertex_array(
            self._program,
            [(vbo, "2f 2f 4f1", "in_position", "in_texcoord", "in_color")],
            index_buffer=ibo,
            index_element_size=4,
        )
        saved_viewport = fbo.viewport
        scope = ctx.scope(fbo, enable_only=moderngl.BLEND)
        try:
            with scope:
                try:
                    ctx.blend_equation = moderngl.FUNC_ADD
                    ctx.blend_func = OVERLAY_BLEND_FUNC
                    fbo.viewport = (0, 0, width, height)
                    self._texture.use(0)
                    vao.render(moderngl.TRIANGLES)
                finally:
                    fbo.viewport = saved_viewport
                    ctx.blend_func = moderngl.DEFAULT_BLENDING
        finally:
            scope.release()
            vao.release()
            ibo.release()
            vbo.release()

    def release(self) -> None:
        """Free the program and the texture; safe to call twice."""
        if not self._released:
            self._released = True
            self._texture.release()
            self._program.release()
