"""Load GLSL programs from single-file shaders split into stages by preprocessor defines.

A shader file ``<name>.glsl`` holds every stage of one program::

    #version 330
    #include "common.glsl"
    #if defined VERTEX_SHADER
    ...
    #elif defined FRAGMENT_SHADER
    // @generated
    ...
    #endif

:func:`load_program` compiles it once per stage, inserting ``#define VERTEX_SHADER`` (and
so on) right after ``#version``. ``#include "file.glsl"`` is resolved against the shader
directory, and ``#line`` directives keep compiler messages pointing at the right line of
the right file. GLSL 330 only allows integer source-string numbers in ``#line`` and some
drivers (Mesa) print 0 regardless, so file ``n`` (0 = the main file, then includes and
generated code) also has its lines numbered from ``n * 100000 + 1``; compile errors are
translated back to ``file:line``. Errors in the main file read correctly even raw.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from pathlib import Path

import moderngl

from gradient_explorer.errors import GradientExplorerError

__all__ = [
    "ShaderSource",
    "clear_cache",
    "load_program",
    "preprocess",
    "shader_dir",
]

#: Stage defines, in the order moderngl's ``Context.program`` takes the stages.
STAGES = ("VERTEX_SHADER", "GEOMETRY_SHADER", "FRAGMENT_SHADER")

#: Line-number stride that tells files apart in driver messages (see the module docstring).
LINE_STRIDE = 100_000

#: How deep ``#include`` may nest before we call it a cycle.
MAX_INCLUDE_DEPTH = 16

_INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"\s*$')
_VERSION_RE = re.compile(r"^\s*#\s*version\b")
_MARKER_RE = re.compile(r"^\s*//\s*@(\w+)\s*$")
# Mesa: "0:12(3): error: ...", NVIDIA: "0(12) : error ...", AMD/Intel: "ERROR: 0:12: ...".
_LOG_LOCATION_RE = re.compile(r"(\d+)(?::(\d+)\(\d+\)|\((\d+)\)|:(\d+):)")


@functools.cache
def shader_dir() -> Path:
    """Return the directory that holds the ``.glsl`` files.

    The wheel ships them inside the package (``gradient_explorer/shaders``); an editable
    install or a source checkout reads the repository's top-level ``shaders/``.

    Returns
    -------
    pathlib.Path
        The shader directory (it may not exist if the installation is broken).
    """
    # the package's own folder first: importlib.resources costs 30 ms of imports (zipfile)
    packaged = Path(__file__).resolve().parents[1] / "shaders"
    if packaged.is_dir():
        return packaged
    import importlib.resources

    packaged = importlib.resources.files("gradient_explorer") / "shaders"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "shaders"


@functools.cache
def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GradientExplorerError(f"shader file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise GradientExplorerError(
            f"shader file {path} is not UTF-8 text (byte {exc.start}): reinstall the package"
        ) from None
    except OSError as exc:
        raise GradientExplorerError(f"cannot read shader file {path}: {exc.strerror}") from None


def clear_cache() -> None:
    """Forget cached shader files (for live reloading while editing shaders)."""
    _read.cache_clear()
    shader_dir.cache_clear()  # an install may have moved


@dataclass
class ShaderSource:
    """One stage's preprocessed source and the file behind each ``#line`` source number.

    Attributes
    ----------
    text : str
        GLSL ready to hand to the driver.
    files : list[str]
        ``files[n]`` names the file that ``#line <line> n`` refers to.
    """

    text: str
    files: list[str] = field(default_factory=list)

    def describe_log(self, log: str) -> str:
        """Rewrite a driver's compile log into one line with file names instead of numbers."""
        lines = [ln.strip() for ln in log.strip().splitlines() if ln.strip()]
        # The first error is the one worth reading; later ones are often consequences.
        first = next((ln for ln in lines if "error" in ln.lower()), lines[0] if lines else log)

        def name(match: re.Match[str]) -> str:
            number = int(match.group(1))
            line = int(match.group(2) or match.group(3) or match.group(4))
            if line > LINE_STRIDE:
                number, line = divmod(line, LINE_STRIDE)
            if number < len(self.files):
                return f"{self.files[number]}:{line}"
            return match.group(0)

        return _LOG_LOCATION_RE.sub(name, first, count=1)


def _line_directive(line: int, number: int) -> str:
    return f"#line {number * LINE_STRIDE + line} {number}"


def _expand(
    rel_name: str,
    base: Path,
    files: list[str],
    extra_sources: dict[str, str],
    used_markers: set[str],
    depth: int,
) -> list[str]:
    """Return the lines of ``rel_name`` with includes and markers expanded, minus ``#version``."""
    if depth > MAX_INCLUDE_DEPTH:
        raise GradientExplorerError(
            f"shader include nesting deeper than {MAX_INCLUDE_DEPTH} at {rel_name} "
            "(an include cycle?)"
        )
    number = len(files)
    files.append(rel_name)
    # Included files restart numbering at their own line 1 under their own source number.
    out: list[str] = [_line_directive(1, number)] if depth > 0 else []
    for lineno, line in enumerate(_read(base / rel_name).splitlines(), start=1):
        include = _INCLUDE_RE.match(line)
        marker = _MARKER_RE.match(line)
        if include:
            out.extend(
                _expand(include.group(1), base, files, extra_sources, used_markers, depth + 1)
            )
            out.append(_line_directive(lineno + 1, number))
        elif marker and marker.group(1) in extra_sources:
            key = marker.group(1)
            used_markers.add(key)
            gen_number = len(files)
            files.append(f"<{key}>")
            out.append(_line_directive(1, gen_number))
            out.extend(extra_sources[key].splitlines())
            out.append(_line_directive(lineno + 1, number))
        elif _VERSION_RE.match(line):
            if depth > 0:
                raise GradientExplorerError(f"included shader {rel_name} must not have #version")
            out.append(line)
        else:
            out.append(line)
    return out


def preprocess(
    name: str,
    stage: str,
    defines: dict[str, object] | None = None,
    **extra_sources: str,
) -> ShaderSource:
    """Build the source of one stage of ``<name>.glsl``.

    Parameters
    ----------
    name : str
        Shader file name without ``.glsl`` (may contain ``/`` for subfolders).
    stage : str
        One of :data:`STAGES`, defined right after ``#version``.
    defines : dict, optional
        Extra ``#define KEY VALUE`` lines (``VALUE`` may be ``""`` for a flag).
    **extra_sources : str
        Code to splice in at a ``// @<keyword>`` marker line, e.g. ``generated="..."``
        replaces ``// @generated``.

    Returns
    -------
    ShaderSource
        The text plus the file name behind each ``#line`` source number.

    Raises
    ------
    GradientExplorerError
        Missing file or ``#version``, include cycle, or a keyword with no marker.
    """
    files: list[str] = []
    used: set[str] = set()
    lines = _expand(f"{name}.glsl", shader_dir(), files, extra_sources, used, 0)
    unused = sorted(set(extra_sources) - used)
    if unused:
        raise GradientExplorerError(
            f"shader {name}.glsl has no '// @{unused[0]}' marker for the code passed as {unused[0]}"
        )
    version_at = next((i for i, ln in enumerate(lines) if _VERSION_RE.match(ln)), None)
    if version_at is None:
        raise GradientExplorerError(f"shader {name}.glsl has no #version line")
    header = [f"#define {stage}"]
    for key, value in (defines or {}).items():
        header.append(f"#define {key} {value}".rstrip())
    # Lines before #version are only comments/blank lines; the line after #version is
    # line version_at + 2 of the top-level file (source number 0), unless it was an include.
    header.append(f"#line {version_at + 2} 0")
    text = "\n".join([*lines[: version_at + 1], *header, *lines[version_at + 1 :]]) + "\n"
    return ShaderSource(text, files)


def load_program(
    ctx: moderngl.Context,
    name: str,
    defines: dict[str, object] | None = None,
    **extra_sources: str,
) -> moderngl.Program:
    """Compile and link ``<name>.glsl`` from the shader directory.

    Parameters
    ----------
    ctx : moderngl.Context
        Context that will own the program.
    name : str
        Shader file name without ``.glsl``.
    defines : dict, optional
        Extra ``#define`` lines shared by all stages.
    **extra_sources : str
        Code spliced in at ``// @<keyword>`` markers; ``generated="..."`` fills
        ``// @generated``.

    Returns
    -------
    moderngl.Program
        The linked program. The geometry stage is compiled only if the file mentions
        ``GEOMETRY_SHADER``.

    Raises
    ------
    GradientExplorerError
        One line naming the file (and line when the driver says it) on any failure.
    """
    text = _read(shader_dir() / f"{name}.glsl")
    stages = [s for s in STAGES if s != "GEOMETRY_SHADER" or s in text]
    sources = {s: preprocess(name, s, defines, **extra_sources) for s in stages}
    kwargs = {
        "vertex_shader": sources["VERTEX_SHADER"].text,
        "fragment_shader": sources["FRAGMENT_SHADER"].text,
    }
    if "GEOMETRY_SHADER" in sources:
        kwargs["geometry_shader"] = sources["GEOMETRY_SHADER"].text
    try:
        return ctx.program(**kwargs)
    except moderngl.Error as exc:
        raise GradientExplorerError(_describe_failure(name, str(exc), sources)) from None


def _describe_failure(name: str, message: str, sources: dict[str, ShaderSource]) -> str:
    # moderngl's message is "GLSL Compiler failed\n\n<stage>_shader\n=====\n<driver log>".
    match = re.search(r"(vertex|geometry|fragment)_shader\s*\n=+\n(.*)", message, re.S)
    if match:
        stage = f"{match.group(1).upper()}_SHADER"
        where = sources.get(stage, next(iter(sources.values())))
        detail = where.describe_log(match.group(2))
        what = f"{match.group(1)} shader failed to compile"
    else:
        detail = " ".join(message.split())
        what = "program failed to link"
    return " ".join(f"{name}.glsl: {what}: {detail}".split())
