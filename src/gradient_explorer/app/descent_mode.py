"""Balls rolling downhill, as the app runs them: play, step, race, swarm, step-by-step.

:class:`DescentState` is what the descent panel edits and the balls visual reads; it has
no GL. It owns the active :class:`~gradient_explorer.optim.descent.Descent` objects (one for a
single optimizer, one per racer for a race, one big one for a swarm), turns frame time
into steps (``steps_per_second``), keeps the f-versus-step history for the race plot, and
writes the sentences the panel shows ("ball 3 converged at step 142", "adam diverged at
step 12: try a smaller lr").

Step-by-step mode pauses inside one update: :meth:`DescentState.next_phase` first takes
the update on a copy of each optimizer (``step_explained``) to show its phases one at a
time (gradient, momentum, rescaling, step), and only after the last phase moves the
balls for real. The copy and the real step start from the same state, so what is shown
is what happens.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from gradient_explorer.app.domain_watch import DomainWatch
from gradient_explorer.errors import UsageError, check_state_keys
from gradient_explorer.optim.descent import (
    CONVERGED,
    DIVERGED,
    RUNNING,
    Descent,
    first_ball_diverged,
    race_row,
)
from gradient_explorer.optim.optimizers import OPTIMIZERS, Phase, make_optimizer
from gradient_explorer.optim.schedules import parse_schedule
from gradient_explorer.render.palette import RACER_COLORS, basin_color

__all__ = [
    "KINDS",
    "MAX_SWARM",
    "PALETTE",
    "DescentState",
    "GlyphOptions",
    "PhaseView",
    "assign_basins",
]

KINDS = ("single", "race", "swarm")
MAX_SWARM = 10_000
MAX_HISTORY = 20_000
#: A run loaded without its history gets one of at most this many rows (NaN up to the
#: balls' step, then f now), so that saving it again stays small.
MAX_REBUILT_HISTORY = 5_000
MAX_STEPS_PER_FRAME = 500

PALETTE = RACER_COLORS  # racer colours, in legend order (the palette module's)


BASIN_CLUSTER = 0.02  # converged balls this close (x the domain's extent) share a minimum
BASIN_REACH = 0.1  # a ball this close to a minimum (x the extent) is counted in its basin
UNDECIDED, DIVERGED_BASIN = -1, -2


def _catalogue_minima(surface) -> np.ndarray:
    """The catalogue's minima that lie in the domain (none for a typed surface)."""
    try:
        points = [p for p, kind in surface.critical_points if kind == "minimum"]
    except Exception:  # a parameter value where a listed point is undefined
        points = []
    inside = [
        p
        for p in points
        if np.all(np.isfinite(p))
        and all(lo <= v <= hi for v, (lo, hi) in zip(p, surface.domain, strict=True))
    ]
    if not inside:
        return np.zeros((0, surface.dim))
    return np.array(inside, dtype=np.float64)


def _add_clusters(minima: np.ndarray, points: np.ndarray, radius: float) -> np.ndarray:
    """``minima`` plus one new entry per cluster of ``points`` farther than ``radius``."""
    points = points[np.all(np.isfinite(points), axis=1)]
    if len(minima):
        near = np.min(np.linalg.norm(points[:, None] - minima[None], axis=2), axis=1)
        points = points[near > radius]
    new = []
    while len(points) and len(minima) + len(new) < 64:
        seed = points[0]
        close = np.linalg.norm(points - seed, axis=1) <= radius
        new.append(points[close].mean(axis=0))
        points = points[~close]
    return np.vstack([minima, *new]) if new else minima


def _drop_non_minima(surface, points: np.ndarray, first: int) -> np.ndarray:
    """``points`` less those from ``first`` on that are saddles or maxima (a ball that
    starts on a ridge line stops on the saddle: no basin is there)."""
    if len(points) <= first:
        return points
    kinds = np.atleast_1d(surface.classify(points[first:], tol=1e-3))
    keep = np.array([k not in ("saddle", "maximum") for k in kinds], dtype=bool)
    return np.vstack([points[:first], points[first:][keep]])


def assign_basins(minima, positions, status_codes, extent: float) -> np.ndarray:
    """Per ball: the index of the nearest of ``minima`` within reach, else -1; -2 diverged.

    The reach is ``BASIN_REACH * extent``, and never more than half the distance from a
    minimum to its nearest neighbour (so two basins' reaches never overlap).
    """
    positions = np.asarray(positions, dtype=np.float64)
    out = np.full(len(positions), UNDECIDED, dtype=np.int64)
    minima = np.asarray(minima, dtype=np.float64).reshape(-1, positions.shape[1])
    if len(minima):
        reach = np.full(len(minima), BASIN_REACH * extent)
        if len(minima) > 1:
            gaps = np.linalg.norm(minima[:, None] - minima[None], axis=2)
            np.fill_diagonal(gaps, np.inf)
            reach = np.minimum(reach, 0.5 * gaps.min(axis=1))
        with np.errstate(invalid="ignore"):
            dist = np.linalg.norm(positions[:, None] - minima[None], axis=2)
        dist = np.where(np.isfinite(dist), dist, np.inf)
        nearest = np.argmin(dist, axis=1)
        within = dist[np.arange(len(positions)), nearest] <= reach[nearest]
        out[within] = nearest[within]
    out[np.asarray(status_codes) == DIVERGED] = DIVERGED_BASIN
    return out


def teaching_key(surface) -> str:
    """What identifies a surface for its teaching defaults: its name and formula."""
    return f"{surface.name}\n{surface.formula()}"


def _default_hyper() -> dict[str, dict[str, Any]]:
    return {name: dict(spec.defaults) for name, spec in OPTIMIZERS.items()}


@dataclass
class GlyphOptions:
    """What is drawn at each ball besides the ball (the panel's toggles)."""

    trails: bool = True
    floor_trails: bool = True
    gradient: bool = False  # x and y components of the gradient, as two arrows
    momentum: bool = False  # the velocity / first moment
    step: bool = False  # the step actually taken
    second_moment: bool = False  # rectangles with sides sqrt(accumulator)


@dataclass(frozen=True)
class PhaseView:
    """One phase of the paused update: its name, the sentence, and per-descent vectors.

    ``vectors[i]`` is ``(n_running, dim)`` for descent ``i`` (None where it has fewer
    phases), ``indices[i]`` the balls those rows belong to.
    """

    index: int
    count: int
    name: str
    sentence: str
    vectors: list[np.ndarray | None]
    indices: list[np.ndarray]


@dataclass
class DescentState:
    """The descent panel's settings and the runs they started.

    Attributes
    ----------
    kind : str
        ``"single"`` (one optimizer, any number of dropped balls), ``"race"`` (each checked
        optimizer from one start) or ``"swarm"`` (``swarm_size`` balls spread over the
        domain).
    optimizer : str
        The optimizer for single and swarm runs (an :data:`OPTIMIZERS` key).
    hyper : dict
        Hyperparameters per optimizer, by torch's names.
    race : list of str
        The optimizers that race.
    """

    kind: str = "single"
    optimizer: str = "adam"
    hyper: dict[str, dict[str, Any]] = field(default_factory=_default_hyper)
    race: list[str] = field(default_factory=lambda: ["gd", "sgd", "rmsprop", "adam"])
    swarm_size: int = 1000
    swarm_grid: bool = False
    seed: int = 0
    start: tuple[float, float] | None = None
    playing: bool = False
    steps_per_second: float = 30.0
    step_by_step: bool = False
    tol: float = 1e-6
    schedule: str = "constant"  # a learning-rate schedule spec for every run
    glyphs: GlyphOptions = field(default_factory=GlyphOptions)
    teaching_for: str | None = None  # the surface whose teaching defaults are adopted
    # -- runtime (rebuilt by start_run) --
    descents: list[Descent] = field(default_factory=list)
    names: list[str] = field(default_factory=list)
    optimizer_names: list[str] = field(default_factory=list)
    colors: list[tuple[float, float, float]] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)
    surface: Any = None
    _history: list[list[float]] = field(default_factory=list, repr=False)
    _lr_history: list[list[float]] = field(default_factory=list, repr=False)
    _accum: float = 0.0
    _reported: list[np.ndarray] = field(default_factory=list, repr=False)
    _previous: list[np.ndarray] = field(default_factory=list, repr=False)
    _phases: list[list[Phase]] | None = field(default=None, repr=False)
    _phase_active: list[np.ndarray] = field(default_factory=list, repr=False)
    phase_index: int = 0
    _minima: np.ndarray | None = field(default=None, repr=False)
    # Converged balls already clustered into _minima (per run): a resting ball stays put,
    # so each is clustered once. _basins: (fingerprint, per-run basins) for this step.
    _clustered: list = field(default_factory=list, repr=False)
    _basins: tuple = field(default=(None, None), repr=False)
    # balls that leave the domain and come back (DomainWatch): said, and noted in the legend
    _watch: DomainWatch = field(default_factory=DomainWatch, repr=False)

    # ------------------------------------------------------------------ building

    @property
    def active(self) -> bool:
        """True once a run exists (balls to draw)."""
        return bool(self.descents)

    def adopt_teaching(self, surface) -> bool:
        """On a new surface, take its teaching defaults: the start (cleared, so that the
        next run starts from the teaching start) and each optimizer's lr and momentum
        (torch's default where the surface names none). The same surface again changes
        nothing, so values the user set stay. Returns True if it adopted them."""
        key = teaching_key(surface)
        if key == self.teaching_for:
            return False
        self.teaching_for = key
        self.start = None
        teaching = surface.teaching
        for name, spec in OPTIMIZERS.items():
            for hp in ("lr", "momentum"):
                if hp in spec.defaults:
                    self.hyper[name][hp] = spec.defaults[hp]
            self.hyper[name].update(teaching.hyper(name))
        return True

    def start_run(self, surface, start=None) -> None:
        """Build the run for ``kind`` on ``surface``; ``start`` for single and race
        (default: the surface's teaching start)."""
        if self.kind not in KINDS:
            raise UsageError(f"kind must be one of {', '.join(KINDS)}")
        if start is not None:
            self.start = tuple(float(v) for v in np.atleast_1d(start))
        if self.start is None or len(self.start) != surface.dim:
            self.start = tuple(float(v) for v in surface.teaching.start)
        self.surface = surface
        self.descents, self.names, self.optimizer_names, self.colors = [], [], [], []
        if self.kind == "race":
            if not self.race:
                raise UsageError("check at least one optimizer to race")
            for i, name in enumerate(self.race):
                self._add(surface, name, np.array([self.start]), PALETTE[i % len(PALETTE)])
        elif self.kind == "swarm":
            n = int(min(max(self.swarm_size, 1), MAX_SWARM))
            opt = make_optimizer(self.optimizer, **self.hyper[self.optimizer])
            d = Descent.swarm(surface, opt, n, self.seed, grid=self.swarm_grid,
                              schedule=self._spec(),
                              tol=self.tol, trail_length=48)  # fmt: skip
            self._register(d, self.optimizer, self.optimizer, PALETTE[0])
        else:
            self._add(surface, self.optimizer, np.array([self.start]), PALETTE[0])
        self._restart_bookkeeping()

    def _add(self, surface, name: str, points: np.ndarray, color) -> None:
        opt = make_optimizer(name, **self.hyper[name])
        d = Descent(surface, opt, points, tol=self.tol, schedule=self._spec())
        label = name
        if label in self.names:
            label = f"{name} #{self.optimizer_names.count(name) + 1}"
        self._register(d, label, name, color)

    def _spec(self) -> str | None:
        return None if self.schedule == "constant" else self.schedule

    def set_schedule(self, spec: str) -> str | None:
        """Use the learning-rate schedule ``spec`` (``constant``, ``step:100:0.5``, ...)
        for every run, counted from the next step. Returns None, or the refusal as a
        sentence (the old schedule is then kept)."""
        try:
            parse_schedule(spec)
        except UsageError as exc:
            return str(exc)
        self.schedule = spec.strip() or "constant"
        for d in self.descents:
            d.set_schedule(self._spec())
        self._phases = None
        return None

    @property
    def lr_history(self) -> np.ndarray:
        """The rate each run's step used: ``(steps, n_runs)`` (row k: step k + 1)."""
        return _rows_array(self, "_lr_history", len(self.descents))

    def _register(self, d: Descent, label: str, name: str, color) -> None:
        self.descents.append(d)
        self.names.append(label)
        self.optimizer_names.append(name)
        self.colors.append(tuple(color))

    def _restart_bookkeeping(self) -> None:
        self._minima, self._clustered, self._basins = None, [], (None, None)
        self._history = [race_row(self.descents)]
        self._lr_history = []
        self._accum = 0.0
        self.messages = []
        self._reported = [d.status_codes.copy() for d in self.descents]
        self._previous = [d.positions.copy() for d in self.descents]
        self._phases = None
        self.phase_index = 0
        self._watch.reset(self.descents, self.surface)
        # balls that start in a hole are reported at once
        self._collect_messages(initial=True)

    def clear(self) -> None:
        """Remove every ball."""
        self.descents, self.names, self.optimizer_names, self.colors = [], [], [], []
        self._history, self.messages = [], []
        self._lr_history = []
        self._phases = None
        self._watch.reset([], None)
        self.playing = False

    def reset(self) -> None:
        """Every ball back to its start with fresh optimizer state."""
        for d in self.descents:
            d.reset()
        self._restart_bookkeeping()

    def drop_ball(self, surface, xy) -> None:
        """Shift+click: a ball at ``xy``.

        Single: add a ball to the run (a new run on a new surface); race: restart the
        race from ``xy``; swarm: add one ball to the swarm.
        """
        xy = tuple(float(v) for v in np.atleast_1d(xy))
        if not self.active or self.surface is not surface or self.kind == "race":
            self.start_run(surface, xy)
            return
        d = self.descents[0]
        if d.n >= MAX_SWARM:
            return
        d.add_ball(np.array(xy))
        self._reported[0] = np.append(self._reported[0], np.int8(RUNNING))
        self._previous[0] = d.positions.copy()
        self._phases = None
        self._collect_messages()

    def set_hyper(self, optimizer: str, name: str, value) -> str | None:
        """Set one hyperparameter (torch's name); runs that use it go on with it.

        As when a torch ``param_group``'s lr is changed: the balls keep their positions,
        trails and optimizer state, and the next step uses the new value
        (:meth:`Optimizer.set_hyper`). Returns None, or the refusal as a sentence (the
        value is then not kept).
        """
        trial = {**self.hyper[optimizer], name: value}
        try:
            make_optimizer(optimizer, **trial)
        except UsageError as exc:
            return str(exc)
        self.hyper[optimizer] = trial
        for i, used in enumerate(self.optimizer_names):
            if used == optimizer:
                self.descents[i].optimizer.set_hyper(**trial)
                if name == "lr":
                    self.descents[i].rebase_schedule()
                self._phases = None  # a paused step-by-step update used the old values
        return None

    # ------------------------------------------------------------------ saving

    #: The panel's settings in :meth:`state_dict` (public fields of the same names).
    SETTINGS = (
        "kind", "optimizer", "hyper", "race", "swarm_size", "swarm_grid", "seed", "start",
        "playing", "steps_per_second", "step_by_step", "tol", "glyphs", "schedule",
    )  # fmt: skip
    RUN_ENTRY_KEYS = ("optimizer", "label", "color", "hyper", "tol", "trail_length",
                      "previous", "descent")  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """The settings and the run in progress, in the manner of torch.optim (copies).

        ``run`` is None without balls, else ``{"runs": [...], "history": (rows, runs)
        array, "messages": [...], "accum": float}``; each run holds its ``optimizer``
        name, ``label``, ``color``, ``hyper``, ``tol``, ``trail_length``, ``previous``
        positions (for the step glyph) and ``descent`` (:meth:`Descent.state_dict`).
        The run belongs to :attr:`surface`, which the dict does not hold.
        """
        out: dict[str, Any] = {key: copy.deepcopy(getattr(self, key)) for key in self.SETTINGS}
        out["glyphs"] = dict(vars(self.glyphs))
        out["run"] = None
        if self.active:
            runs = [
                {
                    "optimizer": self.optimizer_names[i],
                    "label": self.names[i],
                    "color": tuple(self.colors[i]),
                    # the base rate: the optimizer holds the scheduled one mid-run
                    "hyper": {**d.optimizer.hyper, "lr": d.schedule.base_lr}
                    if d.schedule is not None
                    else dict(d.optimizer.hyper),
                    "tol": d.tol,
                    "trail_length": d.trail_length,
                    "previous": self._previous[i].copy(),
                    "descent": d.state_dict(),
                }
                for i, d in enumerate(self.descents)
            ]
            out["run"] = {
                "runs": runs,
                "history": self.history,
                "messages": list(self.messages),
                "accum": float(self._accum),
                "domain": self._watch.state_dict(),
            }
        return out

    def load_state_dict(self, state_dict: dict[str, Any], surface=None) -> None:
        """Take the settings and run from :meth:`state_dict`'s output; a run is rebuilt on
        ``surface`` (default: :attr:`surface`) and steps on exactly as the saved one would.
        Settings left out keep their values; ``"run": None`` or no ``run`` leaves no balls.
        Everything is checked before anything changes; a bad dict raises
        :class:`~gradient_explorer.errors.UsageError` naming the key."""
        where = "descent mode state"
        check_state_keys(where, state_dict, (), (*self.SETTINGS, "run"))
        settings = {key: state_dict[key] for key in self.SETTINGS if key in state_dict}
        self._check_settings(where, settings)
        surface = self.surface if surface is None else surface
        run = state_dict.get("run")
        built = None
        if run is not None:
            if surface is None:
                raise UsageError(f"{where}: a 'run' needs the surface it ran on")
            spec = settings.get("schedule", self.schedule)
            built = self._build_run(where, run, surface, None if spec == "constant" else spec)
        for key, value in settings.items():
            setattr(self, key, copy.deepcopy(value))
        if "glyphs" in settings:
            self.glyphs = GlyphOptions(**settings["glyphs"])
        if "start" in settings and settings["start"] is not None:
            self.start = tuple(float(v) for v in settings["start"])
        self._minima, self._clustered, self._basins = None, [], (None, None)
        self._phases, self.phase_index = None, 0
        if built is None:
            self.descents, self.names, self.optimizer_names, self.colors = [], [], [], []
            self._history, self._previous, self._reported, self.messages = [], [], [], []
            self._accum = 0.0
            return
        descents, names, optimizer_names, colors, previous, history, messages, accum = built
        # the trips out of the domain so far (checked before anything changes)
        watch = DomainWatch()
        if "domain" in run:
            try:
                watch.load_state_dict(run["domain"], descents, surface)
            except ValueError as exc:
                raise UsageError(f"{where} run 'domain': {exc}") from None
        else:
            watch.reset(descents, surface)
        self.surface = surface
        self.descents, self.names, self.optimizer_names, self.colors = (
            descents,
            names,
            optimizer_names,
            colors,
        )
        self._previous, self._history = previous, history
        self._lr_history = _replayed_rates(descents, len(history) - 1)
        self.messages, self._accum = messages, accum
        self._reported = [d.status_codes.copy() for d in descents]
        self._watch = watch

    def _check_settings(self, where: str, settings: dict[str, Any]) -> None:
        def bad(key: str, what: str) -> UsageError:
            return UsageError(f"{where}: {key!r} must be {what}")

        if "kind" in settings and settings["kind"] not in KINDS:
            raise bad("kind", f"one of {', '.join(KINDS)}")
        for key in ("optimizer",):
            if key in settings and settings[key] not in OPTIMIZERS:
                raise bad(key, f"one of {', '.join(OPTIMIZERS)}")
        if "race" in settings:
            race = settings["race"]
            if not isinstance(race, list | tuple) or any(n not in OPTIMIZERS for n in race):
                raise bad("race", "a list of optimizer names")
        if "hyper" in settings:
            hyper = settings["hyper"]
            if not isinstance(hyper, dict) or any(n not in OPTIMIZERS for n in hyper):
                raise bad("hyper", "a mapping from optimizer names to hyperparameters")
            for name, values in hyper.items():
                make_optimizer(name, **values)  # UsageError names the value
            settings["hyper"] = {**copy.deepcopy(self.hyper), **hyper}
        ints = {"swarm_size": (1, MAX_SWARM), "seed": (0, 2**63 - 1)}
        for key, (lo, hi) in ints.items():
            v = settings.get(key, lo)
            if isinstance(v, bool) or not isinstance(v, int | np.integer) or not lo <= v <= hi:
                raise bad(key, f"an integer from {lo} to {hi}")
        for key in ("swarm_grid", "playing", "step_by_step"):
            if not isinstance(settings.get(key, False), bool):
                raise bad(key, "true or false")
        for key in ("steps_per_second", "tol"):
            v = settings.get(key, 0.0)
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0 <= v < np.inf:
                raise bad(key, "a finite number >= 0")
        start = settings.get("start")
        if start is not None and (
            len(start) not in (1, 2) or not np.isfinite(np.asarray(start, dtype=float)).all()
        ):
            raise bad("start", "None or a finite point")
        if "schedule" in settings:
            spec = settings["schedule"]
            if not isinstance(spec, str):
                raise bad("schedule", "a schedule such as 'constant' or 'cosine:300'")
            if spec.strip() != "constant":
                parse_schedule(spec)  # UsageError says what is wrong with it
        glyphs = settings.get("glyphs", {})
        known = vars(GlyphOptions())
        if not isinstance(glyphs, dict) or any(
            k not in known or not isinstance(v, bool) for k, v in glyphs.items()
        ):
            raise bad("glyphs", f"a mapping of {', '.join(known)} to true or false")

    def _build_run(self, where: str, run: dict[str, Any], surface, schedule: str | None):
        check_state_keys(f"{where} run", run, ("runs",), ("history", "messages", "accum", "domain"))
        runs = run["runs"]
        if not isinstance(runs, list | tuple) or not runs:
            raise UsageError(f"{where}: 'runs' must be a list of one or more runs")
        descents, names, optimizer_names, colors, previous = [], [], [], [], []
        for i, entry in enumerate(runs):
            at = f"{where}: runs[{i}]"
            check_state_keys(at, entry, self.RUN_ENTRY_KEYS)
            name = entry["optimizer"]
            if name not in OPTIMIZERS:
                raise UsageError(f"{at}: 'optimizer' must be one of {', '.join(OPTIMIZERS)}")
            opt = make_optimizer(name, **entry["hyper"])
            starts = entry["descent"]["starts"] if isinstance(entry["descent"], dict) else None
            d = Descent(surface, opt, starts, tol=entry["tol"], trail_length=entry["trail_length"],
                        schedule=schedule)  # fmt: skip
            # after Descent(), whose reset() clears opt; the schedule and batches resume too
            d.load_state_dict(entry["descent"])
            prev = np.asarray(entry["previous"], dtype=np.float64).reshape(d.positions.shape)
            color = tuple(float(c) for c in entry["color"])
            if len(color) != 3:
                raise UsageError(f"{at}: 'color' must be three numbers")
            descents.append(d)
            names.append(str(entry["label"]))
            optimizer_names.append(name)
            colors.append(color)
            previous.append(prev)
        if sum(d.n for d in descents) > MAX_SWARM:
            raise UsageError(f"{where}: the runs hold more than {MAX_SWARM} balls")
        rows = np.asarray(run.get("history", np.zeros((0, len(runs)))), dtype=np.float64)
        if rows.size and (rows.ndim != 2 or rows.shape[1] != len(runs)):
            raise UsageError(f"{where}: 'history' must have one column per run")
        history = [list(r) for r in rows.tolist()] or _history_from_balls(descents)
        messages = [str(m) for m in run.get("messages", [])]
        accum = run.get("accum", 0.0)
        if isinstance(accum, bool) or not isinstance(accum, int | float) or not 0 <= accum <= 1:
            raise UsageError(f"{where}: 'accum' must be a number from 0 to 1")
        return descents, names, optimizer_names, colors, previous, history, messages, float(accum)

    # ------------------------------------------------------------------ stepping

    def advance(self, dt: float) -> int:
        """Per frame: turn ``dt`` seconds into steps while playing; return steps taken."""
        if not (self.playing and self.active) or self.step_by_step or not dt > 0:
            return 0
        self._accum += float(dt) * float(self.steps_per_second)
        k = int(self._accum)
        self._accum -= k
        k = min(k, MAX_STEPS_PER_FRAME)
        if k:
            self.step(k)
        if not any(d.running for d in self.descents):
            self.playing = False
        return k

    def step(self, k: int = 1) -> None:
        """``k`` steps of every run (the panel's Step button is ``step(1)``)."""
        self._phases = None
        for _ in range(int(k)):
            if not any(d.running for d in self.descents):
                break
            gone = first_ball_diverged(self.descents)
            rates = [d.lr for d in self.descents]
            for i, d in enumerate(self.descents):
                self._previous[i] = d.positions.copy()
                d.step()
            if len(self._history) < MAX_HISTORY:
                self._history.append(race_row(self.descents, gone))
                self._lr_history.append(rates)
            if self.kind != "swarm":
                for sentence in self._watch.update(self.descents, self._ball_name):
                    self._say(sentence)
            self._collect_messages()

    @property
    def history(self) -> np.ndarray:
        """f of each run's first ball after each step: ``(steps + 1, n_runs)``; NaN after
        the step at which it diverged, so the race plot ends its line there."""
        return _rows_array(self, "_history", len(self.descents))

    # ------------------------------------------------------------------ sentences

    def _ball_name(self, i: int, j: int) -> str:
        if self.kind == "race":
            return self.names[i]
        return f"ball {j}"

    def _collect_messages(self, initial: bool = False) -> None:
        for i, d in enumerate(self.descents):
            seen = self._reported[i]
            new = np.flatnonzero((d.status_codes != RUNNING) & (seen == RUNNING))
            if new.size == 0:
                continue
            seen[new] = d.status_codes[new]
            if self.kind == "swarm" or new.size > 3:
                # many balls: say when the first one converges or diverges; the panel's
                # summary line counts the rest
                for code, word in ((CONVERGED, "converged"), (DIVERGED, "diverged")):
                    hit = new[d.status_codes[new] == code]
                    already = np.count_nonzero(seen == code) - hit.size
                    if hit.size and already == 0:
                        j = int(hit[np.argmin(d.stopped_at[hit])])
                        self._say(f"first ball {word}: ball {j} at step {d.stopped_at[j]}")
                continue
            for j in new:
                word = "converged" if d.status_codes[j] == CONVERGED else "diverged"
                at = int(d.stopped_at[j])
                where = "at its start (f is undefined there)" if at == 0 else f"at step {at}"
                self._say(f"{self._ball_name(i, j)} {word} {where}")

    def domain_note(self, i: int, j: int = 0) -> str:
        """Ball ``j`` of run ``i`` and the domain: ``"left the domain at step 2, back at
        3"``, ``"out of the domain since step 2"`` or ``""`` (the legend's note)."""
        return self._watch.note(i, j) if self.kind != "swarm" else ""

    def _say(self, text: str) -> None:
        self.messages.append(text)
        del self.messages[:-50]

    def divergence_warning(self, optimizer: str | None = None) -> str | None:
        """A warning to show by the lr slider when balls under ``optimizer`` diverged."""
        optimizer = optimizer or self.optimizer
        for i, d in enumerate(self.descents):
            if self.optimizer_names[i] != optimizer:
                continue
            bad = d.status_codes == DIVERGED
            if not bad.any():
                continue
            first = int(d.stopped_at[bad].min())
            if d.n == 1:
                return f"{self.names[i]} diverged at step {first}: try a smaller lr, then Reset"
            return (
                f"{int(bad.sum())} of {d.n} balls diverged (first at step {first}): "
                "try a smaller lr, then Reset"
            )
        return None

    def ball_report(self, limit: int = 20) -> list[dict[str, Any]]:
        """Rows for the per-ball table: name, steps, f, gradient length, status."""
        rows = []
        for i, d in enumerate(self.descents):
            basins = self.basins(i) if self.kind == "swarm" else None
            for j in range(min(d.n, limit - len(rows))):
                if basins is None:
                    color = self.colors[i]
                else:  # a swarm's ball in the colour it has on screen: its basin's
                    color = basin_color(int(basins[j]))
                rows.append(
                    {
                        "name": self.names[i] if self.kind == "race" else f"ball {j}",
                        "color": color,
                        "steps": int(d.steps[j]),
                        "f": float(d.f[j]),
                        "grad_norm": float(d.grad_norm[j]),
                        "status": str(d.status[j]),
                    }
                )
            if len(rows) >= limit:
                break
        return rows

    def summary(self) -> str:
        """One line over all runs: running / converged / diverged counts."""
        counts = np.zeros(3, dtype=np.int64)
        for d in self.descents:
            counts += np.bincount(d.status_codes, minlength=3)
        return f"{counts[0]} running, {counts[1]} converged, {counts[2]} diverged"

    # ------------------------------------------------------------------ glyph data

    def last_steps(self, i: int) -> np.ndarray:
        """The step each ball of run ``i`` took last: ``(n, dim)`` (0 for stopped balls)."""
        d = self.descents[i]
        prev = self._previous[i]
        if prev.shape != d.positions.shape:
            return np.zeros_like(d.positions)
        return d.positions - prev

    def start_positions(self, i: int) -> np.ndarray:
        """Where the balls of run ``i`` started: ``(n, dim)``."""
        return self.descents[i].starts

    # ------------------------------------------------------------------ basins

    def known_minima(self) -> np.ndarray:
        """The minima balls end in so far: ``(k, dim)``, in a stable order.

        The catalogue's minima inside the domain come first; then, for minima the
        catalogue does not list (typed surfaces, local minima), the resting places of
        converged balls, clustered within ``BASIN_CLUSTER`` of the domain's extent (saddles
        and maxima where balls stopped on a ridge are left out). An
        index into this array is a basin's identity (and so its colour) for the run.
        """
        if self._minima is None:
            self._minima, self._clustered = _catalogue_minima(self.surface), []
        if self.descents:
            extent = self.surface.extent
            for i, d in enumerate(self.descents):
                if i == len(self._clustered):
                    self._clustered.append(np.zeros(0, dtype=bool))
                seen = self._clustered[i]
                if len(seen) < d.n:  # balls dropped since
                    seen = np.concatenate([seen, np.zeros(d.n - len(seen), dtype=bool)])
                new = (d.status_codes == CONVERGED) & ~seen
                if new.any():
                    found = _add_clusters(self._minima, d.positions[new], BASIN_CLUSTER * extent)
                    self._minima = _drop_non_minima(self.surface, found, len(self._minima))
                self._clustered[i] = seen | new
        return self._minima

    def basins(self, i: int = 0) -> np.ndarray:
        """The basin each ball of run ``i`` is in: an index into :meth:`known_minima`.

        A ball belongs to the known minimum nearest to it when that minimum is within
        ``BASIN_REACH`` of the domain's extent (closer than half way to any other
        minimum); it is ``-1`` (undecided) while it is far from all of them, and ``-2``
        once it has diverged.
        """
        # the balls, the legend and the ball table all ask each frame: once per step
        key = (
            id(self.surface),
            tuple(
                (id(d), d.n, int(d.steps.sum()), *np.bincount(d.status_codes, minlength=3))
                for d in self.descents
            ),
        )
        cached_key, cached = self._basins
        if cached_key != key:
            minima, extent = self.known_minima(), self.surface.extent
            cached = [
                assign_basins(minima, d.positions, d.status_codes, extent) for d in self.descents
            ]
            self._basins = (key, cached)
        return cached[i]

    # ------------------------------------------------------------------ step by step

    def next_phase(self) -> PhaseView | None:
        """Step-by-step: show the next phase of the update; after the last, take it.

        Returns the phase now shown, or None once the step has been taken.
        """
        if not self.active:
            return None
        if self._phases is None:
            self._explain()
            if self._phases is None:
                return None
            return self.current_phase()
        self.phase_index += 1
        if self.phase_index >= max(len(p) for p in self._phases):
            self.step(1)  # clears the phases
            return None
        return self.current_phase()

    def _explain(self) -> None:
        phases, active = [], []
        for d in self.descents:
            running = d.status_codes == RUNNING
            if not running.any():
                phases.append([])
                active.append(np.zeros(0, dtype=np.int64))
                continue
            opt = copy.deepcopy(d.optimizer)  # a dry run: the real step comes later
            if d.schedule is not None:  # the rate the real step will use
                opt.set_lr(d.schedule.lr)
            hess = None
            if opt.needs_hessian:
                hess = np.full((d.n, d.dim, d.dim), np.nan)
                hess[running] = d._hessian(d.positions[running])
            _, rec = opt.step_explained(
                d.positions.copy(), d.gradient, hess, None if running.all() else running
            )
            phases.append(rec)
            active.append(np.flatnonzero(running))
        if not any(phases):
            return
        self._phases, self._phase_active, self.phase_index = phases, active, 0

    def current_phase(self) -> PhaseView | None:
        """The phase being shown in step-by-step mode, or None."""
        if self._phases is None:
            return None
        count = max(len(p) for p in self._phases)
        k = self.phase_index
        vectors: list[np.ndarray | None] = []
        name = sentence = ""
        lines = []
        for i, rec in enumerate(self._phases):
            if not rec:
                vectors.append(None)
                continue
            ph = rec[min(k, len(rec) - 1)]
            vectors.append(np.asarray(ph.vector).reshape(len(self._phase_active[i]), -1))
            if len(rec) == count and not name:  # the longest update names the phase
                name, sentence = ph.name, ph.sentence
            lines.append(f"{self.names[i]}: {ph.sentence}")
        if self.kind == "race" and len(lines) > 1:
            sentence = "\n".join(lines)
        return PhaseView(k, count, name, sentence, vectors, list(self._phase_active))


def _history_from_balls(descents) -> list[list[float]]:
    """The race history when a run comes without one: NaN up to the step the balls have
    reached, then f at the balls now (the plot shows where each run stands, at the right
    step)."""
    steps = max((int(d.steps.max()) for d in descents if d.n), default=0)
    rows = min(steps, MAX_REBUILT_HISTORY - 1)
    return [[np.nan] * len(descents) for _ in range(rows)] + [race_row(descents)]


def _replayed_rates(descents: list[Descent], steps: int) -> list[list[float]]:
    """The rate each run used at steps 1..``steps`` (a loaded run's lr plot), replayed
    from each schedule's start; constant where a run has none."""
    rows = [[0.0] * len(descents) for _ in range(max(steps, 0))]
    for j, d in enumerate(descents):
        base = d.schedule.base_lr if d.schedule is not None else float(d.optimizer.hyper["lr"])
        schedule = parse_schedule(d.schedule.spec, base) if d.schedule is not None else None
        for row in rows:
            row[j] = schedule.lr if schedule is not None else base
            if schedule is not None:
                schedule.step()
    return rows


def _rows_array(ds: DescentState, name: str, runs: int) -> np.ndarray:
    """``ds.<name>`` (a list of rows that only grows or is replaced) as an array, made
    once per new row: the plots read it every frame, and 20,000 rows take milliseconds."""
    rows = getattr(ds, name)
    cache = ds.__dict__.get("_arrays", {})
    hit = cache.get(name)
    if hit is not None and hit[0] is rows and hit[1] == len(rows):
        return hit[2]
    out = np.array(rows, dtype=np.float64) if rows else np.zeros((0, runs))
    out.setflags(write=False)
    cache[name] = (rows, len(rows), out)
    ds.__dict__["_arrays"] = cache
    return out
