"""ellipsize (one-line text cut to a width) and step_ticks (whole-number step ticks)."""

from __future__ import annotations

import numpy as np
import pytest

from gradient_explorer.app.ui.text_fit import ELLIPSIS, ellipsize


def _width(s: str) -> float:
    return 7.0 * len(s)  # a monospaced font, 7 pixels a character


@pytest.mark.parametrize("room", [0.0, 20.0, 50.0, 140.0, 300.0, 1000.0])
def test_ellipsize_fits_the_room_and_keeps_the_longest_start(room):
    text = "newton left the domain at step 2 and came back at step 3"
    out = ellipsize(text, room, _width)
    if _width(text) <= room:
        assert out == text
        return
    assert out.endswith(ELLIPSIS)
    head = out[: -len(ELLIPSIS)]
    assert text.startswith(head)
    assert _width(out) <= room or head == ""
    # a little more of the text would not have fitted (a word kept whole costs < 20 %)
    longer = text[: len(head) + max(2, int(0.25 * len(head)) + 1)] + ELLIPSIS
    assert _width(longer) > room


def test_ellipsize_keeps_short_text_whole():
    assert ellipsize("ok", 100.0, _width) == "ok"
    assert ellipsize("", 0.0, _width) == ""


def test_step_ticks_are_whole_numbers_covering_the_steps():
    from gradient_explorer.render.labels import step_ticks

    for last in [*range(40), 89, 99, 100, 101, 250, 999, 1000, 12345]:
        ticks = step_ticks(last)
        assert np.all(ticks == np.round(ticks)), last
        assert ticks[0] == 0 and ticks[-1] >= max(last, 1), last
        assert 2 <= len(ticks) <= 7, (last, ticks)
        spacing = np.diff(ticks)
        assert np.all(spacing == spacing[0]) and spacing[0] >= 1, last
        assert ticks[-1] - spacing[0] < max(last, 1), last  # no tick wasted past the end
