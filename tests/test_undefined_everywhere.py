"""An f undefined on the whole domain (log(-1 - x^2 - y^2)): the picture is empty, so one
line says why (render's stderr, the window's status line), and it holds no f axis with a
stray tick (-0.5) from the placeholder height range."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.render.scene import axes_geometry, drawing_note
from gradient_explorer.surfaces.surface import Surface

UNDEFINED = ["log(-1 - x^2 - y^2)", "sqrt(-1 - |x| - |y|)", "acos(2 + x^2 + y^2)"]


@pytest.mark.parametrize("expr", UNDEFINED)
def test_the_note_says_f_is_undefined_everywhere(expr):
    surface = Surface.from_expr(expr, dim=2, domain=((-2.0, 1.0), (0.0, 5.0)))
    note = drawing_note(surface)
    assert note is not None and "\n" not in note
    assert "f is undefined everywhere on the domain [-2, 1] x [0, 5]" in note
    assert surface.height_range().empty


@pytest.mark.parametrize("expr", ["x^2 + y^2", "log(x) + y", "sqrt(1 - x^2 - y^2)"])
def test_f_defined_somewhere_has_no_such_note(expr):
    """log(x) is undefined on half the domain: drawn where it exists, no note."""
    surface = Surface.from_expr(expr, dim=2)
    assert drawing_note(surface) is None and not surface.height_range().empty


@pytest.mark.parametrize("expr", UNDEFINED)
def test_no_f_axis_and_no_f_ticks_when_f_exists_nowhere(expr):
    surface = Surface.from_expr(expr, dim=2)
    heights = surface.height_range()
    lines, labels = axes_geometry(surface, heights)
    # only the floor's x and y axes: every segment lies at the axes' base height
    assert np.all(lines[:, 2] == np.float32(heights.floor_z))
    texts = {label.text for label in labels}
    assert "f" not in texts and "-0.5" not in texts and {"x", "y"} <= texts
    defined = Surface.from_expr("x^2 + y^2", dim=2)
    _, with_f = axes_geometry(defined, defined.height_range())
    assert "f" in {label.text for label in with_f}


@pytest.mark.gl
def test_render_says_so_in_one_line_and_exits_0(tmp_path, capsys):
    from gradient_explorer.cli import main

    out = tmp_path / "r.png"
    rc = main(["render", "--expr", UNDEFINED[0], "--size", "96x64", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 0 and out.stat().st_size > 0
    assert len(err) == 1 and "f is undefined everywhere on the domain" in err[0]
