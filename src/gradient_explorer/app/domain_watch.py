"""Balls that leave the surface's domain and come back (Newton's pure step on the banana
jumps past the picture's front edge at step 2 and lands back in the valley at step 3).

Nothing stops a ball at the domain's edge: f is defined beyond it and the optimizer's
step is the lesson. But the picture ends there, and its trail is cut at the edge, so the
run says so: a sentence when a ball leaves and when it comes back, and a note for the
legend. Only runs of a few balls (a race, shift-click drops) are watched; a swarm's
thousand balls would only fill the messages.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from gradient_explorer.view.formatting import format_number

__all__ = ["WATCHED_BALLS", "DomainWatch"]

WATCHED_BALLS = 20  # runs with more balls (swarms) are not watched


def _outside(positions: np.ndarray, box: np.ndarray, before: np.ndarray) -> np.ndarray:
    """Balls outside ``box`` (rows: (lo, hi) per coordinate); a ball whose position is not
    finite (diverged) keeps its ``before`` state: it did not come back."""
    p = np.asarray(positions, dtype=np.float64)
    finite = np.all(np.isfinite(p), axis=1)
    with np.errstate(invalid="ignore"):
        out = np.any((p < box[:, 0]) | (p > box[:, 1]), axis=1)
    return np.where(finite, out, before)


class DomainWatch:
    """Per run and ball: outside the domain now, and the steps at which it left and came
    back (``trips[i][j]``: a list of ``[left, back]``, ``back`` None while still out)."""

    def __init__(self) -> None:
        self.box: np.ndarray | None = None
        self.outside: list[np.ndarray] = []
        self.trips: list[dict[int, list[list]]] = []

    def reset(self, descents: Sequence, surface) -> None:
        """Start watching ``descents`` on ``surface`` (balls outside at their start count
        as out since step 0, with no sentence)."""
        self.box, self.outside, self.trips = None, [], []
        domain = getattr(surface, "domain", None)
        if domain is None or not descents:
            return
        box = np.asarray(domain, dtype=np.float64).reshape(-1, 2)
        if box.shape[0] != np.asarray(descents[0].positions).shape[1]:
            return
        self.box = box
        for d in descents:
            watched = d.n <= WATCHED_BALLS
            out = _outside(d.positions, box, np.zeros(d.n, dtype=bool)) if watched else None
            self.outside.append(out)
            self.trips.append({int(j): [[0, None]] for j in np.flatnonzero(out)} if watched else {})

    def update(self, descents: Sequence, name: Callable[[int, int], str]) -> list[str]:
        """After a step: the sentences for balls that left or came back."""
        if self.box is None or len(descents) != len(self.outside):
            return []
        said = []
        for i, d in enumerate(descents):
            was = self.outside[i]
            if was is None or d.n > WATCHED_BALLS:
                continue
            if len(was) < d.n:  # balls dropped since: they start inside the picture
                was = np.concatenate([was, np.zeros(d.n - len(was), dtype=bool)])
            now = _outside(d.positions, self.box, was)
            for j in np.flatnonzero(now != was):
                j, step = int(j), int(d.steps[j])
                trips = self.trips[i].setdefault(j, [])
                if now[j]:
                    trips.append([step, None])
                    where = ", ".join(format_number(v, ".3g") for v in d.positions[j])
                    said.append(
                        f"{name(i, j)} left the domain at step {step}, to ({where}): "
                        "its trail stops at the edge"
                    )
                else:
                    if trips and trips[-1][1] is None:
                        trips[-1][1] = step
                    said.append(f"{name(i, j)} came back into the domain at step {step}")
            self.outside[i] = now
        return said

    def state_dict(self) -> dict:
        """The trips so far, per run: ``{"trips": [[[ball, left, back], ...], ...]}``
        (``back`` None while out); where each ball is now comes from its position."""
        return {
            "trips": [
                [[j, left, back] for j, trips in sorted(run.items()) for left, back in trips]
                for run in self.trips
            ]
        }

    def load_state_dict(self, state: dict, descents: Sequence, surface) -> None:
        """Watch ``descents`` on ``surface`` again with the trips of :meth:`state_dict`;
        checked whole first (a bad one raises ValueError naming what)."""
        trips = state.get("trips") if isinstance(state, dict) else None
        if not isinstance(trips, list) or len(trips) != len(descents):
            raise ValueError("'trips' must be a list with one entry per run")
        runs: list[dict[int, list[list]]] = []
        for i, (entries, d) in enumerate(zip(trips, descents, strict=True)):
            if not isinstance(entries, list) or len(entries) > 100 * WATCHED_BALLS:
                raise ValueError(f"'trips'[{i}] must be a list of [ball, left, back]")
            run: dict[int, list[list]] = {}
            for entry in entries:
                ok = isinstance(entry, list | tuple) and len(entry) == 3
                ball, left, back = entry if ok else (None, None, None)
                ints = all(isinstance(v, int) and not isinstance(v, bool) for v in (ball, left))
                ok = ok and ints and 0 <= ball < d.n and 0 <= left <= int(d.steps.max())
                ok = ok and (back is None or (isinstance(back, int) and left <= back))
                if not ok:
                    raise ValueError(f"'trips'[{i}] holds a bad entry {str(entry)[:60]}")
                run.setdefault(ball, []).append([left, back])
            runs.append(run)
        self.reset(descents, surface)
        for i, run in enumerate(runs):
            if i < len(self.outside) and self.outside[i] is not None:
                self.trips[i] = run

    def note(self, i: int, j: int = 0) -> str:
        """For the legend: ``"left the domain at step 2, back at 3"``, or ``""``."""
        if i >= len(self.trips):
            return ""
        trips = self.trips[i].get(j, [])
        if not trips:
            return ""
        left, back = trips[-1]
        if back is None:
            return f"out of the domain since step {left}"
        if len(trips) == 1:
            return f"left the domain at step {left}, back at {back}"
        return f"left the domain {len(trips)} times, last at step {left}, back at {back}"
