"""The UI font shows what people type: π, −, superscripts (imgui's built-in font drew '?')."""

import pytest

imgui = pytest.importorskip("imgui_bundle").imgui

from gradient_explorer.render.fonts import use_ui_font  # noqa: E402
from gradient_explorer.view.formatting import format_number  # noqa: E402

TYPED = "π−–·×÷√²³¹⁰⁴⁵⁶⁷⁸⁹⁻|{}^"


@pytest.fixture
def context():
    ctx = imgui.create_context()
    imgui.set_current_context(ctx)
    yield ctx
    imgui.destroy_context(ctx)


def test_the_builtin_font_lacks_the_typed_maths(context):
    # the reason for the font: without it these characters have no glyph
    io = imgui.get_io()
    font = io.fonts.add_font_default()
    assert not all(font.is_glyph_in_font(ord(c)) for c in "π−√")


def test_the_ui_font_has_every_character_the_parser_accepts(context):
    assert use_ui_font()
    font = imgui.get_io().font_default
    missing = [c for c in TYPED if not font.is_glyph_in_font(ord(c))]
    assert missing == []


@pytest.mark.parametrize("value", [-0.0, -1e-9, -4e-17])
def test_panels_cli_and_labels_never_show_minus_zero(value):
    from gradient_explorer.app.ui import backprop_panel, descent_panel
    from gradient_explorer.cli import backprop as cli_backprop

    assert format_number(value, ".3f") == "0.000"
    for fmt in (descent_panel._num, cli_backprop._fmt, backprop_panel._fmt):
        assert fmt(-0.0) == "0", fmt
