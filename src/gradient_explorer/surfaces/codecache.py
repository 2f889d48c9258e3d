"""The generated code of catalogue surfaces, cached on disk: drawing one needs no sympy.

Deriving a surface (sympy: import, differentiation, CSE, printing) takes most of a
fresh process's first picture, and for a catalogue entry the result is always the same.
So the first use writes the generated numpy and GLSL source to the user's cache folder
(``$XDG_CACHE_HOME/gradient-explorer``, else ``~/.cache/gradient-explorer``) and later
processes read it back instead.

An entry is keyed by everything that decides the code: the definition's fields, the
sympy version and the code generator's own source (so a new generator or a new sympy
never reads old code). It carries a SHA-256 of its contents; an entry that is missing,
unreadable, damaged, stale or for another key is rebuilt and written again, atomically
(a temporary file renamed into place), so a crash or a second process mid-write never
leaves half a file. A cache folder that cannot be written is not an error: the surface
is simply derived each time. ``GRADIENT_EXPLORER_NO_CACHE=1`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
from functools import cache
from pathlib import Path

from gradient_explorer.fileio import write_cache
from gradient_explorer.surfaces.compiled import DerivedSources

FORMAT = 1
_HERE = Path(__file__).resolve().parent
# The files whose text decides the generated code: a change to any of them is a new key.
_GENERATOR_FILES = ("symbolic.py", "expressions.py", "compiled.py")


def cache_dir() -> Path:
    """The folder for generated code (not created here)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gradient-explorer" / "generated"


def enabled() -> bool:
    return os.environ.get("GRADIENT_EXPLORER_NO_CACHE", "") in ("", "0")


@cache
def sympy_version() -> str:
    """sympy's version, read from its release file: importing sympy is what we avoid."""
    spec = importlib.util.find_spec("sympy")
    if spec is None or spec.origin is None:
        return "none"
    try:
        text = (Path(spec.origin).parent / "release.py").read_text(encoding="utf-8")
    except OSError:
        return "unknown"
    found = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", text)
    return found.group(1) if found else "unknown"


@cache
def _generator_hash() -> str:
    digest = hashlib.sha256()
    for name in _GENERATOR_FILES:
        try:
            digest.update((_HERE / name).read_bytes())
        except OSError:  # an installed copy without sources: every process derives anew
            digest.update(os.urandom(16))
    return digest.hexdigest()


def key(definition) -> str:
    """The cache key of a definition: its fields, sympy's version, the generator's hash."""
    fields = {
        "expression": definition.expression,
        "domain": definition.domain,
        "parameters": [[p.name, p.default, p.lo, p.hi] for p in definition.parameters],
        "display": definition.display,
        "dim": definition.dim,
    }
    text = json.dumps([FORMAT, fields, sympy_version(), _generator_hash()], sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def _path(k: str) -> Path:
    return cache_dir() / f"{k[:32]}.json"


def _checksum(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def load(definition) -> tuple[DerivedSources, tuple[str, ...], tuple[str, ...]] | None:
    """The cached (sources, variables, parameter names) of ``definition``, or None when
    there is no valid entry (missing, damaged, stale or for another key)."""
    if not enabled():
        return None
    k = key(definition)
    try:
        doc = json.loads(_path(k).read_text(encoding="utf-8"))
        payload = doc["payload"]
        if doc.get("sha256") != _checksum(payload) or payload.get("key") != k:
            return None
        sources = DerivedSources(
            python=str(payload["python"]),
            glsl=str(payload["glsl"]),
            gradient=tuple(str(g) for g in payload["gradient"]),
        )
        variables = tuple(str(v) for v in payload["variables"])
        parameters = tuple(str(p) for p in payload["parameters"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if variables not in (("x",), ("x", "y")):
        return None
    return sources, variables, parameters


def store(definition, sources: DerivedSources, variables, parameters) -> bool:
    """Write the entry atomically; False (and nothing written) when that is not possible."""
    if not enabled():
        return False
    k = key(definition)
    payload = {
        "key": k,
        "name": definition.name,
        "sympy": sympy_version(),
        "python": sources.python,
        "glsl": sources.glsl,
        "gradient": list(sources.gradient),
        "variables": list(variables),
        "parameters": list(parameters),
    }
    text = json.dumps({"sha256": _checksum(payload), "payload": payload})
    return write_cache(_path(k), text)
