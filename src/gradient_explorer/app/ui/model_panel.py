"""The Surface panel's Model entry: a model's loss on data as the surface.

Pick the model (line, logistic, mlp), the data (a bundled set or a CSV file), the inputs
(raw, centred, standardized: the line's bowl turns from a thin diagonal trench to a round
bowl) and the mini-batch size and seed. Building runs in the panel's background compiler
like a typed expression; a refused file is one line in the status line and the surface
stays as it was. A new batch size or seed needs no rebuild: the same surface with other
batches, and the running balls start again.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from imgui_bundle import imgui

from gradient_explorer.surfaces.datasets import BUNDLED, DEFAULT_DATA
from gradient_explorer.surfaces.model_surface import from_model
from gradient_explorer.surfaces.models import MODELS

__all__ = ["ModelUi", "build_model", "draw_model_entry"]

DIM = imgui.ImVec4(0.62, 0.64, 0.70, 1.0)
INPUTS = ("raw", "centred", "standardized")


@dataclass
class ModelUi:
    """What the Model entry remembers between frames."""

    kind: str = "line"
    data: str = "diabetes"
    inputs: str = "raw"
    batch_size: int = 0  # 0: the whole set
    seed: int = 0
    activation: str = "tanh"
    hidden: int = 16
    synced: int | None = None  # id of the model surface the fields were read from

    def follow(self, surface) -> None:
        """Show the settings of a model surface built elsewhere (command line, session)."""
        model = getattr(surface, "model", None)
        if model is None or self.synced == id(model):
            return
        self.synced = id(model)
        recipe = surface.recipe or {}
        self.kind = model.kind
        self.data = str(recipe.get("data", model.data.name))
        self.inputs = str(recipe.get("inputs", "raw"))
        self.batch_size = int(surface.batch_size or 0)
        self.seed = int(surface.seed)
        if model.kind == "mlp":
            self.activation = model.net.activation
            self.hidden = model.net.hidden


def build_model(ui, model: ModelUi) -> None:
    """Start building the model surface in the background."""
    options = {}
    if model.kind == "mlp":
        options = {"activation": model.activation, "hidden": int(model.hidden)}
    label = f"{model.kind} model on {model.data or DEFAULT_DATA[model.kind]}"
    ui.compiler.submit(
        label,
        "model",
        from_model,
        model.kind,
        model.data.strip() or None,
        batch_size=model.batch_size or None,
        seed=int(model.seed),
        inputs=model.inputs,
        **options,
    )


def condition_number(surface) -> float | None:
    """λ_max / λ_min of the Hessian at the model's minimum (line and logistic)."""
    model = surface.model
    if model.kind == "mlp":
        return None
    eig = np.linalg.eigvalsh(model.hessian(model.centre))
    return float(eig[-1] / eig[0]) if eig[0] > 0 else None


def draw_model_entry(state, ui, model: ModelUi) -> bool:
    """The Model entry of the Surface panel; True when the state changed."""
    changed = False
    em = imgui.get_font_size()
    surface = state.surface
    current = getattr(surface, "model", None)
    model.follow(surface)
    # open by itself while a model's loss is the surface
    flags = imgui.TreeNodeFlags_.default_open if current is not None else 0
    if not imgui.tree_node_ex("Model: a loss on data", flags):
        return False
    imgui.set_next_item_width(8 * em)
    clicked, k = imgui.combo("model", MODELS.index(model.kind), list(MODELS))
    if clicked and MODELS[k] != model.kind:
        model.kind = MODELS[k]
        model.data = DEFAULT_DATA[model.kind]
    imgui.same_line()
    imgui.set_next_item_width(8 * em)
    _, i = imgui.combo("inputs", INPUTS.index(model.inputs), list(INPUTS))
    model.inputs = INPUTS[i]
    imgui.set_item_tooltip("centre the inputs (w and b decouple) or standardize them (round bowl)")
    imgui.set_next_item_width(-4 * em)
    entered, model.data = imgui.input_text(
        "data", model.data, imgui.InputTextFlags_.enter_returns_true
    )
    imgui.set_item_tooltip(
        "a CSV file with a header: x,y (line), x,label (logistic), x1,x2,label (mlp); Enter builds"
    )
    imgui.text_colored(DIM, "bundled:")
    for name, kind in BUNDLED.items():
        if kind == model.kind:
            imgui.same_line()
            if imgui.small_button(name):
                model.data = name
                entered = True
    if model.kind == "mlp":
        imgui.set_next_item_width(7 * em)
        _, a = imgui.combo("activation", ("tanh", "relu").index(model.activation), ["tanh", "relu"])
        model.activation = ("tanh", "relu")[a]
        imgui.same_line()
        imgui.set_next_item_width(6 * em)
        _, model.hidden = imgui.slider_int("hidden", model.hidden, 2, 64)
    imgui.set_next_item_width(8 * em)
    moved_b, model.batch_size = imgui.slider_int("batch", model.batch_size, 0, 256,
                                                 "%d" if model.batch_size else "all")  # fmt: skip
    imgui.set_item_tooltip("mini-batch size for each ball's gradient (0: the whole set)")
    imgui.same_line()
    imgui.set_next_item_width(5 * em)
    moved_s, model.seed = imgui.input_int("seed", model.seed)
    model.seed = max(0, model.seed)
    if imgui.button("Build model surface") or entered:
        build_model(ui, model)
    if current is not None and (moved_b or moved_s):
        changed |= _rebatch(state, model)
    if current is not None:
        n = current.n
        batches = f"batches of {surface.batch_size}" if surface.batch_size else "full batch"
        imgui.text_colored(DIM, f"{current.data.name}: {n} examples; {batches}")
        imgui.text_colored(DIM, f"x = {current.axes[0]}, y = {current.axes[1]}")
        kappa = condition_number(surface)
        if kappa is not None:
            imgui.push_text_wrap_pos(0.0)
            imgui.text_colored(
                DIM,
                f"Hessian at the minimum: condition number {kappa:.4g} (1 is a round bowl; "
                "centring the inputs decouples w and b, standardizing rounds the bowl)",
            )
            imgui.pop_text_wrap_pos()
    imgui.tree_pop()
    return changed


def _rebatch(state, model: ModelUi) -> bool:
    """The same surface with another batch size or seed; running balls start again."""
    surface = state.surface
    size = model.batch_size or None
    if size is not None and size >= surface.model.n:
        size = None
    if size == surface.batch_size and model.seed == surface.seed:
        return False
    new = replace(surface, batch_size=size, seed=int(model.seed))
    state.surface = new
    ds = state.descent
    if ds.active:
        ds.start_run(new, ds.start)
    return True
