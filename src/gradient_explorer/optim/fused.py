"""The compiled engine for descent: surface, optimizer and checks fused in one numba loop.

Where a surface's generated code is exact (:mod:`gradient_explorer.surfaces.fastcode`)
and the optimizer has a rule in :mod:`gradient_explorer.optim.fused_rules` (gd, sgd,
rmsprop, adagrad, adam, adamw, nadam; every setting), a descent step is one pass over
the balls that updates the optimizer state, evaluates f and the gradient at the new
point, checks divergence (too far, non-finite) and convergence, and writes the results:
the numpy path's operations in the numpy path's order, so the results are the same to
the bit (no fastmath, no FMA contraction). A whole batched
:func:`~gradient_explorer.optim.descent.descend` runs every step of a ball inside the
kernel, ball after ball (in parallel on numba's threads for many balls), writing the
trajectory arrays directly.

``Optimizer.step_`` on its own (the benchmark's inner loop) gets a compiled update too.
Everything else (Adafactor, Newton's Hessian, mini-batches, curves, a surface with
transcendental functions) uses the numpy path, which is also the path without numba
installed or with ``GRADIENT_EXPLORER_ENGINE=numpy``.

The kernels are the same for every optimizer: they call ``_rule`` (one coordinate's
update) with up to three state buffers, four per-step constants computed in Python as
the numpy rule computes them (Adam's ``lr / (1 - beta1**t)``, ...) and a vector of
hyperparameters; which buffers a rule uses is a compile-time flag (S0-S2).
"""

from __future__ import annotations

import math
import mmap
import re
import sys
import time
from types import ModuleType

import numpy as np

from gradient_explorer.optim import fused_rules
from gradient_explorer.surfaces import fastcode

RUNNING, CONVERGED, DIVERGED = 0, 1, 2
done_none = np.zeros(0, dtype=np.int64)
_PLACEHOLDER = np.zeros((1, 2))  # an unused buffer's place (never read or written)

#: In 'auto' mode, Descent.step uses the engine from this many balls on (or after
#: fastcode.CALLS_BEFORE_ENGINE steps of one run), and a batched descend from this many
#: ball-steps on: below, importing numba and loading kernels (0.2-0.4 s) would not pay.
STEP_MIN = 512
RUN_MIN = 2000


# ------------------------------------------------------------------- the optimizer rule


def rule_of(opt) -> fused_rules.Rule | None:
    """The engine's rule of ``opt``'s setting (:mod:`~gradient_explorer.optim.fused_rules`),
    or None: an optimizer the engine does not have (the numpy path). Made again when its
    hyperparameters are replaced (set_hyper, load_state_dict; a rate is not in it)."""
    memo = opt.__dict__.get("_engine_rule_memo")
    if memo is None or memo[0] is not opt.hyper:
        memo = (opt.hyper, fused_rules.rule_of(opt))
        opt.__dict__["_engine_rule_memo"] = memo
    return memo[1]


def buffers(opt, rule: fused_rules.Rule) -> list | None:
    """The state arrays behind the rule's buffers a, b, c (a placeholder for an unused
    one), or None where one is missing (SGD's momentum buffer after momentum was turned
    on: the numpy step makes it) or not a contiguous float64 array of the balls' shape."""
    st = opt.state
    out = []
    for key in rule.slots:
        if key is None:
            out.append(_PLACEHOLDER)
            continue
        arr = st.get(key)
        if (
            arr is None
            or arr.dtype != np.float64
            or arr.shape != opt._shape
            or not arr.flags.c_contiguous
        ):
            return None
        out.append(arr)
    return out


_RULE_LOOP = re.compile(
    r"^( *)\{rule_loop: (\w+) in (.+) \| (\w+) -> (\w+) \| (\w+) (\w+) (\w+) (\w+)\}$", re.M
)


def _rule_loops(template: str) -> str:
    """``template`` with each ``{rule_loop: i in OVER | x -> out | g a b c}`` line written
    out: the kernels' one update, a loop moving each coordinate ``x[i]`` by the
    optimizer's rule into ``out[i]``, its state buffers ``a``, ``b``, ``c`` (those the rule
    uses, S0-S2) read and written in place."""

    def loop(m: re.Match) -> str:
        pad, i, over, x, out, g, a, b, c = m.groups()
        lines = [
            f"for {i} in {over}:",
            f"    rx, ra, rb, rc = _rule({x}[{i}], {g}[{i}], {a}[{i}] if S0 else 0.0,",
            f"                           {b}[{i}] if S1 else 0.0, {c}[{i}] if S2 else 0.0,",
            "                           k0, k1, k2, k3, hp)",
            f"    {out}[{i}] = rx",
            "    if S0:",
            f"        {a}[{i}] = ra",
            "    if S1:",
            f"        {b}[{i}] = rb",
            "    if S2:",
            f"        {c}[{i}] = rc",
        ]
        return "\n".join(pad + line for line in lines)

    text = _RULE_LOOP.sub(loop, template)
    if "{rule_loop" in text:
        raise RuntimeError("a {rule_loop ...} line that does not parse")
    return text


_STEP_KERNELS = """
@njit(cache=True, error_model="numpy")
def rule_serial(pf, gf, af, bf, cf, k0, k1, k2, k3, hp, steps):
    # flat arrays (a reshape here costs compile time)
    {rule_loop: i in range(pf.shape[0]) | pf -> pf | gf af bf cf}
    for i in range(steps.shape[0]):
        steps[i] += 1


@njit(cache=True, error_model="numpy", parallel=True)
def rule_parallel(pf, gf, af, bf, cf, k0, k1, k2, k3, hp, steps):
    {rule_loop: i in prange(pf.shape[0]) | pf -> pf | gf af bf cf}
    for i in range(steps.shape[0]):
        steps[i] += 1
"""
_STEP_KERNELS = _rule_loops(_STEP_KERNELS)


def _warm_step(module) -> None:
    a = [np.zeros(2) for _ in range(5)]
    steps = np.zeros(1, dtype=np.int64)
    hp = np.zeros(fused_rules.HP_LEN)
    module.rule_serial(*a, 0.0, 1.0, 1.0, 1.0, hp, steps)
    if _threaded():
        module.rule_parallel(*a, 0.0, 1.0, 1.0, 1.0, hp, steps)


def _threaded() -> bool:
    """Whether kernels may use numba's threads: on a machine with few cores (shared by
    other work) its thread pool costs more than it brings; measured on 2 cores."""
    return fastcode._threads() >= THREADS_MIN


#: numba threads needed before a kernel runs in parallel (see :func:`_threaded`).
THREADS_MIN = 4
#: The same for the kernels that work in blocks of balls (a descent step, a whole run).
#: Alone on 2 cores they ran 1.8-2.3x faster than on one at 100k-1M balls on a quiet
#: machine, but beside torch's OpenMP threads (spinning between its calls) 100-1000x
#: slower; and in a process of their own on the 2 shared cores (load 2-3: other work
#: holds a core) numba's OpenMP pool ran a 100k step 0.02-0.05x as fast (31 ms instead
#: of 0.6-0.9 ms: a barrier waits for a descheduled thread), a run 0.5-0.8x; with
#: OMP_WAIT_POLICY=PASSIVE (a setting of the user's process, not ours to make)
#: 0.6-1.5x, and on the same machine while quiet 1.3-1.7x at 16k-1M balls. So from 4
#: threads on always, and with 2 or 3 only where timing says so (:func:`_use_threads`).
BLOCK_THREADS_MIN = 4
#: Balls from which those run on threads.
BLOCK_PARALLEL_MIN = 4096
#: One call in this many (growing to PROBE_MAX while the choice stands) runs the other
#: way, so that the choice follows the machine's load.
PROBE_GAP, PROBE_MAX = 8, 1024

#: The timing of batched runs in this process (see :func:`_use_threads`), by size
#: (a factor of 4 apart: the cost of a ball-step grows with the memory a run touches).
_RUN_TIMING: dict[int, list] = {}


def _use_threads(timing: list, n: int) -> bool:
    """Whether a block kernel for ``n`` balls runs on numba's threads. From
    BLOCK_THREADS_MIN threads always; with 2 or 3 (a small machine, often shared: see
    BLOCK_THREADS_MIN) by measurement: the first call on one thread, the next on threads,
    then the faster per unit of work, the other again now and then. ``timing`` holds
    [serial s/unit, threaded s/unit, calls, next probe, gap, threads usable, the chosen
    way's last call slower than the other's (one strike: see :func:`_run_timed`)]. Either
    way the results are the same bits (each ball's work is its own)."""
    threads = fastcode._threads()
    if n < BLOCK_PARALLEL_MIN or threads < 2:
        return False
    if threads >= BLOCK_THREADS_MIN:
        return True
    if not timing:
        timing += [math.inf, math.inf, 0, PROBE_GAP, PROBE_GAP, True, False]
    if not timing[5]:
        return False
    timing[2] += 1
    if timing[0] == math.inf:
        return False
    if timing[1] == math.inf:
        return True
    faster = timing[1] < timing[0]
    return (not faster) if timing[2] >= timing[3] else faster


def _run_timed(
    timing: list, par: bool, work: int, serial, parallel, *args, fresh: tuple = ()
) -> None:
    """``serial(*args)`` or ``parallel(*args)`` as :func:`_use_threads` chose, timed for
    it (not a call that compiles). A threaded kernel numba cannot compile is not used
    again; the serial one runs instead (a compile fails before anything is written).
    ``fresh``: new output arrays the threaded kernel writes, first touched here (see
    :func:`first_touch`), inside the timing."""
    if not timing:  # not measured: few balls, or threads always (or never)
        if par:
            first_touch(*fresh)
        (parallel if par else serial)(*args)
        return
    kernel = parallel if par else serial
    compiles = not kernel.signatures
    t0 = time.perf_counter()
    if par:
        first_touch(*fresh)
    try:
        kernel(*args)
    except Exception as exc:
        from numba.core.errors import NumbaError

        if not par or not isinstance(exc, NumbaError):
            raise
        fastcode.FAILURES.append(f"threaded kernel: {type(exc).__name__}: {exc}")
        timing[5] = False
        serial(*args)
        return
    if compiles:
        return
    faster = timing[1] < timing[0]
    slot = 1 if par else 0
    spent = (time.perf_counter() - t0) / max(work, 1)
    probe = timing[2] >= timing[3]
    changed = (spent < timing[0] if par else timing[1] < spent) != faster
    slower = changed and not probe and timing[slot] != math.inf
    if slower and not timing[6]:
        # the chosen way slower than the other's last, once: most often a moment when
        # other work held a core; the choice stands unless its next call is slower too
        # (one such call had put a 1M-ball run on one thread, 1.5x the time, for most of
        # a benchmark's rounds)
        timing[6] = True
        return
    if not probe:
        timing[6] = False
    timing[slot] = spent
    if probe:  # a probe: look again sooner if the choice changed
        gap = PROBE_GAP if changed else min(timing[4] * 2, PROBE_MAX)
        timing[3], timing[4] = timing[2] + gap, gap
    elif changed:
        # the chosen way ran slower than the other's last time (often a moment when other
        # work held a core: threads then wait for each other): the other way now, and the
        # first way again after PROBE_GAP calls times how much slower it ran, so that a
        # probe that finds the same load costs about 1/PROBE_GAP of the time, and one
        # that finds it gone comes soon (not after the grown gap, up to 1024 calls: a
        # 100k-ball run stayed on one thread, at twice the time, for a whole benchmark)
        slower = timing[1 if par else 0] / max(timing[0 if par else 1], 1e-300)
        gap = min(PROBE_GAP * math.ceil(slower), PROBE_MAX)
        timing[3], timing[4] = timing[2] + gap, gap


def first_touch(*arrays: np.ndarray) -> None:
    """Write one element of each memory page of these new (contiguous) arrays, on
    the calling thread, before a threaded kernel fills them. A fresh array's pages are
    mapped on first write; when numba's threads took those faults together, a 1M-ball
    run (64 MB of output) took 45-75 ms instead of 10-11 ms in 1 to 3 calls of every
    dozen on this 2-core VM, and never on one thread (the calling thread reuses the
    pages the last run freed; another thread's faults may take pages the host has taken
    back: freed memory is reported to it). Measured again (64 MB, 48 calls each): touched
    by numba's 2 threads 2.2 ms median but 66 ms at worst, here 3.5 ms, at worst 7.6.
    numpy asks for huge pages for big arrays (THP in madvise mode: in effect), so this
    costs little more than the kernel zeroing 2 MB pages: 3.1 ms of a 1M x 3 run's 9.5.
    The values written are overwritten by the kernel."""
    for a in arrays:
        flat = a.reshape(-1)
        flat[:: mmap.PAGESIZE // a.itemsize] = 0


def step_module(rule: fused_rules.Rule) -> ModuleType | None:
    return fastcode.load_module(rule.source + "\n\n" + _STEP_KERNELS, _warm_step)


def _step_memo(opt) -> tuple:
    """What optimizer_step needs of ``opt``'s setting, made when its hyperparameters are
    replaced (set_hyper, load_state_dict): (hyper, rule, kernel module, hp)."""
    rule = rule_of(opt)
    if rule is None:
        return (opt.hyper, None, None, None)
    return (opt.hyper, rule, step_module(rule), fused_rules.hyper(rule, opt))


def optimizer_step(opt, p2: np.ndarray, g2: np.ndarray) -> bool:
    """Optimizer.step_ for every ball by the engine; False (nothing changed) where the
    engine does not apply (then numpy). ``p2``/``g2``: (n, d) float64."""
    memo = opt.__dict__.get("_engine_step")
    if memo is None or memo[0] is not opt.hyper:
        memo = _step_memo(opt)
        opt.__dict__["_engine_step"] = memo
    _, rule, module, hp = memo
    if module is None:
        return False
    if not (p2.flags.c_contiguous and g2.flags.c_contiguous and g2.dtype == np.float64):
        return False
    steps = opt.steps
    n = steps.shape[0]
    if n == 0:
        return False
    first = int(steps[0])
    if n > 1 and not (steps == first).all():
        return False
    # the state buffers' flat views, kept while the optimizer holds the same arrays (a
    # step of one ball is a few microseconds: checking and viewing them again was a fifth)
    st = opt.state
    kept = opt.__dict__.get("_engine_flat")
    if (
        kept is not None
        and kept[0] is memo
        and kept[1] == opt._shape
        and all(st.get(key) is arr for key, arr in kept[2])
    ):
        flat_bufs = kept[3]
    else:
        bufs = buffers(opt, rule)
        if bufs is None:
            return False
        flat_bufs = [a.reshape(-1) for a in bufs]
        held = [(key, st.get(key)) for key in rule.slots if key is not None]
        opt.__dict__["_engine_flat"] = (memo, opt._shape, held, flat_bufs)
    if rule.negates:
        # maximize: LLVM may fold ``-g`` into a later subtraction, which keeps a NaN's
        # sign where numpy flips it; a NaN gradient (never one in a descent, which stops
        # such a ball first) goes to numpy (a sum is NaN where some element is)
        total = g2.sum()
        if total != total:
            return False
    # the rule's step constants, as its numpy update computes them (Python floats)
    k = fused_rules.step_constants(rule, opt, opt.hyper["lr"], float(first + 1), None)
    kernel = module.rule_parallel if p2.size >= fastcode.PARALLEL_MIN and _threaded() else None
    (kernel or module.rule_serial)(p2.reshape(-1), g2.reshape(-1), *flat_bufs, *k, hp, steps)
    return True


# ------------------------------------------------------------------- descent kernels

_DESCENT_KERNELS = """
BLOCK = 512


@njit(cache=True, error_model="numpy")
def all_run_serial(pf, gf, osteps, dsteps, af, bf, cf, c, hp, pv, c0, c1, limit, tol, npf, f,
                   g2, gn, counts, newpos, tr):
    n = f.shape[0]
    bad = 0
    done = 0
    for s in range(0, n, BLOCK):
{block}
    counts[0] = bad
    counts[1] = done


@njit(cache=True, error_model="numpy", parallel=True)
def all_run_parallel(pf, gf, osteps, dsteps, af, bf, cf, c, hp, pv, c0, c1, limit, tol, npf,
                     f, g2, gn, counts, newpos, tr):
    n = f.shape[0]
    blocks = (n + BLOCK - 1) // BLOCK
    per = np.zeros((blocks, 2), dtype=np.int64)  # counts per block: no shared reduction
    for k in prange(blocks):
        s = k * BLOCK
        bad = 0
        done = 0
{block}
        per[k, 0] = bad
        per[k, 1] = done
    counts[0] = per[:, 0].sum()
    counts[1] = per[:, 1].sum()


@njit(cache=True, error_model="numpy")
def descent_serial(pos, grad, fv_old, gn_old, status, osteps, dsteps, stopped, sa, sb, sc, c,
                   hp, pv, c0, c1, limit, tol, newpos, f, g, gn, counts):
    k0, k1, k2, k3 = c[0], c[1], c[2], c[3]
    moved = 0
    bad = 0
    for i in range(pos.shape[0]):
{body}
    counts[0] = moved
    counts[1] = bad


@njit(cache=True, error_model="numpy", parallel=True)
def descent_parallel(pos, grad, fv_old, gn_old, status, osteps, dsteps, stopped, sa, sb, sc,
                     c, hp, pv, c0, c1, limit, tol, newpos, f, g, gn, counts):
    k0, k1, k2, k3 = c[0], c[1], c[2], c[3]
    moved = 0
    bad = 0
    for i in prange(pos.shape[0]):
{body}
    counts[0] = moved
    counts[1] = bad


"""

# A whole batched run (ge.descend) and the f and gradient of its rows.
_RUN_KERNELS = """
@njit(cache=True, error_model="numpy")
def _put(dst, src):
    # dst[:] = src as a loop over a slice the caller made, indexed from 0: numba's slice
    # assignment compiles a shape check that cost 0.6 s of the first compile per use, and
    # dst[off + j] (a wraparound select per element) wrote 64 MB at a quarter the speed
    for j in range(src.shape[0]):
        dst[j] = src[j]


@njit(cache=True, error_model="numpy")
def _run_balls(s0, e0, bk, starts, table, hp, init, pv, c0, c1, limit, tol, positions, codes,
               ends, per):
    # balls s0..e0 in blocks of bk, each block ball by ball step after step, in
    # vectorizable passes over block-local arrays (made once, in this function: LLVM then
    # knows they do not overlap; rows of one array passed in ran 27-37% slower): the
    # candidate step for every ball of the block (a stopped ball's is computed and thrown
    # away), then a cheap pass that decides, ball by ball, what Descent.step would: move
    # on, converge, or diverge and stay
    w = 2 * bk
    xw, yw, ggw, gcw = np.empty(w), np.empty(w), np.empty(w), np.empty(w)
    saw = np.empty(w if S0 else 1)
    sbw = np.empty(w if S1 else 1)
    scw = np.empty(w if S2 else 1)
    fcw, fnw = np.empty(bk), np.empty(bk)
    stw = np.empty(bk, dtype=np.int64)
    spw = np.empty(bk, dtype=np.int64)
    tkw = np.empty(bk, dtype=np.int64)
    aw = np.empty(bk, dtype=np.bool_)
    for s in range(s0, e0, bk):
        e = min(s + bk, e0)
        steps = table.shape[0]
        nbk = e - s
        m = 2 * nbk
        x = xw[:m]
        y = yw[:m]
        gg = ggw[:m]
        gc = gcw[:m]
        # the state buffers as a fresh optimizer's (an unused one: a placeholder)
        sa = saw[:m] if S0 else saw
        sb = sbw[:m] if S1 else sbw
        sc = scw[:m] if S2 else scw
        fcur = fcw[:nbk]
        fc = fnw[:nbk]
        st = stw[:nbk]
        stop = spw[:nbk]
        taken = tkw[:nbk]
        adv = aw[:nbk]
        _put(x, starts[2 * s : 2 * e])
        for j in range(sa.shape[0]):
            sa[j] = init[0]
        for j in range(sb.shape[0]):
            sb[j] = init[1]
        for j in range(sc.shape[0]):
            sc[j] = init[2]
        for i in range(nbk):
            r = _vg(x[2 * i], x[2 * i + 1]{params})
            fcur[i] = _finite_or_nan(r[0])
            gg[2 * i] = _finite_or_nan(r[1])
            gg[2 * i + 1] = _finite_or_nan(r[2])
        nrun = 0
        unset = 0
        for i in range(nbk):
            fv = fcur[i]
            gx = gg[2 * i]
            gy = gg[2 * i + 1]
            n2 = math.sqrt(gx * gx + gy * gy)
            # not ok, undefined at the start: diverged at step 0, f and gradient NaN; in
            # arithmetic on the flags (branchy, this loop ran 5x slower: not vectorized)
            ok = (fv - fv == 0.0) & (gx - gx == 0.0) & (gy - gy == 0.0)
            conv = ok & (n2 < tol)
            live = ok ^ conv
            st[i] = 2 - 2 * ok + conv
            stop[i] = -live
            taken[i] = 0
            fcur[i] = fv if ok else math.nan
            gg[2 * i] = gx if ok else math.nan
            gg[2 * i + 1] = gy if ok else math.nan
            nrun += live
            # a start that is not finite (the caller raises)
            unset += 1 - ((x[2 * i] - x[2 * i] == 0.0) & (x[2 * i + 1] - x[2 * i + 1] == 0.0))
        _put(positions[0, 2 * s : 2 * e], x)
        k = 0
        while k < steps and nrun > 0:
            k0 = table[k, 0]
            k1 = table[k, 1]
            k2 = table[k, 2]
            k3 = table[k, 3]
            {rule_loop: j in range(y.shape[0]) | x -> y | gg sa sb sc}
            for i in range(nbk):
                r = _vg(y[2 * i], y[2 * i + 1]{params})
                fc[i] = _finite_or_nan(r[0])
                gc[2 * i] = _finite_or_nan(r[1])
                gc[2 * i + 1] = _finite_or_nan(r[2])
            if nrun == nbk:
                # every ball of the block ran: if every one moved on and none converged, the
                # candidates are the new state (a swap; one vectorized pass to check)
                stay = 0
                for i in range(nbk):
                    gx = gc[2 * i]
                    gy = gc[2 * i + 1]
                    n2 = math.sqrt(gx * gx + gy * gy)
                    f2 = fc[i]
                    near = (abs(y[2 * i] - c0) <= limit) & (abs(y[2 * i + 1] - c1) <= limit)
                    ok = near & (f2 - f2 == 0.0) & (n2 - n2 == 0.0) & (n2 >= tol)
                    stay += 0 if ok else 1
                if stay == 0:
                    x, y = y, x
                    gg, gc = gc, gg
                    fcur, fc = fc, fcur
                    for i in range(nbk):
                        taken[i] += 1
                    k += 1
                    _put(positions[k, 2 * s : 2 * e], x)
                    continue
            nrun = 0
            for i in range(nbk):
                gx = gc[2 * i]
                gy = gc[2 * i + 1]
                n2 = math.sqrt(gx * gx + gy * gy)
                f2 = fc[i]
                near = (abs(y[2 * i] - c0) <= limit) & (abs(y[2 * i + 1] - c1) <= limit)
                ok = near & (f2 - f2 == 0.0) & (n2 - n2 == 0.0)
                run = st[i] == 0
                new = (1 if n2 < tol else 0) if ok else 2
                if run and new != 0:
                    stop[i] = taken[i] + 1
                if run:
                    st[i] = new
                a = run and ok
                adv[i] = a
                taken[i] += 1 if a else 0
                nrun += 1 if st[i] == 0 else 0
            for i in range(nbk):
                a = adv[i]
                x[2 * i] = y[2 * i] if a else x[2 * i]
                x[2 * i + 1] = y[2 * i + 1] if a else x[2 * i + 1]
                gg[2 * i] = gc[2 * i] if a else gg[2 * i]
                gg[2 * i + 1] = gc[2 * i + 1] if a else gg[2 * i + 1]
                fcur[i] = fc[i] if a else fcur[i]
            k += 1
            # every ball's row: a stopped ball keeps its last one
            _put(positions[k, 2 * s : 2 * e], x)
        for kk in range(k + 1, steps + 1):
            _put(positions[kk, 2 * s : 2 * e], x)
        most = 0
        cb = codes[s:e]
        eb = ends[s:e]
        for i in range(nbk):
            cb[i] = st[i]
            eb[i] = stop[i] if st[i] != 0 else taken[i]
            # the steps the loop of Descent.step would have run for this ball
            most = max(most, stop[i] if st[i] != 0 else steps)
        b = s // bk
        per[b, 0] = most
        per[b, 1] = unset


@njit(cache=True, error_model="numpy")
def fill_serial(positions, undefined, pv, fs, grads):
    # f and the gradient of every recorded row, as the run computed them: the same
    # function at the same points (a ball undefined at its start has NaN rows)
    n = fs.shape[1]
    for k in range(positions.shape[0]):
        p = positions[k]
        fk = fs[k]
        gk = grads[k]
        for i in range(n):
            r = _vg(p[2 * i], p[2 * i + 1]{params})
            fk[i] = _finite_or_nan(r[0])
            gk[2 * i] = _finite_or_nan(r[1])
            gk[2 * i + 1] = _finite_or_nan(r[2])
        for i in range(n):
            if undefined[i]:
                fk[i] = math.nan
                gk[2 * i] = math.nan
                gk[2 * i + 1] = math.nan


@njit(cache=True, error_model="numpy")
def run_serial(starts, table, hp, init, pv, c0, c1, limit, tol, bk, positions, codes, ends,
               per):
    # flat: (x, y) of ball i at 2i, 2i + 1; blocks of bk balls
    _run_balls(0, starts.shape[0] // 2, bk, starts, table, hp, init, pv, c0, c1, limit, tol,
               positions, codes, ends, per)


@njit(cache=True, error_model="numpy", parallel=True)
def run_parallel(starts, table, hp, init, pv, c0, c1, limit, tol, bk, positions, codes, ends,
                 per):
    n = starts.shape[0] // 2
    for b in prange((n + bk - 1) // bk):
        s = b * bk
        _run_balls(s, min(s + bk, n), bk, starts, table, hp, init, pv, c0, c1, limit, tol,
                   positions, codes, ends, per)
"""
_RUN_KERNELS = _rule_loops(_RUN_KERNELS)


# One ball's Descent.step, the loop body of both descent kernels (inlined: a call per
# ball with two dozen arrays would cost more than the arithmetic).
_DESCENT_BODY = """
if status[i] == 0:
    osteps[i] += 1
    a0 = sa[i, 0] if S0 else 0.0
    a1 = sa[i, 1] if S0 else 0.0
    b0 = sb[i, 0] if S1 else 0.0
    b1 = sb[i, 1] if S1 else 0.0
    e0 = sc[i, 0] if S2 else 0.0
    e1 = sc[i, 1] if S2 else 0.0
    x0, a0, b0, e0 = _rule(pos[i, 0], grad[i, 0], a0, b0, e0, k0, k1, k2, k3, hp)
    x1, a1, b1, e1 = _rule(pos[i, 1], grad[i, 1], a1, b1, e1, k0, k1, k2, k3, hp)
    if S0:
        sa[i, 0] = a0
        sa[i, 1] = a1
    if S1:
        sb[i, 0] = b0
        sb[i, 1] = b1
    if S2:
        sc[i, 0] = e0
        sc[i, 1] = e1
    r = _vg(x0, x1{params})
    fv = _finite_or_nan(r[0])
    gx = _finite_or_nan(r[1])
    gy = _finite_or_nan(r[2])
    n2 = math.sqrt(gx * gx + gy * gy)
    near = abs(x0 - c0) <= limit and abs(x1 - c1) <= limit
    if near and fv - fv == 0.0 and n2 - n2 == 0.0:
        newpos[i, 0] = x0
        newpos[i, 1] = x1
        f[i] = fv
        g[i, 0] = gx
        g[i, 1] = gy
        gn[i] = n2
        dsteps[i] += 1
        moved += 1
        if n2 < tol:
            status[i] = 1
            stopped[i] = dsteps[i]
        continue
    status[i] = 2
    stopped[i] = dsteps[i] + 1
    bad += 1
newpos[i, 0] = pos[i, 0]
newpos[i, 1] = pos[i, 1]
f[i] = fv_old[i]
g[i, 0] = grad[i, 0]
g[i, 1] = grad[i, 1]
gn[i] = gn_old[i]
"""


# Every ball runs: two branch-free loops over a block of balls (small enough to stay in
# the cache), which LLVM vectorizes; the rare ball that diverged or converged is fixed
# up by the caller. All arrays flat: (x, y) of ball i at 2i, 2i + 1.
_ALL_RUN_BLOCK = """
e = min(s + BLOCK, n)
k0, k1, k2, k3 = c[0], c[1], c[2], c[3]
# slices, indexed from 0: numba then knows no index is negative (no wraparound select),
# and a loop touches few arrays (LLVM checks at run time that they do not overlap, for
# a limited number of pairs, before it vectorizes); an unused buffer is not sliced
pb, gb, nb = pf[2 * s : 2 * e], gf[2 * s : 2 * e], npf[2 * s : 2 * e]
ab = af[2 * s : 2 * e] if S0 else af
bb = bf[2 * s : 2 * e] if S1 else bf
cb = cf[2 * s : 2 * e] if S2 else cf
for j in range(nb.shape[0]):
    nb[j] = pb[j]
{rule_loop: j in range(nb.shape[0]) | nb -> nb | gb ab bb cb}
ob, db = osteps[s:e], dsteps[s:e]
for i in range(ob.shape[0]):
    ob[i] += 1
for i in range(db.shape[0]):
    db[i] += 1
fb, gfb, gnb = f[s:e], g2[2 * s : 2 * e], gn[s:e]
tb = tr[2 * s : 2 * e]
for i in range(fb.shape[0]):
    r = _vg(nb[2 * i], nb[2 * i + 1]{params})
    fb[i] = _finite_or_nan(r[0])
    gfb[2 * i] = _finite_or_nan(r[1])
    gfb[2 * i + 1] = _finite_or_nan(r[2])
nbad = 0
ndone = 0
for i in range(fb.shape[0]):
    gx = gfb[2 * i]
    gy = gfb[2 * i + 1]
    n2 = math.sqrt(gx * gx + gy * gy)
    gnb[i] = n2
    fv = fb[i]
    near = (abs(nb[2 * i] - c0) <= limit) & (abs(nb[2 * i + 1] - c1) <= limit)
    ok = near & (fv - fv == 0.0) & (n2 - n2 == 0.0)
    nbad += 0 if ok else 1
    ndone += 1 if n2 < tol else 0
    # the trail's next row (a diverged ball's slot keeps what it held)
    tb[2 * i] = nb[2 * i] if ok else tb[2 * i]
    tb[2 * i + 1] = nb[2 * i + 1] if ok else tb[2 * i + 1]
bad += nbad
done += ndone
"""
_ALL_RUN_BLOCK = _rule_loops(_ALL_RUN_BLOCK)


def _descent_kernels(params: str, use: str) -> str:
    """The kernels of one use: ``"step"`` (Descent.step) or ``"run"`` (ge.descend)."""
    if use == "run":
        return _RUN_KERNELS.replace("{params}", params)
    body = "\n".join(f"        {line}" for line in _DESCENT_BODY.strip().splitlines())
    block = "\n".join(f"        {line}" for line in _ALL_RUN_BLOCK.strip().splitlines())
    text = _DESCENT_KERNELS.replace("{body}", body).replace("{block}", block)
    return text.replace("{params}", params)


def _step_args() -> tuple:
    """Arguments of the types descent_serial and all_run_serial take (one ball)."""
    pos, grad = np.zeros((1, 2)), np.zeros((1, 2))
    f1, i8 = np.zeros(1), np.zeros(1, dtype=np.int8)
    i64 = np.zeros(1, dtype=np.int64)
    hp, pv = np.zeros(fused_rules.HP_LEN), np.zeros(8)
    args = (pos, grad, f1, f1.copy(), i8.copy(), i64.copy(), i64.copy(), i64.copy(),
            np.zeros((1, 2)), np.zeros((1, 2)), np.zeros((1, 2)), np.array([0.0, 1.0, 1.0, 1.0]),
            hp, pv, 0.0, 0.0, 1.0, 0.0, np.zeros((1, 2)), np.zeros(1), np.zeros((1, 2)),
            np.zeros(1), np.zeros(2, dtype=np.int64))  # fmt: skip
    flat = [a.reshape(-1) if isinstance(a, np.ndarray) else a for a in args]
    all_args = (*flat[0:2], args[5], args[6], *flat[8:11], *args[11:18], flat[18], args[19],
                flat[20], *args[21:], args[18], np.zeros(2))  # fmt: skip
    return args, all_args


def _warm_steps(module) -> None:
    """Compile (or load) what Descent.step uses; the threaded twins only where they run."""
    args, all_args = _step_args()
    module.all_run_serial(*all_args)
    module.descent_serial(*args)
    if fastcode._threads() >= BLOCK_THREADS_MIN:
        module.all_run_parallel(*all_args)
    if _threaded():
        module.descent_parallel(*args)


def _warm_run(module) -> None:
    """Compile (or load) what a batched ge.descend uses."""
    # flat rows (x, y of ball i at 2i, 2i + 1): a reshape in the kernel costs compile time
    pos, hp, pv = np.zeros(2), np.zeros(fused_rules.HP_LEN), np.zeros(8)
    table = np.array([[0.0, 1.0, 1.0, 1.0]])
    run_args = (pos, table, hp, np.zeros(3), pv, 0.0, 0.0, 1.0, 0.0, 1024, np.zeros((2, 2)),
                np.zeros(1, dtype=np.int8), np.zeros(1, dtype=np.int32),
                np.zeros((1, 2), dtype=np.int64))  # fmt: skip
    module.run_serial(*run_args)
    if fastcode._threads() >= BLOCK_THREADS_MIN:
        module.run_parallel(*run_args)
    module.fill_serial(np.zeros((2, 2)), np.zeros(1, dtype=np.bool_), pv, np.zeros((2, 1)),
                       np.zeros((2, 2)))  # fmt: skip


def descent_module(surface, opt, use: str = "step") -> ModuleType | None:
    """The fused kernels of this surface and this optimizer setting for one use, or None:
    ``"step"`` (Descent.step) or ``"run"`` (a batched ge.descend). Two modules, so that
    a first use compiles only what it runs."""
    rule = rule_of(opt)
    if rule is None:
        return None
    parts = fastcode.surface_parts(surface)
    if parts is None:
        return None
    memo = surface._functions.setdefault("_engine_descent", {})
    key = (rule.family, rule.variant, use)
    if key not in memo:
        kernels = _descent_kernels(fastcode.param_unpack(surface.params), use)
        body = "\n\n".join([parts[0], rule.source, kernels])
        memo[key] = fastcode.load_module(body, _warm_run if use == "run" else _warm_steps)
    return memo[key]


def eligible(d) -> bool:
    """Whether Descent ``d`` can step with the engine at all (surface, optimizer, data)."""
    return (
        fastcode.available()
        and d.dim == 2
        and d.batches is None
        and rule_of(d.optimizer) is not None
        and fastcode.surface_parts(d.surface) is not None
    )


def _fresh(n: int) -> tuple:
    return np.empty((n, 2)), np.empty(n), np.empty((n, 2)), np.empty(n)


def _outputs(d, n: int) -> tuple:
    """(positions, f, gradient, norm) arrays for this step's results: those the step
    before last replaced, when nothing but this Descent holds them (no view, no caller's
    reference: their reference counts say so), else new ones. At 1M balls the first
    touch of 48 MB of new pages cost about as much as the step's arithmetic."""
    spare = d.__dict__.pop("_engine_spare", None)
    if spare is None:
        return _fresh(n)
    for k, shape in enumerate(((n, 2), (n,), (n, 2), (n,))):
        a = spare[k]
        # 3: the tuple, the name a and getrefcount's argument
        if (
            sys.getrefcount(a) != 3
            or a.base is not None
            or a.shape != shape
            or a.dtype != np.float64
            or not a.flags.c_contiguous
            or not a.flags.writeable
        ):
            return _fresh(n)
    return spare


def descent_step(d) -> bool:
    """One :meth:`Descent.step` by the engine; False (nothing changed) where it does not
    apply. The caller has checked that some ball runs."""
    if not fastcode.pays(d.__dict__, d.n, STEP_MIN) or not eligible(d):
        return False
    opt = d.optimizer
    module = descent_module(d.surface, opt)
    if module is None:
        return False
    opt.ensure_state(d.n, d.dim)
    rule = rule_of(opt)
    bufs = buffers(opt, rule)
    if bufs is None:
        return False
    running = d.status_codes == RUNNING
    all_running = bool(running.all())
    steps = opt.steps if all_running else opt.steps[running]
    first = int(steps[0])
    if not (steps == first).all():  # balls at different steps: numpy (t per ball)
        return False
    lr = d.schedule.lr if d.schedule is not None else opt.hyper["lr"]
    # (from here on the step is taken: a rule's state outside the kernels moves now)
    rows = None if all_running else np.flatnonzero(running)
    c = np.array(fused_rules.step_constants(rule, opt, lr, float(first + 1), rows))
    sa, sb, sc = bufs
    hp = fused_rules.hyper(rule, opt)
    n = d.n
    newpos, f, g, gn = _outputs(d, n) if all_running else _fresh(n)
    counts = np.zeros(2, dtype=np.int64)
    pv = fastcode.parameter_array(d.surface)
    c0, c1, limit, tol = float(d._centre[0]), float(d._centre[1]), float(d._limit), float(d.tol)
    if all_running:
        timing = d.__dict__.setdefault("_engine_timing", [])
        par = _use_threads(timing, n)
        old_pos, old_f, old_g, old_gn = d.positions, d.f, d.gradient, d.grad_norm
        head = d._uniform_head
        flat = newpos.reshape(-1)
        # the kernel writes the trail's next row too (else a row of its own output again)
        trail = flat if head is None else d._trail[head].reshape(-1)
        _run_timed(timing, par, n, module.all_run_serial, module.all_run_parallel,
                   old_pos.reshape(-1), old_g.reshape(-1), opt.steps, d.steps, sa.reshape(-1),
                   sb.reshape(-1), sc.reshape(-1), c, hp, pv, c0, c1, limit, tol, flat,
                   f, g.reshape(-1), gn, counts, newpos, trail)  # fmt: skip
        if d.schedule is not None:
            d.schedule.step()
        d.clock += 1
        d.positions, d.f, d.gradient, d.grad_norm = newpos, f, g, gn
        d.__dict__["_engine_spare"] = (old_pos, old_f, old_g, old_gn)
        del old_pos, old_f, old_g, old_gn  # (the refcount test of the next step)
        if counts[0]:  # some diverged: they stay where they were (numpy's _bad_rows)
            bad = np.flatnonzero(d._bad_rows(newpos, f, gn))
            old_pos, old_f, old_g, old_gn = d.__dict__.pop("_engine_spare")
            newpos[bad], f[bad], g[bad], gn[bad] = old_pos[bad], old_f[bad], old_g[bad], old_gn[bad]
            d.steps[bad] -= 1
            d._stop(bad, DIVERGED, during_step=True)
            good = np.flatnonzero(d.status_codes == RUNNING)
            d._push_trail(good)
            done = good[gn[good] < d.tol]
        else:
            d._push_trail(None, written=head is not None)
            done = np.flatnonzero(gn < d.tol) if counts[1] else done_none
        if done.size:
            d._stop(done, CONVERGED)
        return True
    d.__dict__.pop("_engine_spare", None)  # not every ball runs: no reuse from now on
    kernel = module.descent_serial
    if n >= fastcode.PARALLEL_MIN and _threaded():
        kernel = module.descent_parallel
    all_run = False
    kernel(d.positions, d.gradient, d.f, d.grad_norm, d.status_codes, opt.steps, d.steps,
           d.stopped_at, sa, sb, sc, c, hp, pv, float(d._centre[0]), float(d._centre[1]),
           float(d._limit), float(d.tol), newpos, f, g, gn, counts)  # fmt: skip
    if d.schedule is not None:  # torch: scheduler.step() after optimizer.step()
        d.schedule.step()
    d.clock += 1
    d.positions, d.f, d.gradient, d.grad_norm = newpos, f, g, gn
    if all_run and counts[0] == n:
        d._push_trail(None)
    elif counts[0]:
        # the balls that moved: running before, not diverged now (converged ones moved)
        d._push_trail(np.flatnonzero(running & (d.status_codes != DIVERGED)))
    return True


def run_batched(d, starts: np.ndarray, steps: int):
    """A whole batched descend from ``starts`` (N, 2) with the settings of Descent ``d``
    (surface, optimizer, schedule, tol, far; its own balls are not used) by the engine:
    (positions, fill, status codes (int8), end steps (int32), rates, starts that are not
    finite), or None where it does not apply. ``fill()`` gives (f, gradient) at every
    row: made only when asked for, as a recording of N balls' f and gradient is memory
    traffic a caller may never read. The starts are not checked for finite values: the
    count says, and the caller raises (the kernel reads them anyway)."""
    n = len(starts)
    if not (fastcode.forced() or n * max(steps, 1) >= RUN_MIN) or not eligible(d):
        return None
    if steps >= END_MAX:  # end steps as int32: numpy (a run that would take days)
        return None
    opt = d.optimizer
    module = descent_module(d.surface, opt, "run")
    if module is None:
        return None
    rule = rule_of(opt)
    rates = np.empty(steps)
    sched = d.schedule
    for k in range(steps):
        rates[k] = sched.lr if sched is not None else opt.hyper["lr"]
        if sched is not None:
            sched.step()
    table = fused_rules.table(rule, opt, rates)
    positions = np.empty((steps + 1, n, 2))
    # per ball: the status code and the end step, 5 bytes (the result's int64 end steps
    # and steps taken are made from them when read: 16 bytes a ball written for nothing,
    # a fifth of the run's output, where a caller does not look)
    codes = np.empty(n, dtype=np.int8)
    ends = np.empty(n, dtype=np.int32)
    # per block of balls: the most steps the loop of Descent.step would have run, and
    # how many starts are not finite
    bk = run_block(n)
    per = np.zeros((max(-(-n // bk), 1), 2), dtype=np.int64)
    timing = _RUN_TIMING.setdefault(n.bit_length() // 2, [])
    par = _use_threads(timing, n)
    pv = fastcode.parameter_array(d.surface)
    flat = np.ascontiguousarray(starts, dtype=np.float64).reshape(-1)
    _run_timed(timing, par, n * max(steps, 1), module.run_serial, module.run_parallel,
               flat, table, fused_rules.hyper(rule, opt), fused_rules.init(rule, opt), pv,
               float(d._centre[0]), float(d._centre[1]), float(d._limit), float(d.tol), bk,
               positions.reshape(steps + 1, 2 * n), codes, ends, per,
               fresh=(positions, codes, ends))  # fmt: skip
    loop = int(per[:, 0].max())

    def fill():
        undefined = (codes == DIVERGED) & (ends == 0)
        fs, grads = np.empty(positions.shape[:2]), np.empty(positions.shape)
        rows = len(positions)
        module.fill_serial(positions.reshape(rows, 2 * n), undefined, pv, fs,
                           grads.reshape(rows, 2 * n))  # fmt: skip
        return fs, grads

    return positions, fill, codes, ends, rates[:loop], int(per[:, 1].sum())


#: A batched run's end steps are int32 in the kernels: from this many steps, numpy.
END_MAX = 2**31 - 1


def run_block(n: int) -> int:
    """Balls a block of a batched run of ``n`` balls (a thread's unit of work): 4096
    (its working set, ~0.6 MB, fits the 1 MB L2) ran 10% faster than 1024 at 1M balls,
    on one thread and two, but the largest that leaves 16 blocks or more, so that
    threads share the work evenly (10k balls in blocks of 4096: 2 of 3 on one thread)."""
    for bk in (4096, 2048):
        if n >= 16 * bk:
            return bk
    return 1024


def warm(surface, optimizer) -> bool:
    """Compile (or load from the cache folder) every kernel the engine would use for this
    surface and optimizer setting; True when the engine is ready for them. A process that
    must not pause mid-run (the app) can call this in a helper process first: the
    kernels it writes to the cache then load in a fraction of a second."""
    if not fastcode.available():
        return False
    ok = fastcode.surface_parts(surface) is not None and fastcode.gradient_module(surface)
    rule = rule_of(optimizer)
    if rule is None:
        return False
    return bool(
        ok
        and step_module(rule)
        and descent_module(surface, optimizer, "step")
        and descent_module(surface, optimizer, "run")
    )
