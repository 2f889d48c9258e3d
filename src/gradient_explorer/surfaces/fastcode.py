"""The optional compiled engine: generated surface code run by numba, to the numpy path's bit.

A surface's generated numpy code (:mod:`gradient_explorer.surfaces.symbolic`) is printed
again as plain-float functions that numba compiles, when every operation in it is exact
in IEEE arithmetic (``+ - * /``, square roots, squares, ``abs``, comparisons, min/max,
the kink helpers): such an operation gives the same bits in numpy, in Python and in
LLVM's code, so the engine's results equal the numpy path's exactly and where it is used
is invisible. Transcendental calls (``exp``, ``sin``, ``numpy.power`` ...) are not
eligible: numpy's SIMD versions differ from libm in the last bit. The decision walks
the generated code's syntax tree with a whitelist.

numba is optional (``pip install gradient-explorer[fast]``) and imported only when a
kernel is first needed, never by ``--help``, ``render`` or the app's start.
``GRADIENT_EXPLORER_ENGINE`` chooses: ``numpy`` (never the engine), ``auto`` (the default:
the engine where the work is large enough to pay) or ``numba`` (wherever eligible).

Compiled kernels live in generated modules written to the user's cache folder (beside
:mod:`~gradient_explorer.surfaces.codecache`'s entries), named by a hash of their text,
and numba caches their machine code next to them (``cache=True``), so a later process
loads a kernel in milliseconds instead of compiling it again. A module whose file does
not hold the expected text is written again (atomically); a machine-code cache that
numba cannot read is deleted and rebuilt.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import math
import os
import sys
import tempfile
from pathlib import Path
from types import ModuleType

import numpy as np

from gradient_explorer.fileio import write_cache

ENGINE_ENV = "GRADIENT_EXPLORER_ENGINE"
MODES = ("auto", "numpy", "numba")
#: Bumped when the kernels' shape of code changes (part of every module's key).
FORMAT = 2

_mode: str | None = None
_has_numba: bool | None = None
_LOADED: dict[str, ModuleType | None] = {}
#: Why kernel modules could not be loaded in this process (for tests and reports).
FAILURES: list[str] = []


def mode() -> str:
    """'numpy', 'auto' or 'numba': from ``GRADIENT_EXPLORER_ENGINE``, or :func:`set_mode`."""
    global _mode
    if _mode is None:
        value = os.environ.get(ENGINE_ENV, "auto").strip().lower() or "auto"
        _mode = value if value in MODES else "auto"
    return _mode


def set_mode(value: str | None) -> None:
    """Choose the engine for this process (None: read the environment again)."""
    global _mode
    if value is not None and value not in MODES:
        raise ValueError(f"engine mode must be one of {', '.join(MODES)}, got {value!r}")
    _mode = value


def numpy_unless_chosen() -> bool:
    """The numpy path for this process unless ``GRADIENT_EXPLORER_ENGINE`` names an
    engine: for what draws frames (the window, ``record``, ``render``), whose frames come
    first. The results are the same bits either way; the engine's first use would pause a
    frame for seconds (a compile) or 0.3 s (a cached load), which a frame's few steps
    never pay back. True when it chose numpy."""
    if os.environ.get(ENGINE_ENV, "").strip():
        return False
    set_mode("numpy")
    return True


def available() -> bool:
    """True when the engine may run: not turned off, and numba is installed."""
    global _has_numba
    if mode() == "numpy":
        return False
    if _has_numba is None:
        _has_numba = importlib.util.find_spec("numba") is not None
    return _has_numba


def forced() -> bool:
    """True when the engine runs wherever it is eligible, whatever the size."""
    return mode() == "numba"


#: In 'auto' mode, calls with few points go to numpy until one object has been called
#: this often (a loop, where compiling or loading a kernel pays back).
CALLS_BEFORE_ENGINE = 200


def pays(memo: dict, n: int, big: int | None = None) -> bool:
    """Whether to use the engine for ``n`` points: allowed, and ``n >= big`` or a loop
    of calls (counted in ``memo``, the object's own dict)."""
    if not available():
        return False
    if forced() or n >= (GRADIENT_MIN if big is None else big):
        return True
    calls = memo.get("_engine_calls", 0) + 1
    memo["_engine_calls"] = calls
    return calls > CALLS_BEFORE_ENGINE


# ------------------------------------------------------------------- translation

# Exact operations of the generated numpy code and their plain-float names in a kernel.
_CALLS = {
    "numpy.square": "_sq",
    "numpy.sqrt": "math.sqrt",
    "math.sqrt": "math.sqrt",
    "numpy.abs": "abs",
    "numpy.absolute": "abs",
    "abs": "abs",
    "numpy.maximum": "_maximum",
    "numpy.minimum": "_minimum",
    "numpy.sign": "_sign",
    "_sign_or_nan": "_sign_or_nan",
    "_step_or_nan": "_step_or_nan",
    "_zero_or_nan": "_zero_or_nan",
}
_CONSTANTS = {"numpy.pi": math.pi, "math.pi": math.pi, "numpy.e": math.e, "math.e": math.e}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div)

#: The plain-float helpers a point function may call: numpy's semantics (NaN wins in
#: maximum/minimum; NaN at a kink), written as selects so that loops vectorize.
HELPERS = """
@njit(cache=True, error_model="numpy")
def _sq(v):
    return v * v


@njit(cache=True, error_model="numpy")
def _maximum(a, b):
    # numpy's maximum: b on a tie (max(-0.0, 0.0) is 0.0, max(0.0, -0.0) is -0.0)
    return a if (a > b or a != a) else b


@njit(cache=True, error_model="numpy")
def _minimum(a, b):
    return a if (a < b or a != a) else b


@njit(cache=True, error_model="numpy")
def _sign(v):
    return 1.0 if v > 0 else (-1.0 if v < 0 else (0.0 if v == 0 else v))


@njit(cache=True, error_model="numpy")
def _sign_or_nan(v):
    return 1.0 if v > 0 else (-1.0 if v < 0 else math.nan)


@njit(cache=True, error_model="numpy")
def _step_or_nan(v):
    return 1.0 if v > 0 else (0.0 if v < 0 else math.nan)


@njit(cache=True, error_model="numpy")
def _zero_or_nan(v):
    return 0.0 if (v > 0 or v < 0) else math.nan


@njit(cache=True, error_model="numpy")
def _finite_or_nan(v):
    # inf (an overflow) is undefined too, as in the numpy path; v - v is NaN for both
    return v if v - v == 0.0 else math.nan
"""


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


class _Translate(ast.NodeTransformer):
    """Checks every node against the whitelist (raises ValueError) and renames calls."""

    def __init__(self, names: set[str]):
        self.names = names

    def generic_visit(self, node):
        raise ValueError(f"not exact: {type(node).__name__}")

    def visit_BinOp(self, node):
        if not isinstance(node.op, _BINOPS):
            raise ValueError(f"not exact: {type(node.op).__name__}")
        node.left, node.right = self.visit(node.left), self.visit(node.right)
        return node

    def visit_UnaryOp(self, node):
        if not isinstance(node.op, ast.USub | ast.UAdd):
            raise ValueError("not exact: unary operator")
        node.operand = self.visit(node.operand)
        return node

    def visit_Constant(self, node):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("not a number")
        if isinstance(value, int) and abs(value) > 2**53:
            raise ValueError("integer too large")
        return node

    def visit_Name(self, node):
        if node.id not in self.names:
            raise ValueError(f"unknown name {node.id}")
        return node

    def visit_Attribute(self, node):
        name = _dotted(node)
        if name not in _CONSTANTS:
            raise ValueError(f"not exact: {name}")
        return ast.Constant(_CONSTANTS[name])

    def visit_Call(self, node):
        name = _dotted(node.func)
        if name not in _CALLS or node.keywords:
            raise ValueError(f"not exact: {name}")
        node.func = ast.parse(_CALLS[name], mode="eval").body
        node.args = [self.visit(a) for a in node.args]
        return node


def point_function(python_source: str, which: str, name: str) -> tuple[str, int] | None:
    """The generated function ``which`` printed as a numba point function ``name``, and
    the number of values it returns; None where it is not exact (see the module doc)."""
    try:
        tree = ast.parse(python_source)
    except SyntaxError:
        return None
    found = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == which]
    if len(found) != 1:
        return None
    func = found[0]
    args = [a.arg for a in func.args.args]
    names = set(args)
    lines = ["@njit(cache=True, error_model='numpy')", f"def {name}({', '.join(args)}):"]
    try:
        for stmt in func.body:
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
                target = stmt.targets[0]
                if not isinstance(target, ast.Name):
                    return None
                value = _Translate(names).visit(stmt.value)
                names.add(target.id)
                lines.append(f"    {target.id} = {ast.unparse(value)}")
            elif isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Tuple):
                parts = [ast.unparse(_Translate(names).visit(e)) for e in stmt.value.elts]
                # float(): a constant component prints as an int
                lines.append(f"    return ({', '.join(f'float({p})' for p in parts)},)")
                return "\n".join(lines), len(parts)
            else:
                return None
    except (ValueError, RecursionError):
        return None
    return None


# ------------------------------------------------------------------- modules on disk

HEADER = (
    "# generated by gradient-explorer's engine: do not edit (rebuilt when it differs)\n"
    "import math\n\n"
    "import numpy as np\n"
    "from numba import njit, prange\n"
)


def kernel_dir() -> Path:
    """Where generated kernel modules and numba's caches of them live."""
    from gradient_explorer.surfaces.codecache import cache_dir

    return cache_dir().parent / "kernels"


def module_text(body: str) -> str:
    """The whole text of a kernel module (helpers included)."""
    return f"{HEADER}{HELPERS}\n\n{body}\n"


def _key(text: str) -> str:
    import numba

    return hashlib.sha256(f"{FORMAT}\n{numba.__version__}\n{text}".encode()).hexdigest()


def _write(path: Path, text: str) -> bool:
    return write_cache(path, text)


def _purge_machine_code(path: Path) -> None:
    """Delete numba's cached machine code of the module at ``path``."""
    folder = path.parent / "__pycache__"
    try:
        entries = list(folder.glob(f"{path.stem}.*"))
    except OSError:
        return
    for entry in entries:
        if entry.suffix in (".nbi", ".nbc"):
            try:
                entry.unlink()
            except OSError:
                pass


def _import(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # numba's cache finds the module's functions through it
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def load_module(body: str, warm) -> ModuleType | None:
    """The kernel module of ``body`` (see :func:`module_text`), from the cache folder.

    ``warm(module)`` calls each kernel once on small arrays: it compiles them or loads
    their cached machine code. A cache numba cannot read is deleted and built again; a
    module that still fails returns None (the caller uses numpy). Loaded once a process.
    """
    text = module_text(body)
    key = _key(text)
    if key in _LOADED:
        return _LOADED[key]
    path = kernel_dir() / f"k_{key[:32]}.py"
    try:
        valid = path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        valid = False
    if not valid:
        _purge_machine_code(path)
        if not _write(path, text):  # no cache folder: a private one for this process
            path = Path(tempfile.mkdtemp(prefix="ge-kernels-")) / path.name
            _write(path, text)
    name = f"_gradient_explorer_kernels_{key[:32]}"
    module = None
    for attempt in range(2):
        try:
            module = _import(path, name)
            warm(module)
            break
        except Exception as exc:
            module = None
            sys.modules.pop(name, None)
            FAILURES.append(f"{path.name}: {type(exc).__name__}: {exc}")
            if attempt == 0:
                _purge_machine_code(path)
    _LOADED[key] = module
    return module


# ------------------------------------------------------------------- Surface.gradient

#: From this many points on, Surface.gradient uses the engine in 'auto' mode.
GRADIENT_MIN = 2048
#: From this many points on, a kernel runs on numba's threads (when there are several).
PARALLEL_MIN = 262144

_GRADIENT_KERNELS = """
@njit(cache=True, error_model="numpy")
def gradient_small(pts, out, pv):
    # the one-point path's form (f and gradient together); a row with an undefined
    # component is the numpy gradient's, as Surface.gradient gives it
    for i in range(pts.shape[0]):
        r = _vg(pts[i, 0], pts[i, 1]{params})
        gx = r[1]
        gy = r[2]
        if not (gx - gx == 0.0 and gy - gy == 0.0):
            s = _g(pts[i, 0], pts[i, 1]{params})
            gx = s[0]
            gy = s[1]
        out[i, 0] = _finite_or_nan(gx)
        out[i, 1] = _finite_or_nan(gy)


@njit(cache=True, error_model="numpy")
def gradient_serial(pts, out, pv):
    for i in range(pts.shape[0]):
        s = _g(pts[i, 0], pts[i, 1]{params})
        out[i, 0] = _finite_or_nan(s[0])
        out[i, 1] = _finite_or_nan(s[1])


@njit(cache=True, error_model="numpy", parallel=True)
def gradient_parallel(pts, out, pv):
    for i in prange(pts.shape[0]):
        s = _g(pts[i, 0], pts[i, 1]{params})
        out[i, 0] = _finite_or_nan(s[0])
        out[i, 1] = _finite_or_nan(s[1])
"""


def param_unpack(names: list[str]) -> str:
    """``pv[0], pv[1]`` ... as call arguments after the coordinates."""
    return "".join(f", pv[{i}]" for i in range(len(names)))


def surface_parts(surface) -> tuple[str, str] | None:
    """The point functions ``_vg`` (f and gradient, the descent's) and ``_g`` (the
    gradient alone, Surface.gradient's) of a 2D surface, or None where not exact."""
    cached = surface._functions.get("_engine_parts", False)
    if cached is not False:
        return cached
    parts = None
    source = getattr(getattr(surface, "sources", None), "python", None)
    if source and surface.dim == 2 and "value_and_gradient" in surface._functions:
        vg = point_function(source, "value_and_gradient", "_vg")
        g = point_function(source, "gradient", "_g")
        if vg is not None and g is not None and vg[1] == 3 and g[1] == 2:
            parts = (vg[0], g[0])
    surface._functions["_engine_parts"] = parts
    return parts


def _warm_gradient(module) -> None:
    pts, out, pv = np.zeros((1, 2)), np.empty((1, 2)), np.zeros(8)
    module.gradient_small(pts, out, pv)
    module.gradient_serial(pts, out, pv)
    if _threads() >= 4:
        module.gradient_parallel(pts, out, pv)


def _threads() -> int:
    import numba

    return numba.get_num_threads()


def gradient_module(surface) -> ModuleType | None:
    parts = surface_parts(surface)
    if parts is None:
        return None
    kernels = _GRADIENT_KERNELS.replace("{params}", param_unpack(surface.params))
    body = "\n\n".join([*parts, kernels])
    return load_module(body, _warm_gradient)


def parameter_array(surface) -> np.ndarray:
    """The surface's parameter values as a float64 array (cached while they stay)."""
    values = tuple(surface.param_values.values())
    cached = surface._functions.get("_engine_pv")
    if cached is None or cached[0] != values:
        cached = (values, np.array((*values, 0.0), dtype=np.float64))  # never empty
        surface._functions["_engine_pv"] = cached
    return cached[1]


def surface_gradient(surface, points: np.ndarray, small: bool) -> np.ndarray | None:
    """Surface.gradient of ``(N, 2)`` float64 points by the engine, or None (not used:
    numpy then). ``small``: the few-points path's form (see :data:`SMALL_BATCH`)."""
    module = surface._functions.get("_engine_gradient", False)
    if module is False:
        module = gradient_module(surface)
        surface._functions["_engine_gradient"] = module
    if module is None:
        return None
    pts = points if points.dtype == np.float64 and points.flags.c_contiguous else None
    if pts is None:
        return None
    pv = parameter_array(surface)
    out = np.empty((len(pts), 2))
    if small:
        module.gradient_small(pts, out, pv)
    elif len(pts) >= PARALLEL_MIN and _threads() >= 4:  # see optim.fused._threaded
        module.gradient_parallel(pts, out, pv)
    else:
        module.gradient_serial(pts, out, pv)
    return out
