"""The chain rule, drawn: the expression's computation graph at the point (key B).

Boxes are the nodes (leaves on the left, f on the right), each with its forward value and
its adjoint df/dnode; every edge carries its local derivative. A slider and step buttons
replay the backward pass one node at a time: the node being processed hands its adjoint,
times each edge's local derivative, to its inputs. Hovering a node highlights its
subexpression in the formula and shows its adjoint as the sum over its paths.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from imgui_bundle import imgui

from gradient_explorer.errors import GradientExplorerError
from gradient_explorer.render.palette import DIM_COLOR
from gradient_explorer.surfaces.sampled import why_no_formula
from gradient_explorer.view.formatting import format_number

if TYPE_CHECKING:  # the pass itself parses with sympy: imported when the panel first runs it
    from gradient_explorer.surfaces.backprop import Backprop

VALUE_GREEN = (0.45, 0.9, 0.55, 1.0)
GRAD_RED = (1.0, 0.45, 0.42, 1.0)
STEP_YELLOW = (1.0, 0.86, 0.25, 1.0)
DIM = DIM_COLOR
BOX = (0.16, 0.17, 0.22, 0.96)
BOX_LEAF = (0.13, 0.2, 0.26, 0.96)
EDGE = (0.55, 0.58, 0.66, 0.9)
LABEL_BG = (0.08, 0.08, 0.1, 0.85)
MAX_LABEL = 18  # characters of a subexpression inside a box; the full text is on hover


def _fmt(value: float | None) -> str:
    if value is None:
        return "?"
    return format_number(value, ".4g") if math.isfinite(value) else "NaN"


def _wrapped(colour, text: str) -> None:
    imgui.push_style_color(imgui.Col_.text, colour)
    imgui.text_wrapped(text)
    imgui.pop_style_color()


def _short(text: str) -> str:
    return text if len(text) <= MAX_LABEL else text[: MAX_LABEL - 2] + ".."


@dataclass
class BackpropPanel:
    """The panel's own state; ``draw(state)`` each frame while it is visible."""

    visible: bool = False
    step: int | None = None  # backward steps shown; None: all (follows the point live)
    hovered: int | None = None
    _followed: int | None = None  # the step node the graph last scrolled to
    # One graph at a time: its layouts by font size (the panel asks at two sizes when it
    # shrinks a wide graph), and the last pass, kept while surface, point and parameters stay.
    _layout_cache: tuple = (None, None)  # (circuit, {em: layout})
    _result_cache: tuple = (None, None, None)  # (surface, (point, params), Backprop)
    _full: tuple | None = None  # ((x, y), (w, h)) before a one-line message shrank it

    def toggle(self) -> None:
        self.visible = not self.visible

    def draw(self, state, layout=None) -> None:
        """The window; ``layout`` (layout.Layout) places it among the other panels."""
        if not self.visible:
            return
        em = imgui.get_font_size()
        io = imgui.get_io()
        width, height = io.display_size.x, io.display_size.y
        if layout is not None:
            layout.place("backprop")
        else:  # along the bottom, right of the side panel (26 em)
            left = min(27.0 * em, width * 0.3)
            imgui.set_next_window_pos(
                imgui.ImVec2(left, height - 2.4 * em),
                imgui.Cond_.first_use_ever,
                imgui.ImVec2(0, 1),
            )
            imgui.set_next_window_size(
                imgui.ImVec2(width - left - 0.5 * em, min(height * 0.55, 34 * em)),
                imgui.Cond_.first_use_ever,
            )
        imgui.set_next_window_bg_alpha(0.93)
        expanded, still_open = imgui.begin("Backprop: the chain rule, drawn (B)", True)
        if expanded:
            target = self._target(state)
            if isinstance(target, str):
                self._message(target, DIM)
            else:
                self._contents(state, em, target)
        imgui.end()
        if not still_open:
            self.visible = False

    # ------------------------------------------------------------------ contents

    def _target(self, state):
        """(surface, point) the panel explains, or a sentence saying why there is none."""
        if state.mode == "curve":
            curve_state = state.curve
            if curve_state.source == "slice":
                return "The slice has no formula of its own: pick a curve or go to 3D."
            return curve_state.own_curve(), (curve_state.x,)
        # an image, an elevation map, a model's loss: its label is no formula to parse
        reason = why_no_formula(state.surface)
        if reason:
            return reason
        if state.point is None:
            return "Click the surface to place the point: its graph appears here."
        return state.surface, tuple(state.point)

    def _message(self, text: str, colour) -> None:
        """Only ``text``: the window shrinks to it, keeping its bottom edge (a graph's
        half of the window is not needed to say one line); :meth:`_restore` undoes it."""
        style = imgui.get_style()
        pos, size = imgui.get_window_pos(), imgui.get_window_size()
        wrap = max(size.x - 2 * style.window_padding.x, 1.0)
        text_h = imgui.calc_text_size(text, wrap_width=wrap).y
        height = imgui.get_frame_height() + text_h + 2 * style.window_padding.y
        if abs(size.y - height) > 0.5:
            if self._full is None or size.y > height:
                self._full = ((pos.x, pos.y), (size.x, size.y))  # the box a graph had
            imgui.set_window_pos(imgui.ImVec2(pos.x, pos.y + size.y - height))
            imgui.set_window_size(imgui.ImVec2(size.x, height))
        imgui.push_style_color(imgui.Col_.text, colour)
        imgui.text_wrapped(text)
        imgui.pop_style_color()

    def _restore(self) -> None:
        """The box the window had before a message shrank it, once a graph is back."""
        if self._full is not None:
            (x, y), (w, h) = self._full
            imgui.set_window_pos(imgui.ImVec2(x, y))
            imgui.set_window_size(imgui.ImVec2(w, h))
            self._full = None

    def _contents(self, state, em: float, target) -> None:
        surface, point = target
        try:
            result = self._backprop(surface, point)
        except GradientExplorerError as exc:
            self._message(str(exc), GRAD_RED)
            return
        self._restore()
        total = len(result.steps)
        shown = total if self.step is None else min(self.step, total)
        self._formula(result, shown)
        self._controls(result, shown, total, em)
        shown = total if self.step is None else min(self.step, total)
        self._explain(result, shown)
        imgui.separator()
        imgui.begin_child("##graph", imgui.ImVec2(0, 0), 0, imgui.WindowFlags_.horizontal_scrollbar)
        # A graph wider than the panel is drawn smaller (down to 3/4), then scrolls.
        avail = imgui.get_content_region_avail()
        _, _, size = self._layout(result, em)
        scale = min(1.0, (avail.x - em) / max(size[0], 1.0), (avail.y - em) / max(size[1], 1.0))
        scale = max(scale, 0.75)
        base = getattr(imgui.get_style(), "font_size_base", 0.0) or em
        imgui.push_font(None, base * scale)
        try:
            self._graph(result, shown, imgui.get_font_size())
        finally:
            imgui.pop_font()
        imgui.end_child()

    def _backprop(self, surface, point) -> Backprop:
        """The forward and backward pass, run again only when its inputs change."""
        key = (tuple(point), tuple(surface.param_values.items()))
        cached_surface, cached_key, result = self._result_cache
        if cached_surface is not surface or cached_key != key:
            # sympy (0.25 s) is imported here, not with the window: its first frame waits less
            from gradient_explorer.surfaces.backprop import backprop

            result = backprop(surface, point)
            self._result_cache = (surface, key, result)
        return result

    def _formula(self, result: Backprop, shown: int) -> None:
        """f = formula, with the hovered (else the current) node's subexpression lit."""
        c = result.circuit
        lit = self.hovered
        if lit is None and 0 < shown < len(result.steps):
            lit = result.steps[shown - 1].node
        spans = sorted(c.spans[lit]) if lit is not None else []
        imgui.text("f =")
        pieces: list[tuple[str, tuple | None]] = []
        pos = 0
        for start, end in spans:
            if start < pos:
                continue  # nested occurrences: the outer one is lit already
            pieces += [(c.formula[pos:start], None), (c.formula[start:end], STEP_YELLOW)]
            pos = end
        pieces.append((c.formula[pos:], None))
        first = True
        for text, colour in pieces:
            if not text:
                continue
            imgui.same_line(0, -1 if first else 0)  # one space after "f =", none between
            first = False
            if colour:
                imgui.text_colored(colour, text)
            else:
                imgui.text(text)
        where = ", ".join(f"{n} = {v:.4g}" for n, v in zip(c.variables, result.point, strict=True))
        params = ", ".join(f"{k} = {v:.4g}" for k, v in result.params.items())
        imgui.text_colored(DIM, f"at {where}" + (f";  {params}" if params else ""))
        imgui.same_line()
        imgui.text_colored(VALUE_GREEN, f"f = {_fmt(result.f)}")
        grads = ", ".join(
            f"df/d{n} = {_fmt(g)}" for n, g in zip(c.variables, result.gradient, strict=True)
        )
        pgrads = ", ".join(f"df/d{k} = {_fmt(v)}" for k, v in result.param_gradient.items())
        imgui.text_colored(GRAD_RED, grads + (f";  {pgrads}" if pgrads else ""))
        for note in result.notes:
            imgui.text_colored(GRAD_RED, note)

    def _controls(self, result: Backprop, shown: int, total: int, em: float) -> None:
        if imgui.button("restart"):
            self.step = 0
        imgui.same_line()
        if imgui.button("< back") and shown > 0:
            self.step = shown - 1
        imgui.same_line()
        if imgui.button("step >"):
            self.step = min(shown + 1, total) if shown < total else 0
        imgui.same_line()
        if imgui.button("all"):
            self.step = None
        imgui.same_line()
        imgui.set_next_item_width(16 * em)
        moved, value = imgui.slider_int("backward step", shown, 0, total)
        if moved:
            self.step = None if value == total else value

    def _explain(self, result: Backprop, shown: int) -> None:
        c = result.circuit
        if shown == 0:
            _wrapped(
                DIM,
                "Forward pass done: every node has its value. Step to "
                "start the backward pass at f with df/df = 1.",
            )
            return
        if shown == len(result.steps):
            _wrapped(
                DIM,
                "Backward pass done: each box holds df/dnode; the leaves' are the gradient. "
                "Restart and step to replay it; hover a box for its sum over paths.",
            )
            return
        step = result.steps[shown - 1]
        node = c.nodes[step.node]
        if not result.has_adjoint(step.node):
            imgui.text_colored(
                STEP_YELLOW, f"step {shown}: {_short(node.label)} is a constant: no adjoint"
            )
            return
        head = f"step {shown}: {_short(node.label)} has df/dnode = {_fmt(step.grad)}"
        if not step.contributions:
            imgui.text_colored(STEP_YELLOW, head + " (a leaf: nothing to hand on)")
            return
        parts = ";  ".join(
            f"{_short(c.nodes[p.source].label)} gets {_fmt(step.grad)} x {_fmt(p.local)}"
            f" = {_fmt(p.amount)}"
            for p in step.contributions
        )
        imgui.text_colored(STEP_YELLOW, head)
        imgui.text_wrapped(parts)

    # ------------------------------------------------------------------ the graph

    def _layout(self, result: Backprop, em: float):
        """Columns by depth (leaves first), rows ordered by their inputs' rows."""
        c = result.circuit
        cached_circuit, layouts = self._layout_cache
        if cached_circuit is not c:
            layouts = {}
            self._layout_cache = (c, layouts)
        if em not in layouts:
            layouts[em] = self._compute_layout(c, em)
        return layouts[em]

    @staticmethod
    def _compute_layout(c, em: float):
        depth = [0] * len(c.nodes)
        for n in c.nodes:
            depth[n.id] = 1 + max((depth[j] for j in n.inputs), default=-1)
        # A leaf stands just left of its first user: no edge crosses the whole graph.
        for n in c.nodes:
            users = [depth[e.target] for e in c.out_edges(n.id)]
            if not n.inputs and users:
                depth[n.id] = min(users) - 1
        used = sorted(set(depth))
        depth = [used.index(d) for d in depth]
        columns: list[list[int]] = [[] for _ in range(max(depth) + 1)]
        row = [0.0] * len(c.nodes)
        for n in c.nodes:
            columns[depth[n.id]].append(n.id)
        for k, col in enumerate(columns):
            if k:
                col.sort(
                    key=lambda i: (
                        sum(row[j] for j in c.nodes[i].inputs) / max(len(c.nodes[i].inputs), 1)
                    )
                )
            for r, i in enumerate(col):
                row[i] = r - (len(col) - 1) / 2
        tallest = max(len(col) for col in columns)
        box_w, box_h, gap_x, gap_y = 9.5 * em, 3.5 * em, 3.6 * em, 0.6 * em
        pos = {}
        for n in c.nodes:
            x = depth[n.id] * (box_w + gap_x)
            y = (row[n.id] + (tallest - 1) / 2) * (box_h + gap_y)
            pos[n.id] = (x, y)
        size = (len(columns) * (box_w + gap_x) - gap_x, tallest * (box_h + gap_y) - gap_y)
        return pos, (box_w, box_h), size

    def _graph(self, result: Backprop, shown: int, em: float) -> None:
        c = result.circuit
        pos, (bw, bh), size = self._layout(result, em)
        origin = imgui.get_cursor_screen_pos()
        ox, oy = origin.x + 0.5 * em, origin.y + 0.5 * em
        imgui.dummy(imgui.ImVec2(size[0] + em, size[1] + em))
        draw = imgui.get_window_draw_list()
        adjoints = result.adjoints_after(shown)
        # The node handing on its adjoint; none once the pass is complete.
        current = result.steps[shown - 1].node if 0 < shown < len(result.steps) else None
        live = {
            e.id for s in result.steps[:shown] for e in (c.edges[p.edge] for p in s.contributions)
        }
        self._follow(current, ox + pos[current][0] if current is not None else 0.0, bw)
        mouse = imgui.get_io().mouse_pos
        hovered = None
        for n in c.nodes:
            x, y = ox + pos[n.id][0], oy + pos[n.id][1]
            if x <= mouse.x <= x + bw and y <= mouse.y <= y + bh and imgui.is_window_hovered():
                hovered = n.id
        self.hovered = hovered

        # Edges first, under the boxes: input's right side to the user's left side.
        for e in c.edges:
            sx, sy = pos[e.source]
            tx, ty = pos[e.target]
            count = len(c.nodes[e.target].inputs)
            a = (ox + sx + bw, oy + sy + bh / 2)
            b = (ox + tx, oy + ty + bh * (e.slot + 1) / (count + 1))
            on_step = current is not None and e.target == current
            lit = hovered is not None and hovered in (e.source, e.target)
            colour = STEP_YELLOW if on_step else (GRAD_RED if e.id in live else EDGE)
            thick = 2.5 if on_step or lit else 1.2
            mid = (a[0] + b[0]) / 2
            draw.add_bezier_cubic(
                a, (mid, a[1]), (mid, b[1]), b, imgui.get_color_u32(colour), thick
            )
            if result.local[e.id] is None:
                continue  # from a constant: no derivative along it
            text = _fmt(result.local[e.id])
            tw = imgui.calc_text_size(text).x
            lx, ly = b[0] - 0.6 * em - tw, b[1] - 0.55 * em
            draw.add_rect_filled(
                (lx - 2, ly), (lx + tw + 2, ly + em * 1.1), imgui.get_color_u32(LABEL_BG), 3.0
            )
            draw.add_text((lx, ly), imgui.get_color_u32(STEP_YELLOW if on_step else DIM), text)

        for n in c.nodes:
            x, y = ox + pos[n.id][0], oy + pos[n.id][1]
            leaf = not n.inputs
            fill = BOX_LEAF if leaf else BOX
            draw.add_rect_filled((x, y), (x + bw, y + bh), imgui.get_color_u32(fill), 5.0)
            edge = STEP_YELLOW if n.id in (current, hovered) else EDGE
            draw.add_rect(
                (x, y),
                (x + bw, y + bh),
                imgui.get_color_u32(edge),
                5.0,
                thickness=2.5 if n.id in (current, hovered) else 1.0,
            )
            pad = 0.35 * em
            draw.add_text((x + pad, y + pad), imgui.get_color_u32((1, 1, 1, 1)), _short(n.label))
            draw.add_text(
                (x + pad, y + pad + 1.05 * em),
                imgui.get_color_u32(VALUE_GREEN),
                f"value {_fmt(result.values[n.id])}",
            )
            draw.add_text(
                (x + pad, y + pad + 2.1 * em),
                imgui.get_color_u32(GRAD_RED),
                f"grad  {_fmt(adjoints[n.id]) if result.has_adjoint(n.id) else '-'}",
            )

        if hovered is not None:
            self._tooltip(result, hovered, shown)

    def _follow(self, current: int | None, x: float, box_w: float) -> None:
        """Scroll the graph once to each new current node that is out of sight."""
        if current is None or current == self._followed:
            self._followed = current
            return
        self._followed = current
        left = imgui.get_window_pos().x
        view = imgui.get_window_width()
        if x < left or x + box_w > left + view:
            imgui.set_scroll_x(max(0.0, imgui.get_scroll_x() + x - left - (view - box_w) / 2))

    def _tooltip(self, result: Backprop, node_id: int, shown: int) -> None:
        c = result.circuit
        node = c.nodes[node_id]
        imgui.begin_tooltip()
        imgui.text(node.label)
        imgui.text_colored(VALUE_GREEN, f"value = {_fmt(result.values[node_id])}  ({node.op})")
        parts = sorted(result.contributions_to(node_id), key=lambda p: p.edge)
        total = _fmt(result.grads[node_id])
        if not result.has_adjoint(node_id):
            imgui.text_colored(DIM, "a constant, not a variable: it has no df/dnode")
        elif len(parts) > 1:
            terms = " + ".join(_fmt(p.amount) for p in parts)
            imgui.text_colored(
                GRAD_RED, f"df/dnode = {total} = {terms}, over its {len(parts)} paths:"
            )
            for p in parts:
                imgui.text_colored(
                    DIM,
                    f"  via {_short(c.nodes[p.target].label)}: "
                    f"{_fmt(result.grads[p.target])} x {_fmt(p.local)} = {_fmt(p.amount)}",
                )
        else:
            imgui.text_colored(GRAD_RED, f"df/dnode = {total}")
        if shown < len(result.steps):
            imgui.text_colored(DIM, "(the boxes show the adjoints so far in the replay)")
        imgui.end_tooltip()
