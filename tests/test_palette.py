"""One palette: every verdict, status, racer and glyph colour comes from palette.py."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gradient_explorer.render import palette

SRC = Path(palette.__file__).parent
VERDICT_WORDS = ("minimum", "maximum", "saddle", "converged", "diverged", "running")


def _sources():
    for path in sorted(SRC.rglob("*.py")):
        if path.name != "palette.py":
            yield path, path.read_text()


def test_no_other_module_defines_a_verdict_or_status_colour():
    # a colour literal keyed by a verdict or status word: "minimum": (0.3, ...) or ImVec4(...)
    literal = re.compile(
        "[\"'](" + "|".join(VERDICT_WORDS) + r")[\"']\s*:\s*(imgui\.ImVec4\(|\()\s*[0-9.]"
    )
    offenders = [str(path.relative_to(SRC)) for path, text in _sources() if literal.search(text)]
    assert offenders == []


def test_no_other_module_defines_glyph_or_racer_colours():
    names = re.compile(
        r"^(GRADIENT_X_COLOR|GRADIENT_Y_COLOR|MOMENTUM_COLOR|STEP_COLOR|MOMENT_COLOR"
        r"|PHASE_COLOR|CURVE_COLOR|DERIVATIVE_COLOR|TANGENT_COLOR|POINT_COLOR|SLICE_COLOR"
        r"|DIAL_YELLOW|RED)\s*=\s*(imgui\.ImVec4)?\(\s*[0-9.]",
        re.M,
    )
    offenders = [str(path.relative_to(SRC)) for path, text in _sources() if names.search(text)]
    assert offenders == []


def test_the_modules_use_the_palette_objects():
    pytest.importorskip("imgui_bundle")
    from gradient_explorer.app import descent_mode
    from gradient_explorer.app.ui import curve_panel, descent_panel, panels
    from gradient_explorer.render.visuals import balls_visual, curve_visual

    assert curve_visual.KIND_COLORS is palette.VERDICT_COLORS
    assert curve_panel._KIND_COLORS is palette.VERDICT_COLORS
    assert descent_panel.STATUS_COLORS is palette.STATUS_COLORS
    assert descent_mode.PALETTE is palette.RACER_COLORS
    for name, color in palette.VERDICT_COLORS.items():
        v = panels.VERDICT_COLORS[name]
        assert (v.x, v.y, v.z, v.w) == pytest.approx(color)
    assert balls_visual.STATUS_RGB.tolist() == [
        list(palette.rgb(palette.STATUS_COLORS[s])) for s in ("running", "converged", "diverged")
    ]


def test_a_minimum_is_one_colour_in_2d_and_in_1d():
    # the bug: cyan in the Point panel, green in the 1D mode
    from gradient_explorer.app.ui import panels
    from gradient_explorer.render.visuals import curve_visual

    v = panels.VERDICT_COLORS["minimum"]
    assert (v.x, v.y, v.z, v.w) == pytest.approx(curve_visual.KIND_COLORS["minimum"])


def test_basin_colours_are_distinct_and_undecided_is_grey():
    colors = [palette.basin_color(k) for k in range(len(palette.BASIN_COLORS))]
    assert len(set(colors)) == len(colors)
    assert palette.basin_color(-1) == palette.UNDECIDED_COLOR
    r, g, b = palette.UNDECIDED_COLOR
    assert max(r, g, b) - min(r, g, b) < 0.1  # grey: no hue to confuse with a basin


def test_the_scene_and_its_visuals_take_every_colour_from_the_palette():
    # an RGBA literal (four numbers in a tuple) in the render layer's drawing code
    rgba = re.compile(r"\(\s*\d?\.\d+\s*,\s*\d?\.\d+\s*,\s*\d?\.\d+\s*,\s*\d?\.\d+\s*\)")
    paths = [*sorted((SRC / "visuals").glob("*.py")), SRC / "scene.py", SRC / "label.py"]
    offenders = [p.name for p in paths if rgba.search(p.read_text())]
    assert offenders == []


def test_the_ball_shaders_outline_is_the_palettes():
    from gradient_explorer.render.shader_loader import shader_dir

    for name in ("balls.glsl", "ball_points.glsl"):
        text = (shader_dir() / name).read_text()
        found = re.search(r"const vec3 OUTLINE = vec3\(([^)]*)\)", text)
        assert found, name
        values = tuple(float(v) for v in found.group(1).split(","))
        assert values == pytest.approx(palette.OUTLINE_COLOR), name
