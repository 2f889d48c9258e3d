"""The Python API, and the README's example run as written."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import gradient_explorer as ge

README = Path(__file__).resolve().parents[1] / "README.md"


def test_surface_api_on_arrays():
    s = ge.Surface.from_expr("x^2 - y^2")
    xy = np.array([[0.0, 0.0], [1.0, 2.0]])
    np.testing.assert_array_equal(s.f(xy), [0.0, -3.0])
    np.testing.assert_array_equal(s.gradient(xy), [[0.0, 0.0], [2.0, -4.0]])
    np.testing.assert_array_equal(s.hessian(xy)[1], [[2.0, 0.0], [0.0, -2.0]])
    assert list(s.classify(xy)) == ["saddle", "not a critical point"]


def test_descend_returns_positions_and_status():
    path = ge.descend(ge.Surface.named("bowl"), "adam", start=(1.5, -1.0), steps=3000, lr=0.05)
    assert path.status == "converged"
    positions = np.asarray(path)
    assert positions.shape == (len(path), 2)
    np.testing.assert_allclose(positions[-1], [0.0, 0.0], atol=1e-5)


def test_descend_bad_hyperparameter_is_one_line():
    with pytest.raises(ge.UsageError) as info:
        ge.descend(ge.Surface.named("bowl"), "adam", start=(1, 1), steps=10, lr=-1)
    assert "\n" not in str(info.value)


def test_unknown_api_name():
    with pytest.raises(AttributeError):
        ge.nothing_here  # noqa: B018


@pytest.mark.gl
def test_render_returns_rgb_array_with_png_repr(tmp_path):
    image = ge.render("saddle", size=(64, 48), point=(0.5, 0.5), lighting="normals")
    assert image.shape == (48, 64, 3) and image.dtype == np.uint8
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 20  # not a blank frame
    png = image._repr_png_()
    assert png.startswith(b"\x89PNG")
    image.save(tmp_path / "out.png")
    assert (tmp_path / "out.png").read_bytes() == png
    with pytest.raises(ge.UsageError):
        ge.render("saddle", lighting="neon")
    with pytest.raises(ge.UsageError):  # a curve draws in 1D: no lighting (issue 12)
        ge.render("cubic", lighting="normals")


@pytest.mark.parametrize(
    ("surface", "point"),
    [("saddle", (9.0, 0.5)), ("saddle", (0.5, -9.0)), ("cubic", 9.0), ("cubic", (-9.0,))],
)
def test_render_refuses_a_point_outside_the_domain_as_the_cli_does(
    tmp_path, capsys, surface, point
):
    # The API placed any point (the CLI refused it); now both raise the same one line,
    # before any GL loads.
    from gradient_explorer.cli import main

    with pytest.raises(ge.UsageError) as info:
        ge.render(surface, size=(32, 32), point=point)
    api_line = str(info.value)
    text = ",".join(f"{v:g}" for v in np.atleast_1d(point))
    out = tmp_path / "never.png"
    assert main(["render", "--surface", surface, "--point", text, "--out", str(out)]) == 2
    cli_line = capsys.readouterr().err.strip()
    assert "\n" not in api_line and "outside the domain" in api_line
    assert cli_line == f"gradient-explorer: error: --{api_line}"
    assert not out.exists()


@pytest.mark.parametrize(
    ("surface", "point", "words"),
    [
        ("saddle", (1.0,), "two numbers"),
        ("saddle", (1.0, 2.0, 3.0), "two numbers"),
        ("saddle", (np.nan, 0.0), "finite"),
        ("saddle", "a,b", "two numbers"),
        ("cubic", (1.0, 2.0), "one number"),
    ],
)
def test_render_refuses_a_malformed_point_in_one_line(surface, point, words):
    with pytest.raises(ge.UsageError, match=words) as info:
        ge.render(surface, size=(32, 32), point=point)
    assert "\n" not in str(info.value)


def test_render_view_defaults_are_view_options_own():
    # one source of defaults: the API's view is ViewOptions() where nothing is given
    from gradient_explorer.api import _surface_state
    from gradient_explorer.app.state import ViewOptions

    none = (None,) * 3
    state = _surface_state(ge.Surface.named("saddle"), (64, 48), None, *none, False, False,
                           True, None, None, None)  # fmt: skip
    assert state.view == ViewOptions()
    state = _surface_state(ge.Surface.named("saddle"), (64, 48), None, None, None, False,
                           True, False, True, None, None, 64)  # fmt: skip
    assert (state.view.floor, state.view.field, state.view.grid) == (True, True, 64)


@pytest.mark.gl
def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    example = next(b for b in blocks if "import gradient_explorer as ge" in b)
    exec(compile(example, str(README), "exec"), {})  # the README's own, trusted text
    out = capsys.readouterr().out
    assert "['saddle' 'not a critical point']" in out
    assert "(300, 400, 3)" in out
