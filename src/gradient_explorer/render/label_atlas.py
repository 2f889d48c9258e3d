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

import functools
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
from gradient_explorer.render.visuals._gl import GrowableBuffer
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
    return _color_u32(tuple(float(v) for v in rgba))


@functools.lru_cache(maxsize=256)  # a frame's labels use a few colours, every frame
def _color_u32(rgba: tuple) -> tuple[int, int, int, int]:
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

    def __post_init__(self):
        # per-frame helpers, made on first use: the glyph table as float32 rows and the
        # widths measured so far (labels keep their texts from frame to frame)
        object.__setattr__(self, "_table", None)
        object.__setattr__(self, "_widths", {})

    def table(self) -> tuple[dict, np.ndarray]:
        """(row of each code point, float32 rows (advance, visible, x0, y0, x1, y1, u0,
        v0, u1, v1)): :attr:`glyphs` for numpy."""
        if self._table is None:
            codes = list(self.glyphs)
            rows = np.array([self.glyphs[c] for c in codes], dtype=np.float64).reshape(-1, 10)
            object.__setattr__(
                self, "_table", ({c: i for i, c in enumerate(codes)}, rows.astype(np.float32))
            )
        return self._table

    def covers(self, text: str) -> bool:
        """Whether every character of ``text`` is in the table (then drawn as imgui would)."""
        return all(ord(c) in self.glyphs for c in text)

    def measure(self, text: str) -> tuple[float, float]:
        """``ImGui::CalcTextSize(text)``: the advances summed in float32, the width rounded
        up to a whole pixel, the height one line (:func:`snapshot` checks it is imgui's)."""
        width = self._widths.get(text)
        if width is None:
            width = 0.0
            for c in text:
                width = _f32(width + self.glyphs[ord(c)][0])
            width = self._widths[text] = float(math.ceil(width))
            if len(self._widths) > 4096:  # texts that keep changing: start again
                self._widths.clear()
        return (width, self.font_size)

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
        # kept from frame to frame (made anew only when they grow)
        self._vertices = GrowableBuffer(ctx, _VERTEX.itemsize, 1024)
        self._indices = GrowableBuffer(ctx, 4, 1536)
        self._vao = None
        self._vao_for = None
        self._released = False

    def vertices(self, placed, size, shadow, offset: float) -> tuple[np.ndarray, np.ndarray]:
        """imgui's vertices and indices for ``placed``: each label's shadow, then its text.

        :meth:`GlyphAtlas.text_quads` for all of them at once, in numpy float32 (the same
        roundings: each pen position the float32 sum of the one before and an advance,
        a running sum along the row; corners float32 sums of two float32 values)."""
        width, height = size
        clip = (0.0, 0.0, _f32(float(width)), _f32(float(height)))
        shadow_col = color_u32(shadow)
        font_size = self.atlas.font_size
        rows_of, table = self.atlas.table()
        starts, texts, colors = [], [], []
        for label, (x, y, _, _) in placed:
            for pos, col in (
                ((x + offset, y + offset), shadow_col),
                ((x, y), color_u32(label.color)),
            ):
                text = label.text
                if col[3] == 0 or not text:
                    continue
                px = float(math.trunc(_f32(pos[0])))  # IM_TRUNC: pixel-aligned start
                py = float(math.trunc(_f32(pos[1])))
                if py > clip[3] or _f32(py + font_size) < clip[1]:
                    continue
                starts.append((px, py))
                texts.append([rows_of[ord(c)] for c in text])
                colors.append(col)
        if not texts:
            return np.zeros(0, dtype=_VERTEX), np.zeros(0, dtype=np.uint32)
        longest = max(len(t) for t in texts)
        glyph = np.zeros((len(texts), longest), dtype=np.intp)
        used = np.zeros((len(texts), longest), dtype=bool)
        for i, t in enumerate(texts):
            glyph[i, : len(t)] = t
            used[i, : len(t)] = True
        g = table[glyph]  # (texts, longest, 10)
        start = np.array(starts, dtype=np.float32)
        # pen x before each glyph: the start, then float32 sums one advance at a time
        pen = np.empty((len(texts), longest), dtype=np.float32)
        pen[:, 0] = start[:, 0]
        if longest > 1:
            steps = np.concatenate([start[:, :1], g[:, :-1, 0]], axis=1)
            pen[:, 1:] = np.add.accumulate(steps, axis=1, dtype=np.float32)[:, 1:]
        qx1 = pen + g[..., 2]
        qx2 = pen + g[..., 4]
        qy1 = start[:, 1:2] + g[..., 3]
        qy2 = start[:, 1:2] + g[..., 5]
        keep = used & (g[..., 1] != 0) & (qx1 <= np.float32(clip[2])) & (qx2 >= np.float32(clip[0]))
        n = int(keep.sum())
        vtx = np.zeros(4 * n, dtype=_VERTEX)
        x1, x2, y1, y2 = qx1[keep], qx2[keep], qy1[keep], qy2[keep]
        uv = g[keep][:, 6:10]
        u0, v0, u1, v1 = uv.T
        col = np.broadcast_to(np.array(colors, dtype=np.uint8)[:, None], (*keep.shape, 4))[keep]
        corners = [(x1, y1, u0, v0), (x2, y1, u1, v0), (x2, y2, u1, v1), (x1, y2, u0, v1)]
        for k, (px, py, u, v) in enumerate(corners):
            vtx["pos"][k::4, 0], vtx["pos"][k::4, 1] = px, py
            vtx["uv"][k::4, 0], vtx["uv"][k::4, 1] = u, v
            vtx["col"][k::4] = col
        base = 4 * np.arange(n, dtype=np.uint32)[:, None]
        idx = (base + np.array([0, 1, 2, 0, 2, 3], dtype=np.uint32)).reshape(-1)
        return vtx, idx

    def draw(self, placed, size, fbo: moderngl.Framebuffer, shadow, offset: float) -> None:
        """Draw the labels over what ``fbo`` holds (``size`` = its pixels)."""
        self.draw_vertices(*self.vertices(placed, size, shadow, offset), size, fbo)

    def draw_vertices(self, vtx, idx, size, fbo: moderngl.Framebuffer) -> None:
        """Draw :meth:`vertices`' labels (made on any thread) over what ``fbo`` holds."""
        if not len(idx):
            return
        ctx = self.ctx
        width, height = (int(v) for v in size)
        self._program["u_projection"].write(ortho(0.0, float(width), 0.0, float(height)))
        self._vertices.write(vtx)
        self._indices.write(idx)
        generations = (self._vertices.generation, self._indices.generation)
        if self._vao_for != generations:
            if self._vao is not None:
                self._vao.release()
            self._vao = ctx.vertex_array(
                self._program,
                [(self._vertices.buffer, "2f 2f 4f1", "in_position", "in_texcoord", "in_color")],
                index_buffer=self._indices.buffer,
                index_element_size=4,
            )
            self._vao_for = generations
        saved_viewport = fbo.viewport
        scope = ctx.scope(fbo, enable_only=moderngl.BLEND)
        try:
            with scope:
                try:
                    ctx.blend_equation = moderngl.FUNC_ADD
                    ctx.blend_func = OVERLAY_BLEND_FUNC
                    fbo.viewport = (0, 0, width, height)
                    self._texture.use(0)
                    self._vao.render(moderngl.TRIANGLES, vertices=len(idx))
                finally:
                    fbo.viewport = saved_viewport
                    ctx.blend_func = moderngl.DEFAULT_BLENDING
        finally:
            scope.release()

    def release(self) -> None:
        """Free the program and the texture; safe to call twice."""
        if not self._released:
            self._released = True
            if self._vao is not None:
                self._vao.release()
            self._vertices.release()
            self._indices.release()
            self._texture.release()
            self._program.release()
