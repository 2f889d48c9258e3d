"""Where the floating panels stand: one rule, so that no two open panels overlap.

The side panel ("gradient-explorer") owns the left edge. The other panels that are open
(1D mode, Descent, the attack panel, the data panel, the 2D view, the F1 help) stack top
to bottom in a column at the right edge, the one opened last on top, each with its real
size (measured last frame; one taller than its room scrolls, and is given its height
back at the next relayout). A panel that does not fit under the ones above it starts a
new column to the left, as long as the picture keeps at least ``MIN_FREE`` of the width;
otherwise it folds to its title bar (click it to unfold). The
Backprop panel spans the bottom, between the side panel and the columns (or under the
columns, when that is too narrow). The Session window keeps the bottom-right corner
(``SESSION_RESERVE_EM`` free under the columns). The help is a stacked panel too: opened
last, it stands on top of the right-hand column, over no panel and beside the picture;
in a window too small for that (the picture would keep less than ``HELP_BESIDE`` of the
width or height) it stands over the middle of the free area.

The layout is applied when a panel opens or closes or the window changes size, and when
a panel placed by it changes size. A panel the user has dragged stays where they put it
until the next of those events. ``Placement.free`` (what the panels leave) is where the
window frames the surface."""

from __future__ import annotations

from dataclasses import dataclass, field

from imgui_bundle import imgui

__all__ = ["ORDER", "Layout", "Placement", "arrange"]

#: The stacked panels, in column order: (key, imgui window name).
ORDER = (
    ("curve", "1D mode"),
    ("descent", "Descent"),
    ("attack", "Gradient on the input (A)"),
    ("data", "Data and fit"),
    ("view2d", "###2d view"),
    ("help", "Keys and mouse"),
)
BACKPROP = "Backprop: the chain rule, drawn (B)"
LEFT_EM = 26.0  # the side panel's width (panels.PANEL_WIDTH_EM)
SESSION_RESERVE_EM = 8.6  # under the column: the Session window and the status line
MIN_FREE = 0.3  # a second column only while the picture keeps this much of the width
HELP_BESIDE = 0.2  # the help stands beside the picture while it keeps this much of each side
BELOW_GAIN = 1.25  # the band under the columns is framed in when this much larger
MIN_ROOM_EM = 8.0  # less room than this (or its height) under the others: the panel folds
#: Sizes (em) used before a panel has been drawn once.
GUESS = {
    "curve": (24, 22),
    "descent": (26, 30),
    "attack": (38, 16),
    "data": (24, 20),
    "view2d": (23, 24),
    "backprop": (60, 30),
    "help": (35, 33),
}


@dataclass
class Placement:
    """Where the panels go: top-left corners, the folded ones, and the free area."""

    pos: dict[str, tuple[float, float]] = field(default_factory=dict)
    folded: set[str] = field(default_factory=set)
    backprop: tuple[float, float, float, float] | None = None  # x, y, w, h
    free: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)  # x0, y0, x1, y1
    bottom: float = 0.0  # the columns end above this
    lowest: float = 0.0  # where the lowest placed panel ends (0: none placed)
    rooms: dict[str, float] = field(default_factory=dict)

    def room(self, key: str, default: float) -> float:
        """The most height panel ``key`` may take in its column (it scrolls past that)."""
        return self.rooms.get(key, default)


def arrange(
    display: tuple[float, float],
    em: float,
    sizes: dict[str, tuple[float, float]],
    backprop: bool = False,
    session_width: float | None = None,
) -> Placement:
    """Place the open panels ``sizes`` (key -> width, height in pixels) in ``display``.

    Pure: the same sizes give the same places (see the module's rule). ``backprop``: the
    Backprop panel is open; ``session_width``: the Session window's (bottom right)."""
    width, height = display
    margin = 0.5 * em
    left = (LEFT_EM + 1.0) * em
    bottom = height - SESSION_RESERVE_EM * em
    out = _columns(display, em, sizes, bottom)
    free_bottom = height - 2.0 * em  # the status line
    if backprop:
        tall = min(height * 0.42, 30 * em, max(bottom - 8 * em, 6 * em))
        y = height - 2.4 * em - tall
        session = session_width if session_width is not None else 16 * em
        beside = width - session - 2 * margin  # left of the Session window
        edge = min(out.free[2] - margin, beside)
        if edge - left >= 24 * em:  # between the side panel and the columns
            out.backprop = (left, y, edge - left, tall)
        else:  # a band under the columns
            out = _columns(display, em, sizes, y - margin)
            out.backprop = (left, y, max(beside - left, 10 * em), tall)
        free_bottom = y - margin
        out.free = (left, 0.0, out.free[2], free_bottom)
        return out
    beside = (left, 0.0, out.free[2], free_bottom)
    # Panels that end high up (a wide, short one such as the attack panel) leave the
    # band under them free across the whole width: frame the picture there when that
    # band is clearly the larger free area, so the surface is not squeezed into a strip.
    below = (left, out.lowest + margin, width - margin, bottom)
    if out.lowest > 0 and _area(below) > BELOW_GAIN * _area(beside):
        out.free = below
    else:
        out.free = beside
    return out


def _roomy(free: tuple[float, float, float, float], display: tuple[float, float]) -> bool:
    """Whether the picture keeps ``HELP_BESIDE`` of the window's width and height."""
    x0, y0, x1, y1 = free
    return x1 - x0 >= HELP_BESIDE * display[0] and y1 - y0 >= HELP_BESIDE * display[1]


def _area(rect: tuple[float, float, float, float]) -> float:
    x0, y0, x1, y1 = rect
    return max(x1 - x0, 0.0) * max(y1 - y0, 0.0)


def _columns(display, em, sizes, bottom) -> Placement:
    """The stacked panels in columns from the right edge, above ``bottom``."""
    width, _ = display
    margin = 0.5 * em
    header = em + 2 * imgui.get_style().frame_padding.y if imgui.get_current_context() else 1.5 * em
    left = (LEFT_EM + 1.0) * em
    top = margin
    out = Placement(bottom=bottom)
    columns = [[width - margin, 0.0, top]]  # right edge, width, next y; right to left
    edge = width  # left edge of everything the columns take
    keys = list(sizes)  # in the caller's order
    for i, key in enumerate(keys):
        w, h = sizes[key]
        # room for the title bars of those after it, should they fold too
        end = bottom - (len(keys) - 1 - i) * (header + margin)
        # the first column with room under its panels (no wider than it, but for the
        # last, which may grow to the left) ...
        fits = [c for c in columns if c[2] + h <= end and (w <= c[1] or c is columns[-1])]
        column = fits[0] if fits else columns[-1]
        if not fits and column[2] > top:  # ... else a new column, if the picture keeps room
            new_right = column[0] - column[1] - margin
            widest = max(sizes[k][0] for k in keys[i:])  # all the rest may stand in it
            if (new_right - widest - margin - left) >= MIN_FREE * width:
                column = [new_right, 0.0, top]
                columns.append(column)
        right, _, y = column
        if y + min(h, MIN_ROOM_EM * em) > end and y > top:
            out.folded.add(key)
            h = header
        out.rooms[key] = max(end - y, header)
        h = min(h, out.rooms[key])  # a panel taller than that scrolls
        out.pos[key] = (right - w, y)
        column[1] = max(column[1], w)
        column[2] = y + h + margin
        edge = min(edge, right - w - margin)
        out.lowest = max(out.lowest, y + h)
    out.free = (left, 0.0, max(edge, left + 1.0), bottom)
    return out


class Layout:
    """Applies ``arrange`` to imgui windows from one frame to the next (module rule)."""

    def __init__(self) -> None:
        self._key = None
        self._placed: dict[str, tuple[float, float]] = {}  # where we last put each
        self._moved: set[str] = set()  # dragged by the user since the last relayout
        self._fold: set[str] = set()  # to fold on their next Begin
        self._unfold: set[str] = set()  # folded by the layout, to open on their next Begin
        self._folded: set[str] = set()  # folded by the last relayout
        self._recent: list[str] = []  # the open stacked panels, the newest first
        self._session_for: tuple | None = None  # the display size Session was placed for
        self.placement = Placement()

    @staticmethod
    def _window(name: str):
        w = imgui.internal.find_window_by_name(name)
        return w if w is not None and w.was_active else None

    def update(self, display: tuple[float, float], open_: set[str]) -> Placement:
        """Measure the open panels, relayout if needed; call once a frame before them."""
        em = imgui.get_font_size()
        # the newest panel first, then the others newest first (ORDER among those open
        # together from the start)
        self._recent = [k for k in self._recent if k in open_]
        fresh = [k for k, _ in ORDER if k in open_ and k not in self._recent]
        self._recent = fresh + self._recent
        names = dict(ORDER)
        sizes = {}
        for key in self._recent:
            name = names[key]
            w = self._window(name)
            if w is not None and w.size_full.x > 0:
                sizes[key] = (w.size_full.x, w.size_full.y)
            else:
                gw, gh = GUESS[key]
                sizes[key] = (gw * em, gh * em)
        session = self._window("Session")
        session_width = session.size_full.x if session is not None else None
        placement = arrange(display, em, sizes, "backprop" in open_, session_width)
        if "help" in sizes and not _roomy(placement.free, display):
            # a window too small for the help beside the picture: it stands over it
            del sizes["help"]
            placement = arrange(display, em, sizes, "backprop" in open_, session_width)
        key = (tuple(display), frozenset(open_))
        if key != self._key:  # opened, closed or resized: everything goes back in place
            self._key = key
            self._moved.clear()
            self._placed.clear()
            self._unfold = self._folded - placement.folded  # room again: open them
            self._folded = set(placement.folded)
            self._fold = set(placement.folded)
        else:
            for k, name in ORDER:
                w, last = self._window(name), self._placed.get(k)
                if w is not None and last is not None:
                    if abs(w.pos.x - last[0]) > 1 or abs(w.pos.y - last[1]) > 1:
                        self._moved.add(k)
            # a panel above grew or shrank (the attack panel once its model is trained):
            # fold or open those below it again (not the user's own folding of the others)
            if placement.folded != self._folded:
                fold = placement.folded - self._folded - self._moved
                unfold = self._folded - placement.folded - self._moved
                self._fold, self._unfold = (
                    (self._fold - unfold) | fold,
                    (self._unfold - fold) | unfold,
                )
                self._folded = set(placement.folded)
        self.placement = placement
        return placement

    def place(self, key: str) -> None:
        """Call right before panel ``key``'s Begin: sets its position if the layout owns it."""
        if key == "backprop":
            box = self.placement.backprop
            if box is not None and "backprop" not in self._placed:
                imgui.set_next_window_pos(imgui.ImVec2(box[0], box[1]), imgui.Cond_.always)
                imgui.set_next_window_size(imgui.ImVec2(box[2], box[3]), imgui.Cond_.always)
                self._placed["backprop"] = (box[0], box[1])
            return
        pos = self.placement.pos.get(key)
        if pos is None or key in self._moved:
            return
        if self._placed.get(key) != pos:
            imgui.set_next_window_pos(imgui.ImVec2(*pos), imgui.Cond_.always)
            self._placed[key] = pos
            window = self._window(dict(ORDER)[key])
            if window is not None and not window.collapsed:
                # as tall as its content again (a panel above it, the help say, closed),
                # within the room its caller's size constraint gives it; set on the window
                # itself: the panel's own first-use size must not override it
                fit = imgui.internal.calc_window_next_auto_fit_size(window)
                imgui.internal.set_window_size(
                    window, imgui.ImVec2(window.size_full.x, fit.y), imgui.Cond_.always
                )
        if key in self._fold:
            imgui.set_next_window_collapsed(True, imgui.Cond_.always)
            self._fold.discard(key)
        elif key in self._unfold:
            imgui.set_next_window_collapsed(False, imgui.Cond_.always)
            self._unfold.discard(key)

    def place_session(self, display: tuple[float, float]) -> None:
        """The Session window in the bottom-right corner, above the status line: put back
        there when the window changes size (else where the user left it)."""
        if self._session_for == tuple(display):
            return
        self._session_for = tuple(display)
        em = imgui.get_font_size()
        imgui.set_next_window_pos(
            imgui.ImVec2(display[0] - 0.5 * em, display[1] - 2.4 * em),
            imgui.Cond_.always,
            imgui.ImVec2(1.0, 1.0),
        )

    def place_help(self, display: tuple[float, float]) -> None:
        """The help in its column when it fits beside the picture (see :meth:`update`),
        else over the middle of the free area, vertically centred on the display."""
        if "help" in self.placement.pos:
            self.place("help")
            return
        x0, _, x1, _ = self.placement.free
        help_ = self._window("Keys and mouse")
        half = help_.size.x / 2 if help_ is not None else 0.0
        x = min(max((x0 + x1) / 2, half), display[0] - half)  # on screen
        imgui.set_next_window_pos(
            imgui.ImVec2(x, display[1] / 2), imgui.Cond_.always, imgui.ImVec2(0.5, 0.5)
        )
