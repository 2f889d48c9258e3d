"""Fuzz session files: mutations of a valid saved session, loaded into a live state.

A valid session (a typed surface with a parameter, the point, a race in progress) is
saved, then mutated by hypothesis: keys dropped, values replaced by other types, NaN and
Infinity tokens, huge numbers, duplicate keys, truncation, hostile expressions, a 10 MB
file. A second pass starts from sessions with runs in progress (a race, a swarm with
momentum, balls on a curve) and mutates the keys of ``descent.run`` one at a time:
dropped, emptied, set to null or to a value of another type. Each input must end one of
two ways: it loads (and saves again, and its run steps), or it is refused with the
project's one-line SessionError and the state it was loaded into is unchanged.
Anything else (another exception, a multi-line message, a changed state after a refusal)
is a failure and is printed. An interrupted save must leave the old file whole.

usage: python reliability/fuzz_sessions.py [--examples 5000] [--nested N] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# hypothesis keeps a .hypothesis folder in the working directory: put it out of the way.
os.environ.setdefault(
    "HYPOTHESIS_STORAGE_DIRECTORY", os.path.join(tempfile.gettempdir(), "ge-fuzz-hypothesis")
)

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from gradient_explorer.app.session import apply_session, save_session, session_to_dict
from gradient_explorer.app.state import AppState
from gradient_explorer.errors import SessionError
from gradient_explorer.surfaces.surface import Surface

HOSTILE = [
    "__import__('os').system('true')",
    "().__class__.__bases__",
    "x.__dict__",
    "lambda: 0",
    "9^9^9",
    "10^400",
    "exp(10^9*log(3))",
    "(" * 60 + "x" + ")" * 60,
    "x" * 3000,
    "z + x",
    "\x00",
    "sin(x",
    "",
]
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
NUMBER_TOKENS = ["NaN", "Infinity", "-Infinity", "1e400", "-1e999", "1" + "0" * 40, "1e308", "-0"]


def valid_session() -> dict:
    state = AppState.for_surface(Surface.from_expr("a*x^2 - y^2"))
    state.point = (0.5, 0.5)
    ds = state.descent
    ds.kind = "race"
    ds.start_run(state.surface, (1.0, 1.0))
    ds.step(5)
    return session_to_dict(state)


def sessions_with_balls() -> list[dict]:
    """Runs in progress of every kind, for the nested mutations of ``descent.run``."""
    out = [valid_session()]
    swarm = AppState.for_surface(Surface.named("banana"))
    ds = swarm.descent
    ds.kind, ds.optimizer, ds.swarm_size = "swarm", "sgd", 6
    ds.hyper["sgd"]["momentum"] = 0.9
    ds.start_run(swarm.surface)
    ds.step(3)
    out.append(session_to_dict(swarm))
    curve = AppState.for_surface(Surface.from_expr("x^4 - 2*x^2", dim=1))
    ds = curve.descent
    ds.optimizer = "rmsprop"
    ds.hyper["rmsprop"].update(centered=True, momentum=0.5)
    ds.start_run(curve.surface, (0.2,))
    ds.drop_ball(curve.surface, (-1.5,))
    ds.step(4)
    out.append(session_to_dict(curve))
    return out


def _empty(value):
    """The empty value of the same type: [] for a list, {} for an object, 0 for a number."""
    return {list: [], dict: {}, str: "", int: 0, float: 0.0, bool: False}.get(type(value))


@st.composite
def nested(draw, bases: list[dict]) -> tuple[str, str]:
    """One key (or item) inside ``descent.run`` dropped, emptied or retyped."""
    data = json.loads(json.dumps(draw(st.sampled_from(bases))))
    run = ("descent", "run")
    paths = [p for p, _ in _paths(data) if len(p) > 2 and p[:2] == run]
    # keys of objects, not every number of a trail: drop/empty/retype what the loader reads
    paths = [p for p in paths if isinstance(p[-1], str) or len(p) <= 5]
    path = draw(st.sampled_from(paths))
    node = data
    for key in path:
        node = node[key]
    op = draw(st.sampled_from(["drop", "empty", "retype", "null"]))
    if op == "drop":  # a key, or a list item (the list is one shorter)
        _drop(data, path)
    elif op == "empty":
        _set(data, path, _empty(node))
    elif op == "null":
        _set(data, path, None)
    else:
        kind = type(node)
        _set(data, path, draw(JSON_VALUES.filter(lambda v: type(v) is not kind)))
    return f"nested {op}", json.dumps(data)


def _paths(value, prefix=()):
    """Every (path, value) in a JSON value, containers included."""
    yield prefix, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, (*prefix, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, (*prefix, i))


def _set(root, path, value):
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _drop(root, path):
    node = root
    for key in path[:-1]:
        node = node[key]
    del node[path[-1]]


@st.composite
def mutated(draw, base: dict) -> tuple[str, str]:
    """(kind, text) of one mutated session."""
    data = json.loads(json.dumps(base))
    paths = [p for p, _ in _paths(data) if p]
    kind = draw(
        st.sampled_from(
            ["drop", "type", "token", "duplicate", "truncate", "expression", "several", "bytes"]
        )
    )
    if kind in ("drop", "several"):
        for _ in range(draw(st.integers(1, 3))):
            keys = [p for p, _ in _paths(data) if p and isinstance(p[-1], str)]
            if keys:
                _drop(data, draw(st.sampled_from(keys)))
    if kind in ("type", "several"):
        for _ in range(draw(st.integers(1, 3))):
            paths = [p for p, _ in _paths(data) if p]
            _set(data, draw(st.sampled_from(paths)), draw(JSON_VALUES))
    if kind == "expression":
        data["surface"]["source"] = "expression"
        data["surface"]["expression"] = draw(st.sampled_from(HOSTILE) | st.text(max_size=40))
        data["surface"].pop("name", None)
    text = json.dumps(data)
    if kind == "token":
        numbers = [p for p, v in _paths(data) if isinstance(v, float) and p]
        path = draw(st.sampled_from(numbers))
        _set(data, path, "@@TOKEN@@")
        text = json.dumps(data).replace('"@@TOKEN@@"', draw(st.sampled_from(NUMBER_TOKENS)))
    elif kind == "duplicate":
        objects = [p for p, v in _paths(data) if isinstance(v, dict) and v]
        path = draw(st.sampled_from(objects or [()]))
        node = data
        for key in path:
            node = node[key]
        key = draw(st.sampled_from(sorted(node)))
        _set(data, (*path, key), "@@DUP@@")
        dup = f"{json.dumps(key)}: {json.dumps(draw(JSON_VALUES))}, {json.dumps(key)}"
        text = json.dumps(data).replace(f'{json.dumps(key)}: "@@DUP@@"', f"{dup}: 1", 1)
    elif kind == "truncate":
        text = text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    elif kind == "bytes":
        at = draw(st.integers(0, len(text)))
        text = (
            text[:at]
            + draw(st.sampled_from(["\x00", "\ufffd", "\ud800", "}", "]]", ","]))
            + text[at:]
        )
    return kind, text


def use_run(state) -> None:
    """What the window does with a loaded run: step it, explain a step, draw its panel."""
    ds = state.descent
    if not ds.active:
        return
    ds.step(2)
    ds.step_by_step = True
    ds.next_phase()
    ds.current_phase()
    ds.step_by_step = False
    ds.ball_report()
    ds.summary()
    ds.divergence_warning()
    for i, d in enumerate(ds.descents):
        ds.last_steps(i)
        d.optimizer.glyphs()
        d.trails()
    assert ds.history.shape[1] == len(ds.descents)


class Run:
    """Loads inputs into one live state and counts what happened."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.state = AppState.for_surface(Surface.named("saddle"))
        self.counts: Counter = Counter()
        self.failures: list[str] = []
        self.slowest = 0.0

    def snapshot(self) -> str:
        return json.dumps(session_to_dict(self.state), sort_keys=True)

    def check(self, kind: str, payload: str | bytes) -> None:
        path = self.folder / "fuzz.json"
        data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else payload
        path.write_bytes(data)
        before = self.snapshot()
        began = time.perf_counter()
        try:
            apply_session(self.state, path)
        except SessionError as exc:
            message = str(exc)
            if "\n" in message or not message.startswith("session "):
                self.fail(kind, payload, f"message not one line: {message!r}")
            if self.snapshot() != before:
                self.fail(kind, payload, f"state changed after refusal: {message}")
            self.counts[f"{kind}: refused"] += 1
        except Exception as exc:  # the point of the fuzzer: anything else is a bug
            where = exc.__traceback__
            while where.tb_next is not None:
                where = where.tb_next
            line = f"{where.tb_frame.f_code.co_filename.split('/')[-1]}:{where.tb_lineno}"
            self.fail(kind, payload, f"{type(exc).__name__}: {exc} (at {line})")
        else:
            self.counts[f"{kind}: loaded"] += 1
            try:
                save_session(self.state, self.folder / "again.json")  # and it saves again
                use_run(self.state)
            except Exception as exc:  # a file that loads must also work
                self.fail(kind, payload, f"after loading: {type(exc).__name__}: {exc}")
        self.slowest = max(self.slowest, time.perf_counter() - began)

    def fail(self, kind: str, payload, why: str) -> None:
        self.counts["failures"] += 1
        if len(self.failures) < 20:
            self.failures.append(f"[{kind}] {why}\n    input: {str(payload)[:300]!r}")


def interrupted_save(folder: Path) -> bool:
    """A save that dies before the rename leaves the old file whole and no temp file."""
    path = folder / "keep.json"
    state = AppState.for_surface(Surface.named("banana"))
    save_session(state, path)
    old = path.read_bytes()
    state.point = (0.25, 0.5)
    real = os.fsync

    def dies(fd):
        raise KeyboardInterrupt  # the user pressed Ctrl+C mid-save

    os.fsync = dies
    try:
        save_session(state, path)
    except KeyboardInterrupt:
        pass
    finally:
        os.fsync = real
    leftovers = [p for p in folder.iterdir() if p.name.startswith(".keep.json")]
    return path.read_bytes() == old and not leftovers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--nested", type=int, default=None, help="nested run mutations (default: --examples)"
    )
    args = parser.parse_args(argv)
    if args.nested is None:
        args.nested = args.examples
    base = valid_session()
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        run = Run(Path(tmp))
        run.check("valid", json.dumps(base))
        big = dict(base, padding=" " * (10 * 2**20))
        run.check("10 MB", json.dumps(big))
        run.check("10 MB whitespace", json.dumps(base) + " " * (10 * 2**20))
        run.check("deep", "[" * 100_000 + "]" * 100_000)
        run.check("not UTF-8", b"\xff\xfe" + json.dumps(base).encode())

        @seed(args.seed)
        @settings(
            max_examples=args.examples,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(mutated(base))
        def fuzz(case):
            run.check(*case)

        fuzz()
        bases = sessions_with_balls()
        for i, b in enumerate(bases):
            run.check(f"valid run {i}", json.dumps(b))

        @seed(args.seed)
        @settings(
            max_examples=max(args.nested, 1),
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(nested(bases))
        def fuzz_nested(case):
            run.check(*case)

        if args.nested > 0:
            fuzz_nested()
        interrupted_ok = interrupted_save(Path(tmp))
    total = sum(v for k, v in run.counts.items() if k != "failures")
    print(f"inputs            {total}")
    for key in sorted(run.counts):
        if key != "failures":
            print(f"  {key:<24}{run.counts[key]}")
    print(f"slowest input     {run.slowest:.2f} s")
    print(f"interrupted save  {'old file kept' if interrupted_ok else 'OLD FILE LOST'}")
    print(f"failures          {run.counts['failures']}")
    print(f"time              {time.perf_counter() - began:.0f} s")
    for line in run.failures:
        print(line)
    return 0 if run.counts["failures"] == 0 and interrupted_ok else 1


if __name__ == "__main__":
    sys.exit(main())
