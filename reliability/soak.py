"""Soak the headless app: surface switches, typed compiles, resizes, then a big swarm.

Phase 1 (after a warm-up that fills every cache once): ``--switches`` catalogue
switches, ``--compiles`` typed expressions (each one new, so each compiles new shaders)
and ``--resizes`` window resizes, every fifth to zero (minimised). The live GL object
count must come back to its warm-up value and resident memory may grow by at most
``--rss-limit`` percent.

Phase 2: a ``--balls``-ball swarm played at full speed (the panel's top 1000 steps/s,
restarted whenever every ball has stopped) for ``--minutes``. Every buffer write the
scene makes is checked for NaN and infinity; live GL objects and memory must not grow
after the first tenth; the frame rate of the first and the last minute (or tenth, for
short runs) are reported.

With ``--precompile`` the app compiles new shaders in its helper process, as the real
app does; the helper's resident memory is then reported too (read from ``/proc``: freed
heap that glibc keeps counts, so it is an upper bound).

usage: python reliability/soak.py [--switches 1000] [--compiles 1000] [--resizes 200]
                                  [--minutes 10] [--balls 10000] [--precompile]

Exit status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import moderngl
import numpy as np
from harness import AppHarness, rss_bytes

from gradient_explorer.app import descent_mode
from gradient_explorer.app.ui import panels
from gradient_explorer.surfaces.catalogue import CURVES, SURFACES

MB = 2**20


def helper_rss(h: AppHarness) -> dict[str, tuple[int, int]]:
    """{helper: (pid, resident bytes)} of the app's helper processes that are running."""
    compiler = h.app.ui.compiler
    found = {}
    for name, helper in (("build worker", compiler.worker), ("shader helper", compiler.warmer)):
        process = getattr(getattr(helper, "_helper", None), "process", None)
        if process is None:
            continue
        try:
            with open(f"/proc/{process.pid}/statm") as handle:
                pages = int(handle.read().split()[1])
        except OSError:
            continue
        found[name] = (process.pid, pages * os.sysconf("SC_PAGE_SIZE"))
    return found


def _wait(h: AppHarness, timeout: float = 60.0) -> None:
    """Frames until the background build is installed (the status line names it)."""
    h.frames_until(lambda: not h.app.ui.compiler.busy, timeout)
    h.frame(2)


def switch(h: AppHarness, name: str) -> None:
    panels.choose_surface(h.app.ui, name)
    _wait(h)
    if h.state.surface.name != name:
        raise AssertionError(f"switch to {name} failed: {h.app.ui.message}")


def compile_expression(h: AppHarness, i: int) -> None:
    """A new expression each time (new GLSL, new programs), typed with Enter."""
    a, b = 1 + i % 7, 1 + (i // 7) % 11
    text = f"sin({a}x) * cos(y) + {b}/{i + 3} * x^2 - y^2 / {1 + i % 5}"
    h.enter_expression(text)
    _wait(h)
    if h.app.ui.expression_error or h.state.surface.formula() != text:
        raise AssertionError(f"compile {i} failed: {h.app.ui.expression_error!r}")


SIZES = [(640, 400), (320, 240), (0, 0), (1024, 600), (200, 700), (0, 300), (800, 600)]


def resize(h: AppHarness, i: int) -> None:
    w, hgt = SIZES[i % len(SIZES)]
    if i % 5 == 4:
        w = hgt = 0  # minimised
    h.resize(w, hgt)
    h.frame(2)


def phase1(h: AppHarness, args) -> bool:
    names = [d.name for d in SURFACES] + [d.name for d in CURVES]
    if args.catalogue:
        names = names[: args.catalogue - 1] + names[-1:]  # keep one curve
    print(
        f"warm-up: every catalogue entry, {args.warmup_compiles} compiles, every resize size",
        flush=True,
    )
    for name in names:
        switch(h, name)
    for i in range(args.warmup_compiles):
        compile_expression(h, 100_000 + i)
    for i in range(len(SIZES) * 5):
        resize(h, i)
    h.resize(*h.size)
    switch(h, "saddle")
    base_live, base_rss = h.live(), rss_bytes()
    print(f"after warm-up: {base_live} live GL objects, RSS {base_rss / MB:.1f} MB", flush=True)
    base_helpers = helper_rss(h)
    for name, (pid, rss) in base_helpers.items():
        print(f"{name} (pid {pid}): RSS {rss / MB:.1f} MB", flush=True)

    ok = True
    began = time.perf_counter()
    for i in range(args.switches):
        switch(h, names[i % len(names)])
    print(
        f"{args.switches} switches in {time.perf_counter() - began:.0f} s: "
        f"live {h.live()}, RSS {rss_bytes() / MB:.1f} MB",
        flush=True,
    )
    began = time.perf_counter()
    for i in range(args.compiles):
        compile_expression(h, i)
    print(
        f"{args.compiles} compiles in {time.perf_counter() - began:.0f} s: "
        f"live {h.live()}, RSS {rss_bytes() / MB:.1f} MB",
        flush=True,
    )
    began = time.perf_counter()
    for i in range(args.resizes):
        resize(h, i)
    h.resize(*h.size)
    h.frame(2)
    print(
        f"{args.resizes} resizes in {time.perf_counter() - began:.0f} s: "
        f"live {h.live()}, RSS {rss_bytes() / MB:.1f} MB",
        flush=True,
    )
    switch(h, "saddle")  # the state the baseline was taken in
    live, rss = h.live(), rss_bytes()
    growth = 100.0 * (rss - base_rss) / base_rss
    print(
        f"PHASE 1: live GL objects {base_live} -> {live}; "
        f"RSS {base_rss / MB:.1f} -> {rss / MB:.1f} MB ({growth:+.2f} %)",
        flush=True,
    )
    helpers = helper_rss(h)
    for name, (pid, base) in base_helpers.items():
        now_pid, now = helpers.get(name, (None, 0))
        same = "same process" if now_pid == pid else f"now pid {now_pid}"
        print(
            f"{name} ({same}): RSS {base / MB:.1f} -> {now / MB:.1f} MB "
            f"({100.0 * (now - base) / max(base, 1):+.2f} %)",
            flush=True,
        )
    if live != base_live:
        print("FAIL: the live GL object count changed")
        ok = False
    if growth > args.rss_limit:
        print(f"FAIL: resident memory grew more than {args.rss_limit} %")
        ok = False
    return ok


class WriteSpy:
    """Checks every scene buffer write for non-finite float32 values.

    imgui's vertex buffer packs colours as uint32 (white is a NaN bit pattern), so writes
    made while the imgui renderer draws are not float data and are skipped.
    """

    def __init__(self, h: AppHarness) -> None:
        self.writes = self.bad = 0
        self.bytes = 0
        self._in_imgui = False
        self._original = moderngl.Buffer.write
        renderer = h.app.imgui_renderer
        draw = renderer.render

        def render(*a, **k):
            self._in_imgui = True
            try:
                return draw(*a, **k)
            finally:
                self._in_imgui = False

        renderer.render = render
        spy = self

        def write(buffer, data, *a, **k):
            if not spy._in_imgui:
                raw = bytes(data)
                usable = len(raw) - len(raw) % 4
                values = np.frombuffer(raw[:usable], dtype=np.float32)
                spy.writes += 1
                spy.bytes += len(raw)
                if not np.isfinite(values).all():
                    spy.bad += 1
            return spy._original(buffer, data, *a, **k)

        moderngl.Buffer.write = write

    def close(self) -> None:
        moderngl.Buffer.write = self._original


def phase2(h: AppHarness, args) -> bool:
    state = h.state
    switch(h, args.swarm_surface)
    ds = state.descent
    ds.kind, ds.optimizer, ds.swarm_size, ds.tol = "swarm", args.optimizer, args.balls, 0.0
    ds.steps_per_second = 1000.0  # the panel's top speed
    ds.start_run(state.surface)
    ds.playing = state.playing = True
    if args.history is not None:
        descent_mode.MAX_HISTORY = args.history
    # Warm-up: the f-per-step history grows to its cap (by design), then nothing should.
    h.frames_until(lambda: len(ds._history) >= descent_mode.MAX_HISTORY, 600, dt=None)
    h.frame(3, dt=None)
    spy = WriteSpy(h)
    duration = args.minutes * 60.0
    window = min(60.0, duration / 10)  # first / last minute (or tenth)
    samples = []  # (time, live, rss)
    restarts = frames = 0
    began = time.perf_counter()
    start_frame = len(h.frame_times)
    try:
        next_sample = began + window
        while (now := time.perf_counter()) - began < duration:
            h.frame(dt=None)
            frames += 1
            if not ds.playing:  # every ball stopped: roll them again
                ds.reset()
                ds.playing = True
                restarts += 1
            if now >= next_sample:
                samples.append((now - began, h.live(), rss_bytes()))
                next_sample += window
                print(
                    f"  t={now - began:6.0f} s  frames {frames}  live {samples[-1][1]}  "
                    f"RSS {samples[-1][2] / MB:.1f} MB  writes {spy.writes}  bad {spy.bad}",
                    flush=True,
                )
    finally:
        spy.close()
    times = np.cumsum(h.frame_times[start_frame:])
    first = int((times <= window).sum())
    last = int((times > times[-1] - window).sum())
    fps_first, fps_last = first / window, last / window
    ok = True
    _, live0, rss0 = samples[0]
    _, live1, rss1 = samples[-1]
    growth = 100.0 * (rss1 - rss0) / rss0
    balls = sum(d.n for d in ds.descents)
    print(
        f"PHASE 2: {balls} balls, {args.minutes:g} min, {frames} frames, {restarts} restarts; "
        f"fps first {window:.0f} s {fps_first:.2f}, last {window:.0f} s {fps_last:.2f}; "
        f"live GL objects {live0} -> {live1}; RSS {rss0 / MB:.1f} -> {rss1 / MB:.1f} MB "
        f"({growth:+.2f} %); {spy.writes} buffer writes ({spy.bytes / MB:.0f} MB), "
        f"{spy.bad} with NaN/inf",
        flush=True,
    )
    if spy.bad:
        print("FAIL: non-finite values were written to a GPU buffer")
        ok = False
    if live1 != live0:
        print("FAIL: the live GL object count grew during the swarm")
        ok = False
    if growth > args.rss_limit:
        print(f"FAIL: resident memory grew more than {args.rss_limit} %")
        ok = False
    if fps_last < 0.5 * fps_first:
        print("FAIL: the frame rate fell by more than half")
        ok = False
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--switches", type=int, default=1000)
    parser.add_argument("--compiles", type=int, default=1000)
    parser.add_argument("--resizes", type=int, default=200)
    parser.add_argument("--warmup-compiles", type=int, default=20)
    parser.add_argument(
        "--catalogue", type=int, default=0, help="switch among this many entries (0: all)"
    )
    parser.add_argument(
        "--history", type=int, default=None, help="cap on the f-per-step history (the app's)"
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="swarm duration")
    parser.add_argument("--balls", type=int, default=10_000)
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--swarm-surface", default="himmelblau")
    parser.add_argument("--rss-limit", type=float, default=5.0, help="percent (5)")
    parser.add_argument("--size", default="640x400", help="window size WxH (640x400)")
    parser.add_argument("--samples", type=int, default=4, help="MSAA samples (4)")
    parser.add_argument(
        "--precompile", action="store_true", help="with the app's shader helper process"
    )
    parser.add_argument("--skip-phase1", action="store_true")
    parser.add_argument("--skip-phase2", action="store_true")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    h = AppHarness(size=(width, height), samples=args.samples, precompile=args.precompile)
    ok = True
    try:
        if not args.skip_phase1:
            ok &= phase1(h, args)
        if not args.skip_phase2:
            ok &= phase2(h, args)
    finally:
        error = h.close()
    if error != "GL_NO_ERROR":
        print(f"FAIL: GL error state {error}")
        ok = False
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
