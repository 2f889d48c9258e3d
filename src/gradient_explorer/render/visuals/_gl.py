"""Small GL helpers shared by the visuals: a program cache keyed by generated code."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import moderngl

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
        self._entries: OrderedDict[str, tuple[moderngl.Program, dict]] = OrderedDict()

    def get(self, generated: str, make_vaos: Callable[[moderngl.Program], dict]):
        """(program, vertex arrays) for ``generated``, building them on first use."""
        entry = self._entries.get(generated)
        if entry is None:
            program = load_program(self.ctx, self.shader, generated=generated)
            entry = (program, make_vaos(program))
            self._entries[generated] = entry
            while len(self._entries) > self.capacity:
                _, (old_program, old_vaos) = self._entries.popitem(last=False)
                _release(old_program, old_vaos)
        else:
            self._entries.move_to_end(generated)
        return entry

    def release(self) -> None:
        for program, vaos in self._entries.values():
            _release(program, vaos)
        self._entries.clear()


def _release(program, vaos: dict) -> None:
    for vao in vaos.values():  # vertex arrays first, then the program
        vao.release()
    program.release()


def set_uniforms(program: moderngl.Program, values: dict) -> None:
    """Write the uniforms the program actually uses (the compiler drops unused ones)."""
    for name, value in values.items():
        if name in program:
            member = program[name]
            if isinstance(value, bytes):
                member.write(value)
            else:
                member.value = value
