"""Performance side by side: this project, the bare surface and its peers, in one run.

usage: python benchmarks/run_all.py [--quick] [--grids 128 512 1024] [--size 1280x720]
                                    [--runs 3] [--tools ours bare vispy pyvista matplotlib]
                                    [--sections fps change first descent picking]
                                    [--out benchmarks/results-llvmpipe.md]

Every measurement runs in a fresh process (this script re-invoked with ``--worker``), on
the same function -- the log-scaled banana h = 0.25 log(1 + (1 - x)^2 + 100 (y - x^2)^2)
over x in [-2, 2], y in [-1, 3] -- at the same grid and size, lit, orbiting one degree a
frame and reading every frame back to the CPU. Runs are interleaved (run 1 of every tool,
then run 2, ...) so that a noisy machine hurts all tools alike; the tables report medians
of the runs and ratios to the bare surface (``../shared/bench/bare_surface.py``).

Sections:

* ``fps``: orbit frame rate. Ours is the full default scene (lit, 12 contours, floor map,
  axes with labels, the point with its arrows and tangent plane, the imgui overlay, and
  one descent ball stepped every frame); peers draw the lit surface only.
* ``change``: seconds from a change of surface to the first frame that shows it (read
  back). Ours: a catalogue switch, a parameter change (banana's b) and a typed
  expression. Peers: the equivalent, new heights from numpy + normals + redraw.
* ``first``: time to the first frame in a fresh process: the whole process's wall time,
  and for in-process workers the split into imports and first frame; and the real
  window's first frame under Xvfb, from the process's start (skipped without Xvfb).
* ``cli``: wall seconds of ``gradient-explorer --help`` and ``surfaces`` in a fresh process
  (the catalogue's generated code cached, as after the first use), beside ``python -c
  pass`` and ``python -c "import numpy"``.
* ``typed``: seconds from Enter in the expression field to the frame that shows the new
  surface, in the app on a headless 640x400 window paced as the real window's loop,
  builds in the helper processes.
* ``adaptive``: frames per second while orbiting by mouse and when still, 1280x720, the
  app on a headless window: as on a GPU (4x MSAA window, full quality) and as on a
  software renderer (window without samples, reduced picture while moving, 4x MSAA
  offscreen when still).
* ``idle``: CPU of the real window while nothing moves, under Xvfb (skipped without it).
* ``descent``: ``bench_descent.py`` (against torch.optim, 1 thread and default threads).
* ``picking``: ``bench_picking.py`` (microseconds per pick, every catalogue surface).

Peers (``pip install .[bench]``) that are not installed are reported as such and skipped.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

T_START = time.perf_counter()  # a worker's import time counts from here
ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"
BARE_CANDIDATES = [
    ROOT.parent / "shared/bench/bare_surface.py",
    ROOT / "../shared/bench/bare_surface.py",
]
PEERS = ("vispy", "pyvista", "matplotlib")
TOOLS = ("ours", "bare", *PEERS)
SECTIONS = ("fps", "change", "first", "cli", "typed", "adaptive", "idle", "descent", "picking")
DOMAIN = ((-2.0, 2.0), (-1.0, 3.0))
HEIGHT_SCALE = 0.25  # the catalogue banana's; peers draw the same displayed heights
LABELS = {
    "ours": "gradient-explorer, full scene",
    "ours-home": "gradient-explorer, full scene, its home view",
    "bare": "bare surface",
    "vispy": "vispy SurfacePlot (smooth)",
    "pyvista": "pyvista (off_screen, default MSAA)",
    "matplotlib": "matplotlib plot_surface (Agg)",
}
# bare_surface.py's camera (eye 6 out and 3.5 up from (0, 1, 0.5), 45 degrees), in
# OrbitCamera's terms. Ours orbits from it too, so that both draw the surface at the same
# size: the home view fills the frame (36% of its pixels against the bare's 19% since the
# framing of the home view changed), and llvmpipe's time goes with the pixels drawn.
BARE_VIEW = {
    "target": (0.0, 1.0, 0.5),
    "azimuth": 0.0,
    "elevation": math.degrees(math.atan2(3.5, 6.0)),
    "distance": math.hypot(6.0, 3.5),
    "fov_y": 45.0,
}
MODULES = {"vispy": "vispy", "pyvista": "pyvista", "matplotlib": "matplotlib"}


# ---------------------------------------------------------------------------- workers
# Each worker runs in its own process and prints one JSON object as its last line.
# Heavy imports happen inside the workers so that import time can be measured.


def _banana(b: float = 100.0, n: int = 128):
    """Grid (x, y ij-indexed) and displayed heights of the log-scaled banana."""
    import numpy as np

    x = np.linspace(*DOMAIN[0], n)
    y = np.linspace(*DOMAIN[1], n)
    gx, gy = np.meshgrid(x, y, indexing="ij")
    z = HEIGHT_SCALE * np.log1p((1.0 - gx) ** 2 + b * (gy - gx * gx) ** 2)
    return x, y, gx, gy, z


def _orbit_loop(frame, seconds: float, min_frames: int = 2) -> dict:
    """Call ``frame(i)`` (orbit one degree, draw, read back) until ``seconds`` have passed."""
    frames, start = 0, time.perf_counter()
    cpu = time.process_time()
    while time.perf_counter() - start < seconds or frames < min_frames:
        frame(frames + 1)
        frames += 1
    wall = time.perf_counter() - start
    return {
        "fps": frames / wall,
        "frames": frames,
        "cpu_ms_per_frame": 1000 * (time.process_time() - cpu) / frames,
    }


class _Ours:
    """The full default scene, headless, with one descent ball."""

    def __init__(self, grid: int, size: tuple[int, int], view: str = "home"):
        from gradient_explorer.app.state import AppState, ViewOptions
        from gradient_explorer.optim.descent import Descent
        from gradient_explorer.render.headless import HeadlessRenderer
        from gradient_explorer.surfaces import fastcode
        from gradient_explorer.surfaces.surface import Surface

        # as the window: its descent on the numpy path (else the engine's load, ~0.3 s,
        # would fall inside the timed loop at the 200th step)
        fastcode.numpy_unless_chosen()
        self.size = size
        surface = Surface.named("banana")
        self.state = AppState.for_surface(
            surface, aspect=size[0] / size[1], view=ViewOptions(grid=grid)
        )
        if view == "bare":
            self.state.camera.set_state(BARE_VIEW, snap=True)
        self.state.point = (-0.5, 1.5)
        descent = getattr(self.state, "descent", None)  # the balls visual draws it
        if descent is not None and hasattr(descent, "start_run"):
            descent.kind = "single"
            descent.start_run(surface, start=(-1.5, 2.0))
            self.step = descent.step
        else:  # no balls visual: step the ball, draw nothing
            self.step = Descent(surface, "adam", [(-1.5, 2.0)], lr=0.01).step
        self.renderer = HeadlessRenderer(grid=grid)

    def frame(self, _i: int = 0):
        self.state.camera.orbit(1.0, 0.0)
        self.state.camera.snap()
        self.step()
        return self.renderer.render(self.state, self.size, 0, True, copy=False)  # reads back


class _Vispy:
    def __init__(self, grid: int, size: tuple[int, int]):
        import vispy

        vispy.use(app="egl")
        from vispy import scene

        x, y, _, _, z = _banana(n=grid)
        self.x, self.y = x, y
        self.canvas = scene.SceneCanvas(size=size, show=False, bgcolor=(0.075, 0.08, 0.1))
        self.view = self.canvas.central_widget.add_view()
        self.view.camera = scene.TurntableCamera(elevation=30.0, azimuth=-60.0, fov=45.0)
        self.surface = scene.visuals.SurfacePlot(
            x=x, y=y, z=z, shading="smooth", color=(0.35, 0.55, 0.9, 1.0)
        )
        self.view.add(self.surface)
        self.view.camera.set_range()

    def frame(self, _i: int = 0):
        self.view.camera.azimuth += 1.0
        return self.canvas.render()  # draws and reads back RGBA

    def change(self, b: float, grid: int):
        self.surface.set_data(z=_banana(b, grid)[4])  # normals are recomputed for the draw
        return self.canvas.render()


class _Pyvista:
    def __init__(self, grid: int, size: tuple[int, int]):
        import pyvista as pv

        self.pv = pv
        self.plotter = pv.Plotter(off_screen=True, window_size=list(size))
        self.plotter.set_background((0.075, 0.08, 0.1))
        self._add(100.0, grid)
        self.plotter.view_isometric()
        self.plotter.show(auto_close=False)

    def _add(self, b: float, grid: int) -> None:
        _, _, gx, gy, z = _banana(b, grid)
        mesh = self.pv.StructuredGrid(gx, gy, z)
        self.plotter.add_mesh(
            mesh, color=(0.35, 0.55, 0.9), smooth_shading=True, name="surface", reset_camera=False
        )

    def frame(self, _i: int = 0):
        self.plotter.camera.azimuth += 1.0
        self.plotter.render()
        return self.plotter.screenshot(return_img=True)

    def change(self, b: float, grid: int):
        self._add(b, grid)  # replaces the actor; smooth shading computes the normals
        self.plotter.render()
        return self.plotter.screenshot(return_img=True)


class _Matplotlib:
    def __init__(self, grid: int, size: tuple[int, int]):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        self.np = np
        self.fig = plt.figure(figsize=(size[0] / 100, size[1] / 100), dpi=100)
        self.ax = self.fig.add_subplot(projection="3d")
        self.azim = -60.0
        self.ax.view_init(elev=30.0, azim=self.azim)
        self.surf = None
        self._plot(100.0, grid)

    def _plot(self, b: float, grid: int) -> None:
        _, _, gx, gy, z = _banana(b, grid)
        if self.surf is not None:
            self.surf.remove()
        self.surf = self.ax.plot_surface(
            gx, gy, z, rstride=1, cstride=1, color=(0.35, 0.55, 0.9), shade=True, linewidth=0
        )

    def _draw(self):
        self.fig.canvas.draw()
        return self.np.asarray(self.fig.canvas.buffer_rgba()).copy()

    def frame(self, _i: int = 0):
        self.azim += 1.0
        self.ax.view_init(elev=30.0, azim=self.azim)
        return self._draw()

    def change(self, b: float, grid: int):
        self._plot(b, grid)  # new heights, face normals and shading
        return self._draw()


PEER_CLASSES = {"ours": _Ours, "vispy": _Vispy, "pyvista": _Pyvista, "matplotlib": _Matplotlib}


def worker_fps(tool: str, grid: int, size, seconds: float, view: str = "home") -> dict:
    if tool == "ours":
        scene = _Ours(grid, size, view)
    else:
        scene = PEER_CLASSES[tool](grid, size)
    image = scene.frame()  # shaders, buffers and caches outside the clock
    result = _orbit_loop(scene.frame, seconds)
    if tool == "ours":  # the share of the frame drawn (not the background)
        import numpy as np

        background = np.round(np.asarray(scene.state.view.background) * 255)
        result["drawn"] = float((np.abs(image - background).sum(-1) > 6).mean())
    return result


def worker_change(tool: str, grid: int, size, repeats: int) -> dict:
    """Median seconds from a change of surface to the first frame read back that shows it."""
    scene = PEER_CLASSES[tool](grid, size)
    scene.frame()
    scene.frame()
    out = {}
    if tool != "ours":
        times = []
        for i in range(repeats):
            t0 = time.perf_counter()
            scene.change(50.0 + 10.0 * i, grid)
            times.append(time.perf_counter() - t0)
        out["data + normals + redraw"] = statistics.median(times)
        return out
    from gradient_explorer.surfaces.surface import Surface

    state, aspect = scene.state, size[0] / size[1]
    kinds = {
        "catalogue switch": [
            lambda n=n: state.set_surface(Surface.named(n), aspect)
            for n in ("himmelblau", "rastrigin", "six_hump_camel", "ackley")[:repeats]
        ],
        "parameter (banana b)": [
            lambda b=b: state.set_surface(Surface.named("banana").with_params(b=b), aspect)
            for b in (50.0, 60.0, 70.0, 80.0)[:repeats]
        ],
        "typed expression": [
            lambda t=t: state.set_surface(Surface.from_expr(t, domain=DOMAIN), aspect)
            for t in (
                "sin(3x) cos(2y) + x^2/4",
                "x^2 - y^2 + x y",
                "exp(-(x^2+y^2)) + y/3",
                "log(1 + (1 - x)^2 + 50 (y - x^2)^2)",
            )[:repeats]
        ],
    }
    # The parameter change keeps the banana's generated code: start from the banana.
    for kind in ("parameter (banana b)", "catalogue switch", "typed expression"):
        times = []
        for change in kinds[kind]:
            if kind == "parameter (banana b)":
                state.set_surface(Surface.named("banana"), aspect)
                scene.frame()
            t0 = time.perf_counter()
            change()
            scene.renderer.render(state, scene.size, 0, True)
            times.append(time.perf_counter() - t0)
        out[kind] = statistics.median(times)
    return out


def worker_first(tool: str, grid: int, size, t_start: float) -> dict:
    """Imports, then the first frame (data, scene, draw, read back), in this fresh process."""
    if tool == "ours":
        import numpy

        import gradient_explorer.render.headless  # noqa: F401
    else:
        import numpy  # noqa: F401

        if tool == "vispy":
            import vispy

            vispy.use(app="egl")
            import vispy.scene
        elif tool == "pyvista":
            import pyvista  # noqa: F401
        else:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot
            import mpl_toolkits.mplot3d  # noqa: F401
    t_import = time.perf_counter()
    cls = PEER_CLASSES[tool]
    scene = cls(grid, size)
    if tool == "ours":  # the first frame as the render command draws it (no orbit)
        scene.renderer.render(scene.state, size, 0, True)
    else:
        scene.frame()
    t_first = time.perf_counter()
    return {"import_s": t_import - t_start, "first_frame_s": t_first - t_import}


def worker_typed(size, expressions: list[str]) -> dict:
    """Median seconds from Enter in the expression field to the frame that shows it."""
    sys.path.insert(0, str(ROOT / "reliability"))
    from harness import AppHarness, KeyModifiers, Keys

    h = AppHarness(tuple(size), "banana", 0, precompile=True)
    h.frame(3)
    times = []
    for text in expressions:
        h.frame(2)
        x0, y0, x1, y1 = h.app.ui.rects["expression"]
        h.click((x0 + x1) / 2, (y0 + y1) / 2)
        h.key("A", ctrl=True)
        h.type_text(text)
        t0 = time.perf_counter()
        h.app.on_key_event(Keys.ENTER, Keys.ACTION_PRESS, KeyModifiers())
        h.frame()
        h.app.on_key_event(Keys.ENTER, Keys.ACTION_RELEASE, KeyModifiers())
        # the window's loop: a frame when the app wants one (app/pacing.py), else a wait
        end = time.monotonic() + 60
        while h.state.surface.formula() != text and time.monotonic() < end:
            if h.app.wants_frame():
                h.frame(dt=None)
            else:
                time.sleep(h.app.idle_wait())
        h.frame()  # the frame that shows it
        times.append(time.perf_counter() - t0)
    # the first build also starts the helper processes: reported apart
    return {"first_s": times[0], "median_s": statistics.median(times[1:])}


def worker_adaptive(size, mode: str, frames: int) -> dict:
    """Frames per second while orbiting and when still, the app on a headless window."""
    os.environ["GRADIENT_EXPLORER_ADAPTIVE"] = "1" if mode == "adaptive" else "0"
    sys.path.insert(0, str(ROOT / "reliability"))
    from harness import AppHarness

    from gradient_explorer.render.lowres import MsaaTarget

    h = AppHarness(tuple(size), "banana", 0 if mode == "adaptive" else 4)
    if mode == "adaptive":  # what run() does on a software renderer
        h.app.msaa = MsaaTarget(h.app.ctx, 4)
    h.frame(3)
    x, y = 0.65 * size[0], 0.5 * size[1]
    h.move(x, y)
    h.app.on_mouse_press_event(x, y, 1)
    h.frame()
    moving = []
    for _ in range(frames):
        x += 4
        h.app.on_mouse_drag_event(x, y, 4, 0)
        t0 = time.perf_counter()
        h.frame(dt=None)
        moving.append(time.perf_counter() - t0)
    h.app.on_mouse_release_event(x, y, 1)
    h.frame(dt=2.0)  # the camera arrives
    time.sleep(0.3)  # past the restore delay
    still = []
    for _ in range(max(3, frames // 3)):
        t0 = time.perf_counter()
        h.frame(dt=None)
        still.append(time.perf_counter() - t0)
    return {
        "renderer": h.app.ui.gl_renderer,
        "orbit_fps": 1.0 / statistics.median(moving),
        "still_fps": 1.0 / statistics.median(still),
        "still_reduced": bool(h.app.quality.reduced),
    }


def run_worker(spec: dict, t_start: float) -> None:
    size = tuple(spec["size"])
    task, tool, grid = spec["task"], spec["tool"], spec["grid"]
    if task == "typed":
        result = worker_typed(size, spec["expressions"])
    elif task == "adaptive":
        result = worker_adaptive(size, tool, spec["frames"])
    elif task == "fps":
        result = worker_fps(tool, grid, size, spec["seconds"], spec.get("view", "home"))
    elif task == "change":
        result = worker_change(tool, grid, size, spec["repeats"])
    else:
        result = worker_first(tool, grid, size, t_start)
    print(json.dumps(result), flush=True)
    os._exit(0)  # skip slow GL and VTK teardown: the numbers are out


# ---------------------------------------------------------------------------- driver


def _env() -> dict:
    env = dict(os.environ)
    env.setdefault("EGL_PLATFORM", "surfaceless")  # vispy's EGL backend with no display
    env.pop("DISPLAY", None)  # VTK otherwise tries X first and warns
    env["PYTHONWARNINGS"] = "ignore"
    # An installed package has its bytecode (pip compiles it), as the peers in site-packages
    # do: with PYTHONDONTWRITEBYTECODE set, every timed process of ours compiled its ~70
    # modules from source again (50-400 ms), which no user's process does. The untimed
    # warm-ups write the bytecode (to the __pycache__ folders git ignores).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _bare_script() -> Path:
    script = next((p for p in BARE_CANDIDATES if p.exists()), None)
    if script is None:
        raise SystemExit("bare_surface.py not found: expected it in ../shared/bench/")
    return script


def _spawn(args: list[str], timeout: float = 900) -> tuple[str, float]:
    t0 = time.perf_counter()
    proc = subprocess.run(args, capture_output=True, text=True, env=_env(), timeout=timeout)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise RuntimeError(f"{shlex.join(args[:4])}... failed: {' | '.join(tail)}")
    return proc.stdout, wall


def _worker(spec: dict) -> tuple[dict, float]:
    out, wall = _spawn([sys.executable, __file__, "--worker", json.dumps(spec)])
    return json.loads(out.strip().splitlines()[-1]), wall


def _bare(grid: int, size: str, seconds: float) -> tuple[dict, float]:
    args = [sys.executable, str(_bare_script()), "--grid", str(grid), "--size", size]
    args += ["--seconds", str(seconds), "--samples", "0", "--readback"]
    out, wall = _spawn(args)
    fps = float(re.search(r"([\d.]+) fps", out).group(1))
    return {"fps": fps, "renderer": out.split("|")[0].strip()}, wall


def _installed(tool: str) -> bool:
    if tool not in MODULES:
        return True
    import importlib.util

    return importlib.util.find_spec(MODULES[tool]) is not None


def _median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


class Results:
    """Raw numbers per (section, tool, key), and the facts that go with them."""

    def __init__(self):
        self.raw: dict = {}
        self.notes: list[str] = []
        self.renderer = "?"

    def add(self, section: str, tool: str, key, value) -> None:
        self.raw.setdefault(section, {}).setdefault(tool, {}).setdefault(key, []).append(value)

    def med(self, section: str, tool: str, key):
        return _median(self.raw.get(section, {}).get(tool, {}).get(key, []))


def _try(results: Results, what: str, fn):
    try:
        return fn()
    except Exception as exc:  # a peer that fails is reported, not fatal
        results.notes.append(f"{what}: {exc}")
        print(f"  ! {what}: {exc}", file=sys.stderr)
        return None


def measure_fps(results: Results, tools, grids, size, runs, seconds) -> None:
    for run in range(runs):
        for grid in grids:
            for tool in tools:
                what = f"fps {tool} N={grid} run {run + 1}"
                if tool == "bare":
                    r = _try(results, what, lambda g=grid: _bare(g, size, seconds)[0])
                    if r:
                        results.renderer = r["renderer"]
                    _add_fps(results, tool, grid, what, r)
                elif tool == "ours":  # at the bare's view, then at its own home view
                    for key, view in (("ours", "bare"), ("ours-home", "home")):
                        spec = {"task": "fps", "tool": tool, "grid": grid, "size": _wh(size)}
                        spec.update(seconds=seconds, view=view)
                        r = _try(results, f"{what} ({view} view)", lambda s=spec: _worker(s)[0])
                        _add_fps(results, key, grid, f"{what} ({view} view)", r)
                else:
                    spec = {"task": "fps", "tool": tool, "grid": grid, "size": _wh(size)}
                    spec["seconds"] = seconds
                    r = _try(results, what, lambda s=spec: _worker(s)[0])
                    _add_fps(results, tool, grid, what, r)


def _add_fps(results: Results, key: str, grid: int, what: str, r: dict | None) -> None:
    if r:
        results.add("fps", key, grid, r["fps"])
        if "drawn" in r:
            results.add("fps-drawn", key, grid, r["drawn"])
        drawn = f", {r['drawn']:.0%} of the frame drawn" if "drawn" in r else ""
        print(f"  {what}: {r['fps']:.2f} fps{drawn}", file=sys.stderr)


def measure_change(results: Results, tools, grids, size, runs, repeats) -> None:
    for run in range(runs):
        for grid in grids:
            for tool in tools:
                if tool == "bare":
                    continue
                what = f"change {tool} N={grid} run {run + 1}"
                spec = {"task": "change", "tool": tool, "grid": grid, "size": _wh(size)}
                spec["repeats"] = repeats
                r = _try(results, what, lambda s=spec: _worker(s)[0])
                for kind, seconds in (r or {}).items():
                    results.add("change", tool, (kind, grid), seconds)
                    print(f"  {what} {kind}: {seconds:.3f} s", file=sys.stderr)


def measure_first(results: Results, tools, grid, size, runs) -> None:
    png = BENCH / ".first-frame.png"
    if "ours" in tools:  # untimed: the first use derives the banana's code and caches it
        warm = [sys.executable, "-m", "gradient_explorer", "render", "--surface", "banana"]
        _try(
            results, "first warm-up", lambda: _spawn([*warm, "--size", "64x64", "--out", str(png)])
        )
    for run in range(runs):
        for tool in tools:
            what = f"first {tool} N={grid} run {run + 1}"
            if tool == "bare":
                r = _try(results, what, lambda: {"whole_s": _bare(grid, size, 0.0)[1]})
            elif tool == "ours":
                cli = [sys.executable, "-m", "gradient_explorer", "render", "--surface"]
                cli += ["banana", "--grid", str(grid), "--size", size, "--floor"]
                cli += ["--point=-0.5,1.5", "--out", str(png)]
                r = _try(results, what + " (cli)", lambda c=cli: {"whole_s": _spawn(c)[1]})
                spec = {"task": "first", "tool": tool, "grid": grid, "size": _wh(size)}
                split = _try(results, what, lambda s=spec: _worker(s)[0])
                if r and split:
                    r.update(split)
            else:
                spec = {"task": "first", "tool": tool, "grid": grid, "size": _wh(size)}
                r = _try(results, what, lambda s=spec: _first_peer(s))
            for key, value in (r or {}).items():
                results.add("first", tool, key, value)
            if r:
                print(f"  {what}: {r}", file=sys.stderr)
    png.unlink(missing_ok=True)
    # apart, after: the window's helper processes must not share the machine with the above
    if "ours" in tools:
        windows = _try(results, "first window", lambda: _window_first_frames(size, runs))
        for run, seconds in enumerate(windows or []):
            results.add("first", "ours", "window_s", seconds)
            print(f"  first window run {run + 1}: {seconds:.3f} s", file=sys.stderr)


CLI_COMMANDS = {
    "python -c pass": ["-c", "pass"],
    'python -c "import numpy"': ["-c", "import numpy"],
    "gradient-explorer --help": ["-m", "gradient_explorer", "--help"],
    "gradient-explorer surfaces": ["-m", "gradient_explorer", "surfaces"],
}


def measure_cli(results: Results, runs: int) -> None:
    # once, untimed: the first use derives the catalogue's code and caches it
    _try(
        results,
        "cli warm-up",
        lambda: _spawn([sys.executable, *CLI_COMMANDS["gradient-explorer surfaces"]]),
    )
    for run in range(max(runs, 3)):
        for label, args in CLI_COMMANDS.items():
            r = _try(results, f"cli {label}", lambda a=args: _spawn([sys.executable, *a])[1])
            if r is not None:
                results.add("cli", "ours", label, r)
                print(f"  cli {label} run {run + 1}: {r:.3f} s", file=sys.stderr)


TYPED = [
    "x^2 + y^2",  # the first build starts the helper processes: reported apart
    "sin(3x) cos(2y) + x^2/4",
    "x^2 - y^2 + x y",
    "exp(-(x^2+y^2)) + y/3",
    "log(1 + (1 - x)^2 + 50 (y - x^2)^2)",
    "x^4 - x^2 + y^2",
]


def measure_typed(results: Results, runs: int) -> None:
    for run in range(runs):
        spec = {"task": "typed", "tool": "ours", "grid": 0, "size": [640, 400]}
        spec["expressions"] = TYPED
        r = _try(results, f"typed run {run + 1}", lambda s=spec: _worker(s)[0])
        for key, value in (r or {}).items():
            results.add("typed", "ours", key, value)
        if r:
            print(f"  typed run {run + 1}: {r}", file=sys.stderr)


def measure_adaptive(results: Results, size: str, runs: int, quick: bool) -> None:
    for run in range(runs):
        for mode in ("full", "adaptive"):
            spec = {"task": "adaptive", "tool": mode, "grid": 0, "size": _wh(size)}
            spec["frames"] = 12 if quick else 30
            r = _try(results, f"adaptive {mode} run {run + 1}", lambda s=spec: _worker(s)[0])
            if r:
                results.renderer = r.pop("renderer", results.renderer)
            for key, value in (r or {}).items():
                results.add("adaptive", mode, key, value)
            if r:
                print(f"  adaptive {mode} run {run + 1}: {r}", file=sys.stderr)


@contextlib.contextmanager
def _xvfb():
    """A virtual display for the real window; yields the environment that reaches it."""
    import random
    import shutil

    if shutil.which("Xvfb") is None:
        raise RuntimeError("Xvfb is not installed: skipped")
    free = [n for n in range(150, 200) if not Path(f"/tmp/.X11-unix/X{n}").exists()]
    number = random.choice(free or [199])
    display = f":{number}"
    xvfb = subprocess.Popen(
        ["Xvfb", display, "-screen", "0", "1600x900x24"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        socket = Path(f"/tmp/.X11-unix/X{number}")
        waited = time.perf_counter()
        while not socket.exists() and time.perf_counter() - waited < 10.0:
            time.sleep(0.05)  # a loaded machine can take seconds to start it
        time.sleep(0.2)
        env = {**_env(), "DISPLAY": display}
        env.pop("EGL_PLATFORM", None)
        # the app runs in a temporary folder: a relative PYTHONPATH must still find src
        paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        env["PYTHONPATH"] = os.pathsep.join(os.path.abspath(p) for p in paths)
        yield env
    finally:
        xvfb.terminate()
        xvfb.wait(5)


def _stop(app) -> None:
    """End the app and its helper processes (it was started in a session of its own)."""
    import signal

    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(app.pid, sig)
        except ProcessLookupError:
            break
        try:
            app.wait(5)
            break
        except subprocess.TimeoutExpired:
            continue
    time.sleep(0.3)  # the helpers exit on their own signal


def _window_first_frames(size: str, runs: int, timeout: float = 60.0) -> list[float]:
    """Seconds from starting the app's process to its first frame swapped in the real
    window (Xvfb, llvmpipe), as the app reports it (``GRADIENT_EXPLORER_FIRST_FRAME``),
    for each run. One display serves every run, after an untimed one, as a user's display
    is up before the app starts (a fresh server's first client pays for its start)."""
    import selectors
    import tempfile

    def one(env, home) -> float:
        args = [sys.executable, "-m", "gradient_explorer", "--surface", "banana"]
        args += ["--size", size]
        t0 = time.perf_counter()
        app = subprocess.Popen(
            args,
            cwd=home,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # _stop ends its helpers with it
        )
        try:
            selector = selectors.DefaultSelector()
            selector.register(app.stderr, selectors.EVENT_READ)
            tail = b""
            while time.perf_counter() - t0 < timeout:
                if not selector.select(timeout=0.5):
                    if app.poll() is not None:
                        break
                    continue
                chunk = os.read(app.stderr.fileno(), 65536)
                if not chunk:
                    break
                tail += chunk
                if b"first frame swapped" in tail:
                    return time.perf_counter() - t0
            last = tail.decode(errors="replace").strip().splitlines()[-1:] or ["no output"]
            raise RuntimeError(f"no first frame from the window: {last[0]}")
        finally:
            _stop(app)

    with _xvfb() as env, tempfile.TemporaryDirectory() as home:
        env["GRADIENT_EXPLORER_FIRST_FRAME"] = "1"
        one(env, home)  # untimed
        return [one(env, home) for _ in range(runs)]


def _idle_cpu(size: str, settle: float, seconds: float) -> float:
    """Percent of one core the real window uses while nothing moves, under Xvfb."""
    import tempfile

    with _xvfb() as env, tempfile.TemporaryDirectory() as home:
        app = subprocess.Popen(
            [sys.executable, "-m", "gradient_explorer", "--surface", "banana"],
            cwd=home,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            time.sleep(settle)
            if app.poll() is not None:
                raise RuntimeError("the window did not start")

            def ticks() -> int:
                fields = Path(f"/proc/{app.pid}/stat").read_text().rsplit(")", 1)[1].split()
                return int(fields[11]) + int(fields[12])  # utime + stime

            t0 = ticks()
            time.sleep(seconds)
            used = (ticks() - t0) / os.sysconf("SC_CLK_TCK")
            return 100.0 * used / seconds
        finally:
            _stop(app)


def measure_idle(results: Results, size: str, runs: int, quick: bool) -> None:
    for run in range(runs):
        r = _try(results, f"idle run {run + 1}", lambda: _idle_cpu(size, 20.0, 5.0))
        if r is not None:
            results.add("idle", "ours", "cpu_percent", r)
            print(f"  idle run {run + 1}: {r:.1f}% of one core", file=sys.stderr)


def _first_peer(spec: dict) -> dict:
    split, wall = _worker(spec)
    return {**split, "whole_s": wall}


def measure_script(results: Results, name: str, quick: bool) -> None:
    args = [sys.executable, str(BENCH / name)] + (["--quick"] if quick else [])
    out = _try(results, name, lambda: _spawn(args)[0])
    if out is not None:
        results.raw[name] = out


def _wh(size: str) -> list[int]:
    return [int(v) for v in size.lower().split("x")]


# ---------------------------------------------------------------------------- report


def _fmt(value, unit: str = "", digits: int = 2) -> str:
    if value is None:
        return "-"
    if unit == "fps":
        return f"{value:.3g}" if value < 10 else f"{value:.1f}"
    return f"{value:.{digits}f}{unit}"


def _versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for pkg in ("moderngl", "numpy", "vispy", "pyvista", "vtk", "matplotlib", "torch"):
        try:
            parts.append(f"{pkg} {version(pkg)}")
        except PackageNotFoundError:
            parts.append(f"{pkg} (not installed)")
    return ", ".join(parts)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def report(results: Results, args, tools, started: str, load: tuple) -> str:
    runs = args.runs
    lines = [
        "# Performance side by side (llvmpipe)",
        "",
        f"- date: {started}",
        f"- command: `{args.command}`",
        f"- machine: {_cpu()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; GL: {results.renderer}",
        f"- python {platform.python_version()}; {_versions()}",
        f"- load average at start {load[0]}, at end {load[1]} (other jobs share the "
        "machine: compare within this file, where runs were interleaved)",
        f"- every number is the median of {runs} fresh process(es); size {args.size}; "
        "orbit 1 degree a frame; every frame read back; ours and bare without MSAA",
        "",
    ]
    if "fps" in results.raw:
        bare = {g: results.med("fps", "bare", g) for g in args.grids}
        lines += [
            "## Orbit frame rate (frames per second; ratio to the bare surface)",
            "",
            "| tool | " + " | ".join(f"N={g}" for g in args.grids) + " |",
            "|---|" + "---:|" * len(args.grids),
        ]
        rows = [t for t in tools if t != "ours"]
        if "ours" in tools:
            rows[:0] = ["ours", "ours-home"]
        for tool in rows:
            cells = []
            for g in args.grids:
                v = results.med("fps", tool, g)
                ratio = f" ({v / bare[g]:.2f})" if v and bare[g] and tool != "bare" else ""
                drawn = results.med("fps-drawn", tool, g) if "fps-drawn" in results.raw else None
                cells.append(_fmt(v, "fps") + ratio + (f", {drawn:.0%} drawn" if drawn else ""))
            label = LABELS[tool] + (", the bare surface's view" if tool == "ours" else "")
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "Ours orbits from the bare surface's camera (the ratio the goal means: the same "
            "surface at the same size) and from its own home view, which fills more of the "
            "frame (the share of pixels drawn beside each; the bare's: 19%).",
            "",
        ]
    if "change" in results.raw:
        grids = args.change_grids
        lines += [
            "## Change of surface (seconds to the first frame that shows it)",
            "",
            "| tool | change | " + " | ".join(f"N={g}" for g in grids) + " |",
            "|---|---|" + "---:|" * len(grids),
        ]
        for tool in tools:
            kinds = sorted(
                {k for k, _ in results.raw["change"].get(tool, {})},
                key=lambda k: ("parameter" not in k, "catalogue" not in k),
            )
            for kind in kinds:
                cells = [_fmt(results.med("change", tool, (kind, g)), " s", 3) for g in grids]
                lines.append(f"| {LABELS[tool]} | {kind} | " + " | ".join(cells) + " |")
        lines.append("")
    if "first" in results.raw:
        lines += [
            f"## First frame in a fresh process (N={args.first_grid})",
            "",
            "| tool | whole process | imports | first frame |",
            "|---|---:|---:|---:|",
        ]
        for tool in tools:
            cells = [
                _fmt(results.med("first", tool, k), " s")
                for k in ("whole_s", "import_s", "first_frame_s")
            ]
            lines.append(f"| {LABELS[tool]} | " + " | ".join(cells) + " |")
        lines += [
            "",
            "Ours: whole process = `python -m gradient_explorer render --surface banana "
            f"--grid {args.first_grid} --size {args.size} --floor --point=-0.5,1.5 --out "
            "x.png` (PNG written; the catalogue's generated code cached by an untimed run "
            "before); the split comes from a separate in-process worker. Bare: "
            "`bare_surface.py --seconds 0 --readback` (4 frames). Peers: the worker process.",
        ]
        ours, bare = (
            results.med("first", "ours", "whole_s"),
            results.med("first", "bare", "whole_s"),
        )
        if ours and bare:
            lines.append(f"Ours / bare, whole process: **{ours / bare:.2f}x** (goal: within 2x).")
        window = results.med("first", "ours", "window_s")
        if window is not None:
            lines.append(
                f"The window's first frame (`gradient-explorer --surface banana --size "
                f"{args.size}` under Xvfb, llvmpipe; the process's start to the first frame "
                f"swapped, which the app prints with `GRADIENT_EXPLORER_FIRST_FRAME=1`): "
                f"**{_fmt(window, ' s')}** (goal: within 1.0 s)."
            )
        lines.append("")
    if "cli" in results.raw:
        lines += [
            "## Command-line start (seconds, fresh process; goal: within 0.3 s)",
            "",
            "| command | seconds |",
            "|---|---:|",
        ]
        for label in CLI_COMMANDS:
            lines.append(f"| `{label}` | {_fmt(results.med('cli', 'ours', label), ' s', 3)} |")
        lines.append("")
    if "typed" in results.raw:
        lines += [
            "## Typed expression to the screen (640x400; goal: median within 0.3 s)",
            "",
            f"Enter to the frame that shows it, median of {len(TYPED) - 1} expressions: "
            f"**{_fmt(results.med('typed', 'ours', 'median_s'), ' s', 3)}**; the first "
            f"build, which also starts the helper processes: "
            f"{_fmt(results.med('typed', 'ours', 'first_s'), ' s', 3)}.",
            "",
        ]
    if "adaptive" in results.raw:
        lines += [
            f"## Orbit by mouse in the app, headless window {args.size} (frames per second)",
            "",
            "| how | orbiting | still |",
            "|---|---:|---:|",
        ]
        for mode, label in (
            ("full", "as on a GPU: 4x MSAA window, full quality always"),
            ("adaptive", "software renderer: reduced while moving, 4x MSAA offscreen still"),
        ):
            cells = [
                _fmt(results.med("adaptive", mode, k), "fps") for k in ("orbit_fps", "still_fps")
            ]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
        lines += ["", "Goal: orbit at 15 fps or more on llvmpipe; the still picture full.", ""]
    if "idle" in results.raw:
        lines += [
            "## Idle window (Xvfb, llvmpipe, 1280x720; goal: under 5% of one core)",
            "",
            f"CPU while nothing moves, 5 s after the start settled: "
            f"**{_fmt(results.med('idle', 'ours', 'cpu_percent'), '%', 1)}** of one core.",
            "",
        ]
    for name, title in (
        ("bench_descent.py", "Descent against torch.optim (Adam on the banana)"),
        ("bench_picking.py", "Picking: microseconds per pick (goal: hit p99 within 1 ms)"),
    ):
        if name in results.raw:
            quick = " --quick" if args.quick else ""
            lines += [f"## {title}", "", f"`python benchmarks/{name}{quick}`:", "", "```text"]
            lines += [*results.raw[name].rstrip().splitlines(), "```", ""]
    lines += ["## Notes", ""]
    lines += [f"- {n}" for n in results.notes] or ["- none"]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one run each, shorter timings")
    parser.add_argument("--grids", type=int, nargs="+", default=[128, 512, 1024])
    parser.add_argument("--change-grids", type=int, nargs="+", default=[512, 1024])
    parser.add_argument("--first-grid", type=int, default=128)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--runs", type=int, default=None, help="fresh processes each (3)")
    parser.add_argument("--seconds", type=float, default=None, help="per frame-rate run (3)")
    parser.add_argument("--tools", nargs="+", choices=TOOLS, default=list(TOOLS))
    parser.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    parser.add_argument("--out", default=str(BENCH / "results-llvmpipe.md"))
    parser.add_argument("--bare", help="bare_surface.py (default: ../shared/bench/)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker(json.loads(args.worker), T_START)
        return
    if args.bare:
        BARE_CANDIDATES.insert(0, Path(args.bare).resolve())
    args.runs = args.runs or (1 if args.quick else 3)
    args.seconds = args.seconds or (1.5 if args.quick else 3.0)
    args.command = shlex.join(["python", "benchmarks/run_all.py", *sys.argv[1:]])
    repeats = 2 if args.quick else 3
    started = datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    load0 = f"{os.getloadavg()[0]:.2f}"

    results = Results()
    tools = []
    for tool in args.tools:
        if _installed(tool):
            tools.append(tool)
        else:
            results.notes.append(f"{tool} is not installed (pip install .[bench]): skipped")
    if "fps" in args.sections:
        print("orbit frame rate ...", file=sys.stderr)
        measure_fps(results, tools, args.grids, args.size, args.runs, args.seconds)
    if "change" in args.sections:
        print("change of surface ...", file=sys.stderr)
        measure_change(results, tools, args.change_grids, args.size, args.runs, repeats)
    if "first" in args.sections:
        print("first frame ...", file=sys.stderr)
        measure_first(results, tools, args.first_grid, args.size, args.runs)
    if "cli" in args.sections:
        print("command-line start ...", file=sys.stderr)
        measure_cli(results, args.runs)
    if "typed" in args.sections:
        print("typed expression ...", file=sys.stderr)
        measure_typed(results, args.runs)
    if "adaptive" in args.sections:
        print("adaptive quality ...", file=sys.stderr)
        measure_adaptive(results, args.size, args.runs, args.quick)
    if "idle" in args.sections:
        print("idle window ...", file=sys.stderr)
        measure_idle(results, args.size, args.runs, args.quick)
    for section, script in (("descent", "bench_descent.py"), ("picking", "bench_picking.py")):
        if section in args.sections:
            print(f"{script} ...", file=sys.stderr)
            measure_script(results, script, args.quick)
    if "ours" in tools and ({"fps", "change"} & set(args.sections)):
        results.notes.append(
            "ours: one descent ball (adam) stepped every frame and drawn by the balls visual"
            if _has_balls_visual()
            else "ours: the scene has no balls visual yet: one descent ball is stepped "
            "every frame (Descent.step) but not drawn"
        )
    text = report(results, args, tools, started, (load0, f"{os.getloadavg()[0]:.2f}"))
    if args.out and args.out != "-":
        Path(args.out).write_text(text)
    print(text)


def _has_balls_visual() -> bool:
    """Whether the scene draws ``AppState.descent`` (the balls visual)."""
    from gradient_explorer.app import state

    return "descent" in getattr(state.AppState, "__dataclass_fields__", {})


if __name__ == "__main__":
    main()
