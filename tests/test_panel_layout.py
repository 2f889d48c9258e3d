"""The floating panels' layout (app/ui/layout.py): no two open panels overlap, and the
surface is framed in the area they leave free."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from gradient_explorer.app.ui.layout import ORDER, arrange

SIZES = ((1280, 720), (1920, 1080))
EM = 14.0


def _overlap(a, b) -> float:
    """Overlapping area of two rectangles (x0, y0, x1, y1), 0 if none."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(w, 0.0) * max(h, 0.0)


def test_arrange_keeps_panels_apart_and_out_of_the_free_area():
    """Every subset of panels, of sizes from small to larger than the window."""
    rng = np.random.default_rng(0)
    keys = [k for k, _ in ORDER]
    for display in SIZES:
        for r in range(len(keys) + 1):
            for subset in itertools.combinations(keys, r):
                for backprop in (False, True):
                    # as wide as the widest panel (38 em), short to taller than the window
                    sizes = {k: (rng.uniform(10, 38) * EM, rng.uniform(5, 80) * EM) for k in subset}
                    p = arrange(display, EM, sizes, backprop, 16 * EM)
                    header = 1.5 * EM
                    w, h = display  # the Session window, bottom right above the status line
                    rects = {"session": (w - 16.5 * EM, h - 8.0 * EM, w - 0.5 * EM, h - 2.4 * EM)}
                    for k in subset:
                        x, y = p.pos[k]
                        # a panel scrolls past its room in the column
                        h = header if k in p.folded else min(sizes[k][1], p.room(k, 0))
                        rects[k] = (x, y, x + sizes[k][0], y + h)
                        assert rects[k][2] <= display[0]  # on screen at the right
                    if p.backprop is not None:
                        x, y, w, h = p.backprop
                        rects["backprop"] = (x, y, x + w, y + h)
                    for a, b in itertools.combinations(rects, 2):
                        assert _overlap(rects[a], rects[b]) == 0, (display, a, b, rects)
                    for k, rect in rects.items():
                        if k != "session":
                            assert _overlap(rect, p.free) == 0, (display, k, rect, p.free)
                    x0, _, x1, _ = p.free
                    assert x1 - x0 > 0.2 * display[0]  # the picture keeps room


# ---------------------------------------------------------------------- the real app

TITLES = {
    "left": "gradient-explorer",
    "session": "Session",
    "curve": "1D mode",
    "descent": "Descent",
    "attack": "Gradient on the input (A)",
    "data": "Data and fit",
    "backprop": "Backprop: the chain rule, drawn (B)",
    "help": "Keys and mouse",
}


def _rects(names) -> dict:
    from imgui_bundle import imgui

    out = {}
    for name in names:
        w = imgui.internal.find_window_by_name(TITLES[name])
        assert w is not None and w.active, name
        out[name] = (w.pos.x, w.pos.y, w.pos.x + w.size.x, w.pos.y + w.size.y)
    return out


def _settle(h, most: int = 30) -> None:
    """Frames until the panels stop moving and changing size: a panel takes its size on
    its second frame (the attack panel grows again once its digits model is loaded), the
    layout follows on the next."""
    from imgui_bundle import imgui

    last = None
    for _ in range(most):
        h.frame(1)
        imgui.set_current_context(h.app._imgui_ctx)
        now = []
        for name in TITLES.values():
            w = imgui.internal.find_window_by_name(name)
            if w is not None and w.active:
                now.append((name, w.pos.x, w.pos.y, w.size.x, w.size.y))
        if now == last:
            return
        last = now


def _open(h, curve, descent, attack, backprop, help_) -> list[str]:
    app, state, ui = h.app, h.state, h.app.ui
    state.mode = "curve" if curve else "surface"
    ui.show_descent = descent
    app.attack_panel.visible = attack
    app.backprop_panel.visible = backprop
    ui.show_help = help_
    _settle(h)
    names = ["left", "session", "data"]
    names += ["curve"] if curve else []
    names += ["descent"] if descent and not curve else []
    names += ["attack"] if attack else []
    names += ["backprop"] if backprop else []
    names += ["help"] if help_ else []
    return names


@pytest.mark.gl
@pytest.mark.parametrize("size", SIZES)
def test_no_two_panels_overlap_in_any_combination(harness, size):
    """A model surface (so the data panel is open) with the 1D panel, the Descent, attack
    and Backprop panels and the help, in every combination a learner can reach."""
    from imgui_bundle import imgui

    from gradient_explorer.surfaces.model_surface import from_model

    h = harness
    h.resize(*size)
    h.state.set_surface(from_model("logistic", "breast_cancer"), size[0] / size[1])
    h.frame(2)
    for combo in itertools.product((False, True), repeat=5):
        curve, descent, help_ = combo[0], combo[1], combo[4]
        if curve and descent:
            continue  # the 1D mode hides the Descent panel: the same as without it
        names = _open(h, *combo)
        imgui.set_current_context(h.app._imgui_ctx)
        rects = _rects(names)
        for a, b in itertools.combinations(names, 2):
            assert _overlap(rects[a], rects[b]) == 0, (size, combo, a, b, rects)
        for name, r in rects.items():  # on screen
            assert r[0] >= 0 and r[1] >= 0 and r[2] <= size[0] and r[3] <= size[1], (name, r)
        if help_:  # it stood over the picture (and over panels): now beside it
            free = h.app.ui.layout.placement.free
            assert _overlap(rects["help"], free) == 0, (size, combo, rects["help"], free)
            assert "help" not in h.app.ui.layout.placement.folded  # the newest: on top


@pytest.mark.gl
@pytest.mark.parametrize(("mode", "title"), [("descent", "Descent"), ("curve", "1D mode")])
def test_the_help_opened_on_top_and_closed_gives_the_panel_under_it_its_height(
    harness, mode, title
):
    """F1 stacks the help above the open panel, which scrolls in the room left under it
    (the 1D panel ran off the screen); closing the help gives back the height it had."""
    from imgui_bundle import imgui

    h = harness
    h.resize(1280, 720)

    def rect():
        imgui.set_current_context(h.app._imgui_ctx)
        w = imgui.internal.find_window_by_name(title)
        return (w.pos.x, w.pos.y, w.pos.x + w.size.x, w.pos.y + w.size.y)

    h.state.mode = "curve" if mode == "curve" else "surface"
    h.app.ui.show_descent = mode == "descent"
    _settle(h)
    alone = rect()
    h.app.ui.show_help = True
    _settle(h)
    under = rect()
    help_ = _rects(["help"])["help"]
    assert _overlap(under, help_) == 0 and under[1] >= help_[3]
    assert under[3] <= 720 - 2 * EM  # above the status line: it scrolls
    h.app.ui.show_help = False
    _settle(h)
    assert rect() == alone


@pytest.mark.gl
def test_in_a_small_window_the_help_stands_over_the_picture(harness):
    """At 800x600 the help beside the side panel would leave the picture a strip 55
    pixels tall: it stands over the middle of the free area instead, which stays whole."""
    h = harness
    h.resize(800, 600)
    _settle(h)
    free = h.app.ui.layout.placement.free
    h.app.ui.show_help = True
    _settle(h)
    assert h.app.ui.layout.placement.free == free
    x0, y0, x1, y1 = _rects(["help"])["help"]
    assert abs((x0 + x1) / 2 - (free[0] + free[2]) / 2) < 2 or x0 < 1 or x1 > 799
    assert y0 >= 0 and y1 <= 600


@pytest.mark.gl
@pytest.mark.parametrize("size", SIZES)
def test_surface_is_framed_in_the_free_area(harness, size):
    """With the side panel, Descent, attack, data and Backprop panels open, the surface's
    projected box lies (mostly) in the area the panels leave, centred there."""
    from gradient_explorer.surfaces.model_surface import from_model

    h = harness
    h.resize(*size)
    h.state.set_surface(from_model("logistic", "breast_cancer"), size[0] / size[1])
    names = _open(h, False, True, True, True, False)
    h.frame(40, dt=0.1)  # the camera eases to the new home
    from imgui_bundle import imgui

    imgui.set_current_context(h.app._imgui_ctx)
    rects = _rects(names)
    lo, hi = h.state.scene_bounds()
    corners = np.array(list(itertools.product(*zip(lo, hi, strict=True))), dtype=float)
    screen = np.array([h.app.interaction.to_screen(c) for c in corners])
    box = (*screen.min(axis=0), *screen.max(axis=0))
    area = (box[2] - box[0]) * (box[3] - box[1])
    on_screen = _overlap(box, (0, 0, *size)) / area
    covered = sum(_overlap(box, r) for r in rects.values()) / area
    assert on_screen > 0.95 and covered < 0.1, (box, rects)
    free = h.app.ui.layout.placement.free
    centre = (box[0] + box[2]) / 2
    assert abs(centre - (free[0] + free[2]) / 2) < 0.1 * (free[2] - free[0]), (box, free)


@pytest.mark.gl
def test_race_plot_legend_stands_beside_the_lines(ctx, monkeypatch):
    """The f-against-step plot (descent panel, data panel, a recording's inset): its
    legend is outside the plotting area, so it hides no line (a run starts top right)."""
    from imgui_bundle import imgui, implot

    from gradient_explorer.app.state import AppState
    from gradient_explorer.render import labels
    from gradient_explorer.render.headless import HeadlessRenderer
    from gradient_explorer.surfaces.surface import Surface

    state = AppState.for_surface(Surface.named("banana"), aspect=1.5)
    ds = state.descent
    ds.kind, ds.race = "race", ["gd", "adam", "rmsprop"]
    ds.start_run(state.surface)
    ds.step(30)
    seen = []
    end_plot = implot.end_plot

    def spy():
        plot = implot.internal.get_current_plot()
        r, legend = plot.plot_rect, plot.items.legend.rect
        seen.append(((r.min.x, r.min.y, r.max.x, r.max.y),
                     (legend.min.x, legend.min.y, legend.max.x, legend.max.y)))  # fmt: skip
        end_plot()

    monkeypatch.setattr(labels.implot, "end_plot", spy)

    def ui():
        imgui.set_next_window_pos(imgui.ImVec2(10, 10))
        imgui.set_next_window_size(imgui.ImVec2(420, 260))
        imgui.begin("plot")
        labels.draw_race_plot(state, 200, follow=True)
        imgui.end()

    renderer = HeadlessRenderer(ctx)
    try:
        for _ in range(3):
            renderer.render(state, (600, 400), draw_ui=ui)
    finally:
        renderer.release()
        ctx.detect_framebuffer(0).use()
    plot, legend = seen[-1]
    assert legend[2] - legend[0] > 10  # a legend is drawn
    assert _overlap(plot, legend) == 0, (plot, legend)


@pytest.mark.gl
def test_panels_below_a_growing_panel_fold_out_of_its_way(harness):
    """The attack panel opens short ("training ...") and grows once its digits model is
    trained: the Descent and data panels under it move down, and fold where no room is
    left, rather than run into each other and the Session window."""
    from imgui_bundle import imgui

    from gradient_explorer.surfaces.model_surface import from_model

    h = harness
    size = (1280, 720)
    h.resize(*size)
    h.state.set_surface(from_model("logistic", "breast_cancer"), size[0] / size[1])
    names = _open(h, False, True, False, False, False)
    h.app.attack_panel.visible = True
    h.frame(1)  # its first frame: the title bar only
    names.append("attack")
    imgui.set_current_context(h.app._imgui_ctx)
    short = _rects(["attack"])["attack"]

    def grown() -> bool:
        imgui.set_current_context(h.app._imgui_ctx)
        r = _rects(["attack"])["attack"]
        return r[3] - r[1] > max(short[3] - short[1], 0) + 360  # the digits are shown

    h.frames_until(grown, timeout=120.0)
    assert grown()
    _settle(h)
    imgui.set_current_context(h.app._imgui_ctx)
    rects = _rects(names)
    for a, b in itertools.combinations(names, 2):
        assert _overlap(rects[a], rects[b]) == 0, (a, b, rects)
    folded = h.app.ui.layout.placement.folded
    assert folded, (rects, h.app.ui.layout.placement)  # no room under the attack panel
    for key in folded:  # folded to a title bar, not squeezed to one
        assert imgui.internal.find_window_by_name(TITLES[key]).collapsed, key


def test_a_short_wide_panel_leaves_the_band_under_it_to_the_picture():
    """The attack panel (wide, short) at the top right: the band under it, across the
    whole width, is the free area rather than the strip beside it."""
    em, size = 14.0, (1280.0, 720.0)
    placement = arrange(size, em, {"attack": (38 * em, 14 * em)})
    x0, y0, x1, y1 = placement.free
    ax, ay = placement.pos["attack"]
    assert y0 >= ay + 14 * em  # under the panel ...
    assert x1 > ax + 38 * em - 1 and x0 == (26 + 1) * em  # ... as wide as the window allows
    assert y1 < size[1]  # above the Session window
    # a tall panel keeps the old rule: the strip beside the column, full height
    tall = arrange(size, em, {"descent": (26 * em, 40 * em)})
    assert tall.free[1] == 0.0 and tall.free[2] <= tall.pos["descent"][0]


@pytest.mark.gl
def test_the_surface_is_framed_under_a_short_panel(harness):
    from imgui_bundle import imgui

    from gradient_explorer.surfaces.surface import Surface

    h = harness
    h.resize(1280, 720)
    h.state.set_surface(Surface.named("himmelblau"), 1280 / 720)
    h.app.attack_panel.visible = True
    h.app.attack_panel._fold_digits = True  # short: the digits section folded (its images
    _settle(h)  # make it tall once the digits model is trained, as other tests may have)
    h.frame(40, dt=0.1)  # the camera eases to the new home
    imgui.set_current_context(h.app._imgui_ctx)
    lo, hi = h.state.scene_bounds()
    corners = np.array(list(itertools.product(*zip(lo, hi, strict=True))), dtype=float)
    screen = np.array([h.app.interaction.to_screen(c) for c in corners])
    box = (*screen.min(axis=0), *screen.max(axis=0))
    free = h.app.ui.layout.placement.free
    assert free[1] > 0, (free, h.app.ui.layout.placement.pos, _rects(["attack"]))
    covered = sum(_overlap(box, r) for r in _rects(["attack"]).values())
    assert covered / ((box[2] - box[0]) * (box[3] - box[1])) < 0.1, (box, free)
    assert box[2] - box[0] > 0.5 * (free[2] - free[0])  # it fills the band, not a strip
