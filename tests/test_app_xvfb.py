"""The real app in a real (Xvfb) window, driven the way a person does, with xdotool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = [pytest.mark.xvfb, pytest.mark.gl]

SIZE = (800, 600)
START_TIMEOUT = 60.0  # first frame on a slow llvmpipe machine includes shader compiles


def _free_display() -> int:
    for n in range(90, 200):
        if not (Path(f"/tmp/.X11-unix/X{n}").exists() or Path(f"/tmp/.X{n}-lock").exists()):
            return n
    pytest.skip("no free X display number")


@pytest.fixture(scope="module")
def display():
    if not (shutil.which("Xvfb") and shutil.which("xdotool")):
        pytest.skip("Xvfb and xdotool are needed")
    n = _free_display()
    proc = subprocess.Popen(
        ["Xvfb", f":{n}", "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    socket = Path(f"/tmp/.X11-unix/X{n}")
    deadline = time.monotonic() + 15
    while not socket.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.skip("Xvfb did not start")
        time.sleep(0.05)
    yield f":{n}"
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def _env(display: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k != "WAYLAND_DISPLAY"}
    env.update(DISPLAY=display, **extra)
    return env


def _app(display: str, cwd: Path, **extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "gradient_explorer", "--surface", "saddle", "--size"]
    return subprocess.Popen(
        [*command, f"{SIZE[0]}x{SIZE[1]}"],
        cwd=cwd,
        env=_env(display, **extra),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _surface_colours(pixels: np.ndarray) -> int:
    """Pixels of the surface's colour map (greens and yellows) in the 3D area."""
    p = pixels[40:-40, 360:].astype(int)
    r, g, b = p[..., 0], p[..., 1], p[..., 2]
    return int(((g > 90) & (g > b + 20) & (g >= r - 40)).sum())


def test_app_opens_a_window_and_draws_the_surface(display, tmp_path):
    shot = tmp_path / "shot.png"
    proc = _app(
        display, tmp_path, GRADIENT_EXPLORER_EXIT_AFTER="4", GRADIENT_EXPLORER_SCREENSHOT=str(shot)
    )
    try:
        _, err = proc.communicate(timeout=START_TIMEOUT + 30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    with Image.open(shot) as image:
        assert image.size == SIZE
        pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3)[::7], axis=0)) > 200  # not all one colour
    assert _surface_colours(pixels) > 5000
    assert not list(tmp_path.glob("imgui.ini"))


# ---------------------------------------------------------------------- xdotool


def _xdo(display: str, *args: str, timeout: float = 30.0) -> str:
    result = subprocess.run(
        ["xdotool", *args],
        env=_env(display),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=True,
    )
    return result.stdout.strip()


class Person:
    """Mouse and keyboard on the app's window, and F12 screenshots to look at."""

    def __init__(self, display: str, window: str, folder: Path):
        self.display, self.window, self.folder = display, window, folder

    def move(self, x: float, y: float) -> None:
        _xdo(self.display, "mousemove", "--window", self.window, str(int(x)), str(int(y)))
        time.sleep(0.25)

    def click(self, x: float, y: float) -> None:
        self.move(x, y)
        _xdo(self.display, "click", "1")
        time.sleep(0.4)

    def drag(self, start, end, steps: int = 10) -> None:
        self.move(*start)
        _xdo(self.display, "mousedown", "1")
        time.sleep(0.3)
        for i in range(1, steps + 1):
            x = start[0] + (end[0] - start[0]) * i / steps
            y = start[1] + (end[1] - start[1]) * i / steps
            _xdo(self.display, "mousemove", "--window", self.window, str(int(x)), str(int(y)))
            time.sleep(0.08)
        time.sleep(0.3)
        _xdo(self.display, "mouseup", "1")
        time.sleep(0.4)

    def key(self, *keys: str) -> None:
        _xdo(self.display, "key", "--delay", "80", *keys)
        time.sleep(0.3)

    def type(self, text: str) -> None:
        _xdo(self.display, "type", "--delay", "60", text)
        time.sleep(0.3)

    def screenshot(self, timeout: float = START_TIMEOUT) -> np.ndarray:
        """Press F12 and wait for the new PNG (keys go to the window under the pointer)."""
        before = set(self.folder.glob("gradient-explorer-*.png"))
        deadline = time.monotonic() + timeout
        while True:
            self.key("F12")
            for _ in range(20):
                new = set(self.folder.glob("gradient-explorer-*.png")) - before
                if new:
                    time.sleep(0.2)  # written atomically: once there, it is whole
                    with Image.open(new.pop()) as image:
                        return np.asarray(image.convert("RGB"))
                time.sleep(0.25)
            if time.monotonic() > deadline:
                pytest.fail("the app never wrote a screenshot for F12")


def _layout():
    """Where things are in the app's window: the same code, run headless in this process."""
    from moderngl_window.context.glfw.keys import Keys
    from moderngl_window.context.headless import Window

    from gradient_explorer.app.state import AppState
    from gradient_explorer.app.window import ExplorerApp
    from gradient_explorer.surfaces.surface import Surface

    wnd = Window(size=SIZE, backend="egl", gl_version=(3, 3), samples=0)
    state = AppState.for_surface(Surface.named("saddle"), aspect=SIZE[0] / SIZE[1])
    app = ExplorerApp(ctx=wnd.ctx, wnd=wnd, state=state, keys=Keys, precompile=False)
    try:
        for i in range(2):
            wnd.use()
            app.on_render(i / 60, 1 / 60)
        inter = app.interaction

        def screen(xy):
            h = float(state.surface.height(np.asarray(xy, dtype=float)))
            return inter.to_screen(np.array([xy[0], xy[1], h]))

        a, b = (0.8, 0.4), (1.3, -0.5)
        for xy in (a, b):  # on screen, clear of the panel, not hidden behind a fold
            sx, sy = screen(xy)
            hit = inter.pick_surface(sx, sy)
            assert hit is not None and np.allclose(hit[:2], xy, atol=1e-3)
            assert sx > 380
        return screen(a), screen(b), app.ui.rects["expression"]
    finally:
        app.release()
        wnd.destroy()


def _orange_near(pixels: np.ndarray, xy, radius: int = 10) -> int:
    """Pixels of the point's orange dot within ``radius`` of a window position."""
    x, y = (round(v) for v in xy)
    p = pixels[max(y - radius, 0) : y + radius, max(x - radius, 0) : x + radius].astype(int)
    r, g, b = p[..., 0], p[..., 1], p[..., 2]
    return int(((r > 150) & (g > 40) & (g < 150) & (b < 60) & (r > g + 60)).sum())


def test_a_person_clicks_drags_and_types(display, tmp_path):
    a, b, field = _layout()
    proc = _app(display, tmp_path, GRADIENT_EXPLORER_EXIT_AFTER="150")
    try:
        window = _xdo(display, "search", "--sync", "--name", "gradient-explorer", timeout=60)
        window = window.split()[0]
        person = Person(display, window, tmp_path)
        person.move(700, 80)
        first = person.screenshot()
        assert _orange_near(first, a) == 0

        person.click(*a)  # place the point
        placed = person.screenshot()
        assert _orange_near(placed, a) > 15

        person.drag(a, b)  # grab it and move it along the surface
        dragged = person.screenshot()
        assert _orange_near(dragged, b) > 15
        assert _orange_near(dragged, a) < 5

        x0, y0, x1, y1 = field  # type a new surface into the expression field
        person.click((x0 + x1) / 2, (y0 + y1) / 2)
        person.key("ctrl+a")
        person.type("sin(3*x)*cos(3*y)")
        person.key("Return")
        person.move(700, 80)
        # Built and compiled by the app's helpers while the frame loop keeps drawing; the
        # screenshot's name is the surface's, so it says when the new one is on screen.
        deadline = time.monotonic() + 60
        while True:
            typed = person.screenshot()
            files = sorted(tmp_path.glob("gradient-explorer-expression-*.png"))
            if files or time.monotonic() > deadline:
                break
            time.sleep(1.0)
        assert files, "the new surface's name is in the screenshot's name"
        area = (slice(40, -40), slice(380, None))
        change = np.abs(typed[area].astype(int) - dragged[area].astype(int)).sum(-1) > 40
        assert change.mean() > 0.2  # the picture shows another surface

        person.key("Escape", "Escape")  # leave the text field, then quit
        proc.wait(timeout=30)
        assert proc.returncode == 0, proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert not list(tmp_path.glob("imgui.ini"))
