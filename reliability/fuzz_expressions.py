"""Fuzz the typed-expression parser: valid, broken and hostile inputs, counted.

Every input must end in one of two ways: a parsed expression, or the project's own
one-line ExpressionError. Anything else (another exception, a multi-line message, a slow
refusal, a side effect) is a failure and is printed.

usage: python reliability/fuzz_expressions.py [--count 100000] [--seed 1] [--derive-every 200]
"""

from __future__ import annotations

import argparse
import builtins
import os
import random
import string
import sys
import tempfile
import time

from gradient_explorer.errors import ExpressionError
from gradient_explorer.surfaces.expressions import FUNCTIONS, parse_expression
from gradient_explorer.surfaces.surface import Surface

ATOMS = ["x", "y", "a", "b", "pi", "e", "2", "0.5", "3", "1e3", "10", "k", "t", "π", "x²", "y⁻¹"]
BINARY = ["+", "-", "*", "/", "^", "**", " ", "·", "×", "−", "|"]
HOSTILE = [
    "__import__('os')",
    "().__class__",
    "x.__dict__",
    "lambda: 0",
    "[i for i in x]",
    "eval",
    "exec",
    "open",
    "getattr",
    "globals()",
    "9^9^9",
    "10^400",
    "1e999",
    "(" * 60,
    ")" * 60,
    "x" * 2000,
    "\u0445",
    "\uff58",
    "\u200b",
    "\x00",
    "%",
    "@",
    "~",
    "if",
    "import",
    "z",
    "x[0]",
    "x.y",
    "{}",
    "'s'",
    '"s"',
    "#",
    ";",
    ":=",
    "\\",
    "\\frac",
    "\\left|",
    "\\import",
]


def random_expression(rng: random.Random, depth: int = 0) -> str:
    roll = rng.random()
    if depth > 4 or roll < 0.3:
        return rng.choice(ATOMS)
    if roll < 0.55:
        left, right = random_expression(rng, depth + 1), random_expression(rng, depth + 1)
        return f"{left}{rng.choice(BINARY)}{right}"
    inner = random_expression(rng, depth + 1)
    if roll < 0.8:
        name = rng.choice(list(FUNCTIONS))
        if FUNCTIONS[name][1] > 1:  # max, min, atan2
            return f"{name}({inner}, {random_expression(rng, depth + 1)})"
        form = rng.random()
        if form < 0.15:  # sin x
            return f"{name} {inner}"
        if form < 0.25:  # sin^2(x), sin² x
            return f"{name}{rng.choice(['^2', '²', '^{-1}', '⁻¹'])}({inner})"
        return f"{name}({inner})"
    return rng.choice(["({})", "|{}|", "{{{}}}"]).format(inner)


def mutate(rng: random.Random, text: str) -> str:
    choice = rng.random()
    if choice < 0.25 and text:  # delete a span
        i = rng.randrange(len(text))
        return text[:i] + text[i + rng.randint(1, 4) :]
    if choice < 0.5:  # insert a hostile fragment
        i = rng.randrange(len(text) + 1)
        return text[:i] + rng.choice(HOSTILE) + text[i:]
    if choice < 0.7:  # random printable noise
        i = rng.randrange(len(text) + 1)
        noise = "".join(rng.choice(string.printable) for _ in range(rng.randint(1, 6)))
        return text[:i] + noise + text[i:]
    if choice < 0.8:  # random unicode
        return text + chr(rng.randint(0x80, 0x2FFF))
    return text


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--derive-every",
        type=int,
        default=200,
        help="also derive (sympy, time-limited) every Nth parsed input",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    os.chdir(tempfile.mkdtemp(prefix="fuzz-expressions-"))  # to notice files written
    builtins_before = dict(vars(builtins))
    env_before = dict(os.environ)
    cwd_before = sorted(os.listdir("."))
    counts = {"parsed": 0, "refused": 0, "derived": 0, "derive_refused": 0}
    failures = []
    slowest = (0.0, "")
    start = time.perf_counter()
    for i in range(args.count):
        text = random_expression(rng)
        for _ in range(rng.randint(0, 3)):
            text = mutate(rng, text)
        t0 = time.perf_counter()
        try:
            parse_expression(text)
            counts["parsed"] += 1
            if args.derive_every and counts["parsed"] % args.derive_every == 0:
                try:
                    Surface.from_expr(text, timeout=5.0)
                    counts["derived"] += 1
                except ExpressionError:
                    counts["derive_refused"] += 1
        except ExpressionError as exc:
            counts["refused"] += 1
            if "\n" in str(exc):
                failures.append((text, f"multi-line error: {exc!r}"))
        except Exception as exc:  # anything else is a bug
            failures.append((text, f"{type(exc).__name__}: {exc}"))
        elapsed = time.perf_counter() - t0
        if elapsed > slowest[0]:
            slowest = (elapsed, text)
        if (i + 1) % 10_000 == 0:
            print(f"{i + 1:>8} inputs, {len(failures)} failures", file=sys.stderr)
    total = time.perf_counter() - start
    side_effects = []
    if dict(vars(builtins)) != builtins_before:
        side_effects.append("builtins changed")
    if dict(os.environ) != env_before:
        side_effects.append("environment changed")
    if sorted(os.listdir(".")) != cwd_before:
        side_effects.append("files appeared in the working directory")
    print(f"inputs            {args.count}")
    derived = f"derived {counts['derived']}, refused while deriving {counts['derive_refused']}"
    print(f"parsed            {counts['parsed']}  ({derived})")
    print(f"refused           {counts['refused']}")
    print(f"failures          {len(failures)}")
    print(f"side effects      {', '.join(side_effects) or 'none'}")
    print(f"slowest input     {slowest[0] * 1e3:.1f} ms ({slowest[1][:40]!r})")
    print(f"total             {total:.1f} s ({total / args.count * 1e6:.0f} us per input)")
    for text, why in failures[:20]:
        print(f"FAIL {text[:80]!r}: {why}")
    return 1 if failures or side_effects else 0


if __name__ == "__main__":
    sys.exit(main())
