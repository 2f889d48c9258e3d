"""Small GL helpers shared by the visuals: a program cache keyed by generated code, a
growable buffer, and the GL state a visual sets around its draw calls and restores."""

from __future__ import annotations

import struct
import weakref
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager

import moderngl
import numpy as np

from gradient_explorer.render.shader_loader import load_program


class ProgramCache:
    """Programs built from one shader file and a surface's generated GLSL.

    A parameter change keeps the generated code, so it reuses the program; switching
    surfaces compiles once per surface. Old entries are released so that switching
    back and forth any number of times keeps the count of live GL objects flat.
    """

    def __init__(self, ctx: moderngl.Context, shader: str, capacity: int = 6):
        self.ctx = ctx
        self.shader = shader
        self.capacity = capacity
        self._entries: OrderedDict[tuple, tuple[moderngl.Program, dict]] = OrderedDict()

    def get(
        self,
        generated: str,
        make_vaos: Callable[[moderngl.Program], dict],
        defines: dict[str, object] | None = None,
    ):
        """(program, vertex arrays) for ``generated`` (and ``defines``: a program is
        compiled for each set), building them on first use."""
        key = (generated, tuple(sorted((defines or {}).items())))
        entry = self._entries.get(key)
        if entry is None:
            program = load_program(self.ctx, self.shader, defines, generated=generated)
            entry = (program, make_vaos(program))
            self._entries[key] = entry
            while len(self._entries) > self.capacity:
                _, (old_program, old_vaos) = self._entries.popitem(last=False)
                _release(old_program, old_vaos)
        else:
            self._entries.move_to_end(key)
        return entry

    def release(self) -> None:
        for program, vaos in self._entries.values():
            _release(program, vaos)
        self._entries.clear()


def _release(program, vaos: dict) -> None:
    for vao in vaos.values():  # vertex arrays first, then the program
        vao.release()
    program.release()


#: per program: its members by name, and the bytes last written to each uniform
_UNIFORMS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def set_uniforms(program: moderngl.Program, values: dict) -> None:
    """Write the uniforms the program actually uses (the compiler drops unused ones).

    A uniform keeps its value in the program, so one whose bytes are those this function
    wrote last is not written again: most of a frame's uniforms are the last frame's.
    (``name in program`` walks all its members: their table is made once here.)
    Uniforms of these programs are written only through here.
    """
    entry = _UNIFORMS.get(program)
    if entry is None:
        entry = _UNIFORMS[program] = ({name: program[name] for name in program}, {})
    members, written = entry
    for name, value in values.items():
        member = members.get(name)
        if member is None:
            continue
        if isinstance(value, bytes):
            data = value
        else:
            fmt = getattr(member, "fmt", None)
            if fmt is None or member.array_length > 1:  # not a plain uniform: as it was
                member.value = value
                written.pop(name, None)
                continue
            data = struct.pack(fmt, *value) if member.dimension > 1 else struct.pack(fmt, value)
        if written.get(name) != data:
            member.write(data)
            written[name] = data


class GrowableBuffer:
    """A dynamic vertex buffer that grows (doubling) to hold what is written.

    Growing makes a new GL buffer, so vertex arrays built on the old one must be rebuilt:
    :meth:`reserve` says when, and :attr:`generation` counts the buffers made.
    """

    def __init__(self, ctx: moderngl.Context, item_bytes: int, capacity: int):
        self.ctx = ctx
        self.item_bytes = int(item_bytes)
        self.capacity = 0
        self.generation = 0
        self.buffer: moderngl.Buffer | None = None
        self.reserve(capacity)

    def reserve(self, items: int) -> bool:
        """Room for ``items``; True when a new buffer was made (rebuild vertex arrays)."""
        if items <= self.capacity and self.buffer is not None:
            return False
        capacity = max(int(items), 2 * self.capacity)
        if self.buffer is not None:
            self.buffer.release()
        self.buffer = self.ctx.buffer(reserve=capacity * self.item_bytes, dynamic=True)
        self.capacity = capacity
        self.generation += 1
        return True

    def write(self, data: np.ndarray) -> bool:
        """Write ``data`` (rows of ``item_bytes``) at the start; True if the buffer grew."""
        data = np.ascontiguousarray(data)
        grew = self.reserve(max(len(data), 1))
        if not grew:
            # Fresh storage rather than an overwrite in place: the buffer is often read
            # by a draw of this frame not yet rasterized (the mesh is shared by the axes,
            # the point, the trails ...), and an overwrite makes the driver finish that
            # draw first -- on llvmpipe a flush and a wait per write, ~0.2 ms each.
            self.buffer.orphan()
        self.buffer.write(data.tobytes())
        return grew

    def release(self) -> None:
        if self.buffer is not None:
            self.buffer.release()
            self.buffer = None
        self.capacity = 0


#: The GL state every visual may assume when its ``draw`` starts and leaves behind.
BASELINE: dict[str, object] = {
    "depth_test": True,
    "blend": False,
    "cull_face": False,
    "depth_mask": True,
    "depth_func": "<",
    "program_point_size": False,
}

_FLAGS = {
    "depth_test": moderngl.DEPTH_TEST,
    "blend": moderngl.BLEND,
    "cull_face": moderngl.CULL_FACE,
    "program_point_size": moderngl.PROGRAM_POINT_SIZE,
}

_TRACKED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def reset_gl_state(ctx: moderngl.Context) -> None:
    """Put the :data:`BASELINE` state in place (a frame's start: imgui and others change it
    between frames). moderngl cannot read most of it back, so it is tracked from here."""
    _TRACKED[ctx] = {}
    _apply(ctx, BASELINE)
    ctx.blend_func = moderngl.SRC_ALPHA, moderngl.ONE_MINUS_SRC_ALPHA


@contextmanager
def gl_state(ctx: moderngl.Context, **state):
    """Set some of :data:`BASELINE`'s entries for a block and put the previous values back.

    The visual that needs blending, no depth test or no depth writes says so around its
    draw calls: ``with gl_state(ctx, blend=True, depth_mask=False): ...``. Nests.
    """
    unknown = set(state) - set(BASELINE)
    if unknown:
        raise ValueError(f"unknown GL state {sorted(unknown)}")
    now = _TRACKED.setdefault(ctx, {})
    previous = {name: now.get(name, BASELINE[name]) for name in state}
    _apply(ctx, state)
    try:
        yield
    finally:
        _apply(ctx, previous)


def _apply(ctx: moderngl.Context, state: dict) -> None:
    now = _TRACKED.setdefault(ctx, {})
    for name, value in state.items():
        if name in _FLAGS:
            (ctx.enable if value else ctx.disable)(_FLAGS[name])
        elif name == "depth_mask":
            # moderngl keeps the depth mask on the framebuffer (a Context attribute is
            # silently ignored)
            if ctx.fbo is not None:
                ctx.fbo.depth_mask = bool(value)
        elif name == "depth_func":
            ctx.depth_func = value
        now[name] = value
