"""Frame times while typed expressions are checked and compiled, in the headless app.

Each expression is typed into the expression field and Enter is pressed, as a person
would; frames keep running (real time) until the new surface is on screen, and each
frame's wall time (``on_render`` plus ``ctx.finish()``) is recorded. The derivation runs
off the frame thread (a worker thread waiting on a forked child), so frames while it is
pending should cost what an idle frame costs. The new surface's shaders are compiled by a
helper process too (``gradient_explorer.workers.shader_warmup``, as in the app), so the frame that
installs it loads them from the driver's shader cache; ``--no-precompile`` shows that frame
compiling them itself. Each run starts from an empty shader cache (a new temporary
``MESA_SHADER_CACHE_DIR``, and NVIDIA's equivalent), so earlier runs cannot flatter it;
``--keep-shader-cache`` uses the user's cache.

A frame's *stall* is its time beyond an idle frame of the same picture: for the Enter
frame and the frames while the build is pending, the median of the frames before (the old
surface); for the install frame, the median of the frames after (the new surface, which
may cost more or less to draw). On a software renderer an idle frame alone takes tens of ms.

usage: python reliability/frame_stalls.py [--size 800x600] [--samples 4] [--json]

Exit status 1 if the Enter frame, a frame while a build was pending or the install frame
stalled longer than ``--limit`` ms, or GL reported an error.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

#: (label, expression): fast, medium and slow to derive; a refusal; a derivation timeout.
EXPRESSIONS = [
    ("simple", "x^2 - y^2"),
    ("waves", "sin(x)*cos(y)"),
    ("hills", "exp(-(x^2+y^2))*sin(3x)*cos(2y)"),
    ("holes", "log(x) + sqrt(1 - x^2 - y^2) + 1/(x^2 + y^2)"),
    ("nested", "tanh(sin(exp(cos(x*y))))^5 * atan2(y, x)^3 * sqrt(abs(sin(x)*cos(y))+1)"),
    ("8 factors", "*".join(f"(sin({i}x)+cos({i}y)+{i})" for i in range(1, 9))),
    ("12 factors", "*".join(f"(sin({i}x)+cos({i}y)+{i})" for i in range(1, 13))),
    ("16 factors", "*".join(f"(sin({i}x)+cos({i}y)+{i})" for i in range(1, 17))),
    ("syntax error", "x^2 +* y"),
    # another family than the factors above: the build worker's sympy cache cannot help
    ("times out", "*".join(f"(sin({i}x*y)+cos({i}y-x)+{i})" for i in range(1, 26))),
]


def measure(h, text: str, after: int = 5) -> dict:
    """Type ``text`` into ``h`` (an AppHarness), press Enter, run frames until it is on
    screen (or refused)."""
    ui = h.app.ui
    h.frame(3, dt=None)
    idle = list(h.frame_times[-3:])
    h.enter_expression(text)
    submit_ms = h.frame_times[-1] * 1e3
    began = time.perf_counter()
    start = len(h.frame_times)
    pending_frames = 0
    while ui.compiler.busy:
        h.frame(dt=None)
        pending_frames += 1
        if time.perf_counter() - began > 60:
            raise TimeoutError(f"compile of {text!r} still pending after 60 s")
    pending = h.frame_times[start:]
    derive_s = time.perf_counter() - began
    # The result is installed (and the new shaders compiled) by the next frame.
    surface_before = h.state.surface
    h.frame(dt=None)
    install_ms = h.frame_times[-1] * 1e3
    installed = h.state.surface is not surface_before
    h.frame(after, dt=None)
    idle_ms = statistics.median(idle) * 1e3
    after_ms = statistics.median(h.frame_times[-after:]) * 1e3
    pending_max_ms = max(pending, default=0.0) * 1e3
    return {
        "derive_s": derive_s,
        "pending_frames": pending_frames,
        "pending_max_ms": pending_max_ms,
        "pending_median_ms": statistics.median(pending) * 1e3 if pending else 0.0,
        "submit_ms": submit_ms,
        "install_ms": install_ms,
        "installed": installed,
        "error": ui.expression_error,
        "idle_ms": idle_ms,
        "after_ms": after_ms,
        # beyond an idle frame of the same picture: what the build cost the frame loop
        "stall_ms": max(max(submit_ms, pending_max_ms) - idle_ms, install_ms - after_ms),
        "pending_ms": [t * 1e3 for t in pending],
        "warm": repr(ui.compiler.warmer.last) if ui.compiler.warmer else "off",
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="800x600", help="window size WxH (800x600)")
    parser.add_argument("--samples", type=int, default=4, help="MSAA samples (4)")
    parser.add_argument("--limit", type=float, default=100.0, help="stall limit in ms (100)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    parser.add_argument(
        "--no-precompile",
        dest="precompile",
        action="store_false",
        help="compile shaders on the frame thread (the app before the helper)",
    )
    parser.add_argument(
        "--idle-frames", type=int, default=60, help="frames of the idle scene first (60)"
    )
    parser.add_argument(
        "--keep-shader-cache",
        action="store_true",
        help="use the user's driver shader cache instead of an empty one",
    )
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    if not args.keep_shader_cache:  # before any GL context: drivers read these at start
        cache = tempfile.mkdtemp(prefix="ge-shader-cache-")
        os.environ["MESA_SHADER_CACHE_DIR"] = cache
        os.environ["__GL_SHADER_DISK_CACHE_PATH"] = cache
    from harness import AppHarness  # imports GL

    h = AppHarness(size=(width, height), samples=args.samples, precompile=args.precompile)
    rows = []
    try:
        h.frame(10, dt=None)  # warm up: fonts, first programs
        h.frame(args.idle_frames, dt=None)
        idle = sorted(h.frame_times[-args.idle_frames :])
        idle_stats = {
            "median": statistics.median(idle) * 1e3,
            "p95": idle[int(0.95 * (len(idle) - 1))] * 1e3,
            "max": idle[-1] * 1e3,
        }
        print(
            f"idle scene, {len(idle)} frames: median {idle_stats['median']:.1f} ms, "
            f"95th percentile {idle_stats['p95']:.1f} ms, max {idle_stats['max']:.1f} ms",
            flush=True,
        )
        for label, text in EXPRESSIONS:
            row = {"label": label, **measure(h, text)}
            rows.append(row)
            print(
                f"{label:<13} derive+warm {row['derive_s']:6.2f} s  "
                f"pending frames {row['pending_frames']:4d}  "
                f"max {row['pending_max_ms']:6.1f} ms  median {row['pending_median_ms']:5.1f} ms  "
                f"| Enter {row['submit_ms']:5.1f} ms  install {row['install_ms']:6.1f} ms  "
                f"| idle {row['idle_ms']:5.1f} / {row['after_ms']:5.1f} ms  "
                f"stall {row['stall_ms']:6.1f} ms  "
                + ("installed" if row["installed"] else f"refused: {row['error'][:50]}"),
                flush=True,
            )
    finally:
        warmer = h.app.ui.compiler.warmer
        disabled = warmer.disabled if warmer is not None else "--no-precompile"
        error = h.close()
    pending_max = max(r["pending_max_ms"] for r in rows)
    submit_max = max(r["submit_ms"] for r in rows)
    install_max = max(r["install_ms"] for r in rows)
    stall_max = max(r["stall_ms"] for r in rows)
    pending_frames = sum(r["pending_frames"] for r in rows)
    during = sorted(t for r in rows for t in r["pending_ms"])
    print(
        f"\nidle scene: median {idle_stats['median']:.1f} ms, 95th percentile "
        f"{idle_stats['p95']:.1f} ms, max {idle_stats['max']:.1f} ms; while builds were "
        f"pending: median {statistics.median(during):.1f} ms, 95th percentile "
        f"{during[int(0.95 * (len(during) - 1))]:.1f} ms"
    )
    print(
        f"{pending_frames} frames while a build was pending: max {pending_max:.1f} ms; "
        f"Enter frame max {submit_max:.1f} ms; install frame max {install_max:.1f} ms; "
        f"idle frame median {statistics.median(r['idle_ms'] for r in rows):.1f} ms; "
        f"largest stall beyond idle {stall_max:.1f} ms; GL error state {error}; "
        f"precompile: {disabled or 'on'}"
    )
    if args.json:
        print(json.dumps(rows, indent=1))
    ok = stall_max <= args.limit and error == "GL_NO_ERROR"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
