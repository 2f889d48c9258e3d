"""Frame times while typed expressions are checked and compiled, in the headless app.

Each expression is typed into the expression field and Enter is pressed, as a person
would; frames keep running (real time) until the new surface is on screen, and each
frame's wall time (``on_render`` plus ``ctx.finish()``) is recorded. The derivation runs
off the frame thread (a worker thread waiting on a forked child), so frames while it is
pending should cost what an idle frame costs; the frame that installs the new surface
also compiles its shaders (GL work, on the frame thread) and is reported apart.

usage: python reliability/frame_stalls.py [--size 800x600] [--samples 4] [--json]

Exit status 1 if a frame while a compile was pending took longer than ``--limit`` ms.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time

from harness import AppHarness

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
    ("times out", "*".join(f"(sin({i}x)+cos({i}y)+{i})" for i in range(1, 25))),
]


def measure(h: AppHarness, text: str, after: int = 5) -> dict:
    """Type ``text``, press Enter, run frames until it is on screen (or refused)."""
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
    return {
        "derive_s": derive_s,
        "pending_frames": pending_frames,
        "pending_max_ms": max(pending, default=0.0) * 1e3,
        "pending_median_ms": statistics.median(pending) * 1e3 if pending else 0.0,
        "submit_ms": submit_ms,
        "install_ms": install_ms,
        "installed": installed,
        "error": ui.expression_error,
        "idle_ms": statistics.median(idle) * 1e3,
        "after_max_ms": max(h.frame_times[-after:]) * 1e3,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="800x600", help="window size WxH (800x600)")
    parser.add_argument("--samples", type=int, default=4, help="MSAA samples (4)")
    parser.add_argument("--limit", type=float, default=100.0, help="stall limit in ms (100)")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON too")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))

    h = AppHarness(size=(width, height), samples=args.samples)
    rows = []
    try:
        h.frame(10, dt=None)  # warm up: fonts, first programs
        for label, text in EXPRESSIONS:
            row = {"label": label, **measure(h, text)}
            rows.append(row)
            print(
                f"{label:<13} derive {row['derive_s']:6.2f} s  "
                f"pending frames {row['pending_frames']:4d}  "
                f"max {row['pending_max_ms']:6.1f} ms  median {row['pending_median_ms']:5.1f} ms  "
                f"| submit {row['submit_ms']:5.1f} ms  install {row['install_ms']:6.1f} ms  "
                f"| idle {row['idle_ms']:5.1f} ms  "
                + ("installed" if row["installed"] else f"refused: {row['error'][:50]}"),
                flush=True,
            )
    finally:
        error = h.close()
    pending_max = max(r["pending_max_ms"] for r in rows)
    submit_max = max(r["submit_ms"] for r in rows)
    install_max = max(r["install_ms"] for r in rows)
    pending_frames = sum(r["pending_frames"] for r in rows)
    print(
        f"\n{pending_frames} frames while a compile was pending: max {pending_max:.1f} ms; "
        f"Enter frame max {submit_max:.1f} ms; install frame (shader compile) max "
        f"{install_max:.1f} ms; idle frame median "
        f"{statistics.median(r['idle_ms'] for r in rows):.1f} ms; GL error state {error}"
    )
    if args.json:
        print(json.dumps(rows, indent=1))
    ok = pending_max <= args.limit and submit_max <= args.limit and error == "GL_NO_ERROR"
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
