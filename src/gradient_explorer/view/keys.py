"""The explorer's key and mouse bindings: one table, read by everything that needs it.

The app's key handler dispatches on it (:meth:`ExplorerApp.key
<gradient_explorer.app.window.ExplorerApp.key>`), the camera controller performs its
camera actions (:meth:`OrbitController.key <gradient_explorer.view.controller.OrbitController.key>`)
and the F1 help lists its rows (:data:`KEY_HELP`). A key is bound here or nowhere.

Keys are named as moderngl-window's ``Keys`` attributes (``"SPACE"``, ``"NUMBER_1"``,
``"F12"``); ``"?"`` is a typed character (it sits on different keys in different
layouts). Mouse rows have no keys: :class:`~gradient_explorer.view.interaction.Interaction`
handles the pointer, the table only says what it does.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "BINDINGS",
    "CAMERA_ACTIONS",
    "KEY_HELP",
    "KEY_TABLE",
    "Binding",
    "HelpRow",
    "binding_for",
]

#: Actions the camera controller performs; the app does the others.
CAMERA_ACTIONS = (
    "reset",
    "preset top",
    "preset side",
    "preset three_quarter",
    "toggle projection",
    "orbit left",
    "orbit right",
    "orbit up",
    "orbit down",
    "zoom in",
    "zoom out",
)


@dataclass(frozen=True)
class Binding:
    """One key: its name, the modifier it needs, and the action it triggers.

    ``repeat``: a held key keeps acting (the window's key-repeat events), as for the
    arrows; ``char``: the key is a typed character (``"?"``), not a key name.
    """

    key: str
    action: str
    ctrl: bool = False
    repeat: bool = False
    char: bool = False


@dataclass(frozen=True)
class HelpRow:
    """One line of the F1 help: how it reads, what it does, and the keys behind it."""

    keys: str
    text: str
    bindings: tuple[Binding, ...] = ()


def _orbit_and_zoom() -> tuple[Binding, ...]:
    arrows = tuple(
        Binding(name, f"orbit {name.lower()}", repeat=True)
        for name in ("LEFT", "RIGHT", "UP", "DOWN")
    )
    # the + key without shift; moderngl-window names no keypad + or - (the old table's
    # NUMPAD_ADD / NUMPAD_SUBTRACT were never sent)
    zoom = (Binding("EQUAL", "zoom in", repeat=True), Binding("MINUS", "zoom out", repeat=True))
    return arrows + zoom


#: The table, in the order the help lists it.
KEY_TABLE: tuple[HelpRow, ...] = (
    HelpRow("left click", "place the point on the surface (or the floor map)"),
    HelpRow("left drag on the point", "move it along the surface"),
    HelpRow("left drag", "orbit"),
    HelpRow("right drag, shift + drag", "pan"),
    HelpRow("wheel", "zoom toward the cursor"),
    HelpRow("Space", "play / pause the animations", (Binding("SPACE", "play"),)),
    HelpRow("R", "reset the view", (Binding("R", "reset"),)),
    HelpRow(
        "T / S / Q",
        "top / side / three-quarter view",
        (
            Binding("T", "preset top"),
            Binding("S", "preset side"),
            Binding("Q", "preset three_quarter"),
        ),
    ),
    HelpRow("O", "perspective / orthographic", (Binding("O", "toggle projection"),)),
    HelpRow("arrows, + / -", "orbit, zoom", _orbit_and_zoom()),
    HelpRow("L", "cycle the lighting mode", (Binding("L", "cycle lighting"),)),
    HelpRow("C", "level curves on / off", (Binding("C", "toggle contours"),)),
    HelpRow("G", "gradient field on the floor", (Binding("G", "toggle field"),)),
    HelpRow(
        "B", "backprop: the computation graph at the point", (Binding("B", "toggle backprop"),)
    ),
    HelpRow(
        "A",
        "gradient on the input: adversarial steps (digits, input plane)",
        (Binding("A", "toggle attack"),),
    ),
    HelpRow(
        "1 / 2",
        "surface mode / curve (1D) mode",
        (
            Binding("NUMBER_1", "surface mode"),
            Binding("NUMPAD_1", "surface mode"),
            Binding("NUMBER_2", "curve mode"),
            Binding("NUMPAD_2", "curve mode"),
        ),
    ),
    HelpRow("F12", "screenshot (PNG in the current folder)", (Binding("F12", "screenshot"),)),
    HelpRow(
        "Ctrl+S / Ctrl+O",
        "save / load the session (gradient-explorer-session.json)",
        (Binding("S", "save session", ctrl=True), Binding("O", "load session", ctrl=True)),
    ),
    HelpRow(
        "F1 or ?",
        "this help",
        (Binding("F1", "toggle help"), Binding("?", "toggle help", char=True)),
    ),
    HelpRow("Esc", "close the help, else quit", (Binding("ESCAPE", "close"),)),
)

#: Every key binding of the table, in its order.
BINDINGS: tuple[Binding, ...] = tuple(b for row in KEY_TABLE for b in row.bindings)

#: What the F1 help shows: (keys, text) per row.
KEY_HELP: tuple[tuple[str, str], ...] = tuple((row.keys, row.text) for row in KEY_TABLE)

_BY_KEY: dict[tuple[str, bool, bool], Binding] = {}
for _b in BINDINGS:
    _index = (_b.key if _b.char else _b.key.upper(), _b.ctrl, _b.char)
    if _index in _BY_KEY:  # a key bound twice would do one thing and list two
        raise ValueError(f"key {_b.key!r} is bound twice")
    _BY_KEY[_index] = _b


def binding_for(key: str, ctrl: bool = False, char: bool = False) -> Binding | None:
    """The binding of a key name (any case) or, with ``char``, of a typed character."""
    return _BY_KEY.get((key if char else str(key).upper(), bool(ctrl), bool(char)))
