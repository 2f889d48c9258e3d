"""DescentState: runs, steps per second, race history, messages, step-by-step phases."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.descent_mode import DescentState
from gradient_explorer.surfaces.surface import Surface


@pytest.fixture(scope="module")
def himmelblau():
    return Surface.named("himmelblau")


def test_race_history_has_one_row_per_step_and_one_column_per_racer(himmelblau):
    ds = DescentState(kind="race", race=["gd", "sgd", "adam"])
    ds.start_run(himmelblau, (0.0, 0.0))
    ds.step(25)
    hist = ds.history
    assert hist.shape == (26, 3)
    assert hist[0] == pytest.approx([float(himmelblau.f((0.0, 0.0)))] * 3)
    for i, d in enumerate(ds.descents):
        assert hist[-1, i] == pytest.approx(d.f[0])
    assert ds.names == ["gd", "sgd", "adam"] and len(set(ds.colors)) == 3


def test_race_history_ends_a_diverged_racer_and_keeps_a_settled_one(himmelblau):
    ds = DescentState(kind="race", race=["gd", "adam"])
    assert ds.set_hyper("gd", "lr", 1.0) is None  # plain descent at lr 1 flies off
    ds.start_run(himmelblau, (0.5, 0.5))
    ds.step(400)
    gd, adam = ds.descents
    assert ds.names == ["gd", "adam"]
    hist = ds.history
    assert gd.status[0] == "diverged" and adam.status[0] != "diverged"
    end = int(gd.stopped_at[0])
    assert np.isfinite(hist[: end + 1, 0]).all() and np.isnan(hist[end + 1 :, 0]).all()
    assert np.isfinite(hist[:, 1]).all()


def test_steps_per_second_accumulate_frame_time(himmelblau):
    # 2.5 steps per frame (exact in binary): the half step is carried to the next frame
    ds = DescentState(steps_per_second=10.0, playing=True)
    ds.start_run(himmelblau, (0.0, 0.0))
    assert [ds.advance(0.25) for _ in range(4)] == [2, 3, 2, 3]
    assert ds.descents[0].steps[0] == 10
    # many small frames: 64 of 1/64 s at 8 steps/s are 8 steps, none lost or extra
    ds = DescentState(steps_per_second=8.0, playing=True)
    ds.start_run(himmelblau, (0.0, 0.0))
    assert sum(ds.advance(1 / 64) for _ in range(64)) == 8
    assert ds.descents[0].steps[0] == 8
    ds.playing = False
    assert ds.advance(1.0) == 0


def test_convergence_and_divergence_sentences(himmelblau):
    ds = DescentState(optimizer="gd")
    ds.hyper["gd"]["lr"] = 0.01
    ds.start_run(himmelblau, (3.2, 2.1))
    ds.step(2000)
    assert any(m.startswith("ball 0 converged at step") for m in ds.messages)
    assert ds.divergence_warning("gd") is None
    err = ds.set_hyper("gd", "lr", -1.0)
    assert err and "learning rate" in err and ds.hyper["gd"]["lr"] == 0.01
    assert ds.set_hyper("gd", "lr", 0.2) is None  # the converged ball stays converged
    assert ds.descents[0].status[0] == "converged" and ds.divergence_warning("gd") is None
    ds.reset()  # Reset starts over from the same start with the new lr
    ds.step(50)
    warning = ds.divergence_warning("gd")
    assert warning and "diverged at step" in warning and "lr" in warning
    assert any("diverged at step" in m for m in ds.messages)


def test_swarm_and_drop_ball(himmelblau):
    ds = DescentState(kind="swarm", swarm_size=300, optimizer="adam")
    ds.start_run(himmelblau)
    assert ds.descents[0].n == 300
    ds.drop_ball(himmelblau, (1.0, 1.0))
    assert ds.descents[0].n == 301
    ds.step(5)
    assert ds.descents[0].steps[-1] == 5
    ds.reset()
    assert np.allclose(ds.descents[0].positions[-1], [1.0, 1.0])


def test_step_by_step_shows_the_phases_then_takes_the_real_step(himmelblau):
    ds = DescentState(optimizer="adam", step_by_step=True)
    ds.hyper["adam"]["lr"] = 0.1
    ds.start_run(himmelblau, (0.5, 0.5))
    ds.step(3)
    twin = DescentState(optimizer="adam")
    twin.hyper["adam"]["lr"] = 0.1
    twin.start_run(himmelblau, (0.5, 0.5))
    twin.step(4)
    names = []
    phase = ds.next_phase()
    while phase is not None:
        names.append(phase.name)
        assert phase.sentence and phase.vectors[0].shape == (1, 2)
        phase = ds.next_phase()
    assert names == ["gradient", "momentum", "accumulate", "rescaling", "step"]
    assert np.allclose(ds.descents[0].positions, twin.descents[0].positions, rtol=0, atol=1e-12)
    assert ds.descents[0].steps[0] == 4


def test_step_phase_vector_is_the_displacement(himmelblau):
    ds = DescentState(optimizer="sgd")
    ds.hyper["sgd"].update(lr=0.01, momentum=0.9)
    ds.start_run(himmelblau, (0.5, 0.5))
    before = ds.descents[0].positions.copy()
    phase = ds.next_phase()
    while phase.name != "step":
        phase = ds.next_phase()
    step_vec = phase.vectors[0].copy()
    assert ds.next_phase() is None
    assert np.allclose(ds.descents[0].positions - before, step_vec)
    assert np.allclose(ds.last_steps(0), step_vec)


def test_changing_a_hyperparameter_mid_run_keeps_the_balls_and_their_state(himmelblau):
    from gradient_explorer.optim.optimizers import make_optimizer

    ds = DescentState(kind="race", race=["adam", "sgd", "adam"])
    ds.hyper["sgd"]["momentum"] = 0.9
    ds.start_run(himmelblau, (0.5, -1.0))
    ds.step(20)
    before = [d.positions.copy() for d in ds.descents]
    buffers = {k: v.copy() for k, v in ds.descents[0].optimizer.state.items()}
    history = ds.history.copy()
    assert ds.set_hyper("adam", "lr", 0.05) is None
    for d, p in zip(ds.descents, before, strict=True):
        assert np.array_equal(d.positions, p) and d.steps.tolist() == [20]
    adam = ds.descents[0].optimizer
    assert adam.hyper["lr"] == 0.05 and ds.descents[2].optimizer.hyper["lr"] == 0.05
    assert ds.descents[1].optimizer.hyper["lr"] == ds.hyper["sgd"]["lr"]
    assert all(np.array_equal(adam.state[k], v) for k, v in buffers.items())
    assert np.array_equal(ds.history, history)  # the plot goes on, not over
    # the next step is the old optimizer's state stepped with the new lr
    ref = make_optimizer("adam")  # lr 0.001, as the race began
    ref.state = {k: v.copy() for k, v in buffers.items()}
    ref.steps, ref._n, ref._shape = np.array([20]), 1, (1, 2)
    ref.set_hyper(lr=0.05)
    expected = ref.step(before[0], ds.descents[0].gradient.copy())
    ds.step(1)
    assert np.array_equal(ds.descents[0].positions, expected)
    assert ds.history.shape == (22, 3)


def test_a_refused_value_changes_no_run(himmelblau):
    ds = DescentState(optimizer="adam")
    ds.start_run(himmelblau, (0.5, -1.0))
    ds.step(3)
    assert "beta" in ds.set_hyper("adam", "betas", (0.9, 1.5))
    assert ds.descents[0].optimizer.hyper["betas"] == (0.9, 0.999)


@pytest.mark.parametrize("name", ["himmelblau", "six_hump_camel"])
def test_basins_kept_between_steps_equal_basins_worked_out_afresh(name):
    # the minima are clustered once per newly converged ball and the basins once per step:
    # the same answers as clustering every converged ball again and assigning from scratch
    from gradient_explorer.app import descent_mode as dm

    surface = Surface.named(name)
    ds = DescentState()
    ds.kind, ds.swarm_size, ds.optimizer, ds.seed = "swarm", 400, "adam", 3
    ds.start_run(surface)
    extent = surface.extent
    for steps in (5, 40, 200):
        ds.step(steps)
        if steps == 40:
            ds.drop_ball(surface, np.array(surface.teaching.start))
        minima = dm._catalogue_minima(surface)
        for d in ds.descents:
            done = d.positions[d.status_codes == dm.CONVERGED]
            found = dm._add_clusters(minima, done, dm.BASIN_CLUSTER * extent)
            minima = dm._drop_non_minima(surface, found, len(minima))
        assert np.array_equal(ds.known_minima(), minima)
        d = ds.descents[0]
        fresh = dm.assign_basins(minima, d.positions, d.status_codes, extent)
        assert np.array_equal(ds.basins(0), fresh)
        assert ds.basins(0) is ds.basins(0)  # asked again in the same frame: kept


def test_the_history_array_is_made_once_per_step_and_follows_the_rows(himmelblau):
    ds = DescentState(kind="race", race=["gd", "adam"])
    ds.start_run(himmelblau, (1.0, 1.0))
    ds.step(3)
    first = ds.history
    assert ds.history is first  # read every frame: no new array while nothing stepped
    np.testing.assert_array_equal(first, np.array(ds._history))
    ds.step(1)
    assert ds.history is not first and ds.history.shape == (5, 2)
    assert ds.lr_history.shape == (4, 2)
    ds.reset()  # the rows are replaced: the array follows
    assert ds.history.shape == (1, 2)
