"""Feed moderngl-window events into Dear ImGui and tell the app which events imgui took.

Every handler forwards the event to imgui (imgui needs releases and hover motion even
when it does not own them) and returns ``True`` when imgui wants it, so the app skips
camera control and picking for that event.
"""

from __future__ import annotations

from typing import Any

from imgui_bundle import imgui

__all__ = ["ImguiInput", "build_key_map"]

# moderngl-window key names (BaseKeys attributes, plus a few that some backends add)
# -> imgui keys. Letters and digits are added in build_key_map.
_NAMED_KEYS: dict[str, imgui.Key] = {
    "ESCAPE": imgui.Key.escape,
    "SPACE": imgui.Key.space,
    "ENTER": imgui.Key.enter,
    "PAGE_UP": imgui.Key.page_up,
    "PAGE_DOWN": imgui.Key.page_down,
    "LEFT": imgui.Key.left_arrow,
    "RIGHT": imgui.Key.right_arrow,
    "UP": imgui.Key.up_arrow,
    "DOWN": imgui.Key.down_arrow,
    "LEFT_SHIFT": imgui.Key.left_shift,
    "RIGHT_SHIFT": imgui.Key.right_shift,
    "LEFT_CTRL": imgui.Key.left_ctrl,
    "RIGHT_CTRL": imgui.Key.right_ctrl,
    "LEFT_ALT": imgui.Key.left_alt,
    "RIGHT_ALT": imgui.Key.right_alt,
    "LEFT_SUPER": imgui.Key.left_super,
    "RIGHT_SUPER": imgui.Key.right_super,
    "TAB": imgui.Key.tab,
    "COMMA": imgui.Key.comma,
    "MINUS": imgui.Key.minus,
    "PERIOD": imgui.Key.period,
    "SLASH": imgui.Key.slash,
    "SEMICOLON": imgui.Key.semicolon,
    "EQUAL": imgui.Key.equal,
    "LEFT_BRACKET": imgui.Key.left_bracket,
    "RIGHT_BRACKET": imgui.Key.right_bracket,
    "BACKSLASH": imgui.Key.backslash,
    "BACKSPACE": imgui.Key.backspace,
    "INSERT": imgui.Key.insert,
    "DELETE": imgui.Key.delete,
    "HOME": imgui.Key.home,
    "END": imgui.Key.end,
    "CAPS_LOCK": imgui.Key.caps_lock,
}

# moderngl-window button name -> (its default id, imgui button index)
_MOUSE_BUTTONS = {"left": (1, 0), "right": (2, 1), "middle": (3, 2)}


def build_key_map(keys: Any) -> dict[Any, imgui.Key]:
    """Map a moderngl-window ``Keys`` namespace (``window.keys``) to imgui keys.

    Parameters
    ----------
    keys : type or object
        ``wnd.keys``; attributes a backend leaves ``"undefined"`` (the headless window
        leaves all of them) are skipped.

    Returns
    -------
    dict
        Backend key code -> ``imgui.Key``.
    """
    names = dict(_NAMED_KEYS)
    for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ":
        names[letter] = getattr(imgui.Key, letter.lower())
    for digit in range(10):
        names[f"NUMBER_{digit}"] = getattr(imgui.Key, f"_{digit}")
        names[f"NUMPAD_{digit}"] = getattr(imgui.Key, f"keypad{digit}")
    for number in range(1, 13):
        names[f"F{number}"] = getattr(imgui.Key, f"f{number}")
    mapping: dict[Any, imgui.Key] = {}
    for name, imgui_key in names.items():
        code = getattr(keys, name, "undefined")
        if code != "undefined" and code not in mapping:
            mapping[code] = imgui_key
    return mapping


_MODIFIER_KEYS = {
    imgui.Key.left_ctrl: "ctrl",
    imgui.Key.right_ctrl: "ctrl",
    imgui.Key.left_shift: "shift",
    imgui.Key.right_shift: "shift",
    imgui.Key.left_alt: "alt",
    imgui.Key.right_alt: "alt",
}
_MOD_KEYS = {"ctrl": imgui.Key.mod_ctrl, "shift": imgui.Key.mod_shift, "alt": imgui.Key.mod_alt}


def over_window(x: float, y: float) -> bool:
    """Whether (x, y) (display points) is on an imgui window drawn last frame that takes
    the mouse (not a click-through overlay such as the labels, not imgui's fallback)."""
    ctx = imgui.get_current_context()
    if ctx is None:
        return False
    skip = imgui.WindowFlags_.no_mouse_inputs | imgui.WindowFlags_.no_inputs
    for w in ctx.windows:
        if not w.was_active or w.hidden or w.is_fallback_window or w.flags & skip:
            continue
        if w.pos.x <= x < w.pos.x + w.size.x and w.pos.y <= y < w.pos.y + w.size.y:
            return True
    return False


class ImguiInput:
    """Bridge between a moderngl-window window and the current imgui context's io.

    Parameters
    ----------
    wnd : moderngl_window.context.base.BaseWindow, optional
        The window. Supplies key codes (``wnd.keys``), mouse button ids (``wnd.mouse``),
        sizes and pixel ratio, and the glfw clipboard. Without it (tests, offscreen
        rendering) pass ``keys`` and call :meth:`set_display`.
    keys : type or object, optional
        A moderngl-window ``Keys`` namespace, overriding ``wnd.keys``.
    ui_scale : float, optional
        Size factor for fonts and widgets. By default the monitor's content scale
        divided by the pixel ratio (glfw), so a 150 % desktop on Linux/Windows gets
        1.5 and a Retina Mac gets 1.0 (its extra pixels come from the framebuffer scale).

    Notes
    -----
    Also configures the imgui context: no ``imgui.ini`` is ever read or written, and the
    clipboard goes through glfw when the window is a glfw window, else through an
    in-process string.
    """

    def __init__(self, wnd: Any = None, *, keys: Any = None, ui_scale: float | None = None) -> None:
        if imgui.get_current_context() is None:
            raise RuntimeError("create an imgui context before the ImguiInput")
        self.wnd = wnd
        self.io = imgui.get_io()
        keys = keys if keys is not None else getattr(wnd, "keys", None)
        self.keys = keys
        self.key_map = build_key_map(keys) if keys is not None else {}
        self._action_release = getattr(keys, "ACTION_RELEASE", "ACTION_RELEASE")
        # moderngl-window button ids (wnd.mouse, default left=1, right=2, middle=3).
        mouse = getattr(wnd, "mouse", None)
        self._buttons = {
            getattr(mouse, name, default): index
            for name, (default, index) in _MOUSE_BUTTONS.items()
        }
        self._mods = {"ctrl": False, "shift": False, "alt": False}
        # Modifier releases held back to the next frame: see _sync_modifiers.
        self._key_down_this_frame = False
        self._held_back: list[tuple[imgui.Key, bool]] = []
        self._press_owner: dict[int, bool] = {}  # imgui button -> imgui took the press
        self._clipboard = ""
        self._ui_scale = 1.0
        self._ui_scale_override = ui_scale

        # No imgui.ini anywhere: None disables imgui's disk load/save entirely.
        self.io.set_ini_filename(None)
        platform_io = imgui.get_platform_io()
        platform_io.platform_get_clipboard_text_fn = self._get_clipboard
        platform_io.platform_set_clipboard_text_fn = self._set_clipboard
        if wnd is not None:
            self.on_resize(*wnd.buffer_size)
        else:
            self.set_display((1, 1))

    # ------------------------------------------------------------------ display

    def set_display(
        self, size: tuple[float, float], framebuffer_scale: float = 1.0, content_scale: float = 1.0
    ) -> None:
        """Set the display size (logical pixels), framebuffer scale and DPI scale.

        Parameters
        ----------
        size : tuple of float
            Window size in the units mouse events use.
        framebuffer_scale : float
            Framebuffer pixels per window unit (2 on a Retina display).
        content_scale : float
            The monitor's content scale; the UI grows by ``content_scale /
            framebuffer_scale`` unless ``ui_scale`` was given.
        """
        self.io.display_size = (float(size[0]), float(size[1]))
        self.io.display_framebuffer_scale = (float(framebuffer_scale), float(framebuffer_scale))
        scale = self._ui_scale_override
        if scale is None:
            scale = max(content_scale / framebuffer_scale, 1.0)
        self._apply_ui_scale(scale)

    def _apply_ui_scale(self, scale: float) -> None:
        if abs(scale - self._ui_scale) < 1e-6:
            return
        style = imgui.get_style()
        # scale_all_sizes multiplies the current sizes, so apply the ratio; fonts use
        # 1.92's font_scale_dpi and are re-rasterised at the new size (stay crisp).
        style.scale_all_sizes(scale / self._ui_scale)
        style.font_scale_dpi = scale
        self._ui_scale = scale

    @property
    def ui_scale(self) -> float:
        """The current size factor for fonts and widgets."""
        return self._ui_scale

    def _content_scale(self) -> float:
        handle = self._glfw_window()
        if handle is None:
            return 1.0
        try:
            import glfw

            return float(glfw.get_window_content_scale(handle)[0])
        except Exception:  # a missing monitor must not stop the app
            return 1.0

    def on_resize(self, width: int, height: int) -> None:
        """Handle ``WindowConfig.on_resize`` (moderngl-window passes the buffer size)."""
        if self.wnd is None:
            self.set_display((width, height))
            return
        size = self.wnd.size
        ratio = self.wnd.buffer_size[0] / max(size[0], 1)
        self.set_display(size, ratio, self._content_scale())

    def new_frame(self, frame_time: float) -> None:
        """Set the frame's time step and start an imgui frame (``imgui.new_frame``).

        Parameters
        ----------
        frame_time : float
            Seconds since the previous frame (``WindowConfig.on_render``'s second argument).
        """
        # imgui asserts on a zero or negative delta; the first frame often reports 0.
        self.io.delta_time = frame_time if frame_time > 0.0 else 1.0 / 60.0
        imgui.new_frame()
        # Queued after this frame took its events: the next frame sees them, after the
        # key they went with was seen with the modifier down.
        self._release_held_back()
        self._key_down_this_frame = False

    def _release_held_back(self) -> None:
        for key, down in self._held_back:
            self.io.add_key_event(key, down)
        self._held_back = []

    # ------------------------------------------------------------------ keyboard

    def _sync_modifiers(self, modifiers: Any, imgui_key: imgui.Key | None, down: bool) -> None:
        for name, mod_key in _MOD_KEYS.items():
            state = bool(getattr(modifiers, name, False))
            if imgui_key is not None and _MODIFIER_KEYS.get(imgui_key) == name:
                # The modifier's own press/release: platforms disagree on whether the
                # reported modifiers already include it.
                state = down
            if state != self._mods[name]:
                self._mods[name] = state
                if (mod_key, False) in self._held_back:  # down again before imgui saw it up
                    self._held_back.remove((mod_key, False))
                elif not state and self._key_down_this_frame:
                    # X11 (glfw) delivers a quick Ctrl+A as A down, Ctrl up, A up, all
                    # between two frames: imgui would see A go down with Ctrl already up,
                    # and Ctrl+A, C, V, X would do nothing. The release waits a frame.
                    self._held_back.append((mod_key, False))
                else:
                    self.io.add_key_event(mod_key, state)

    def on_key_event(self, key: Any, action: Any, modifiers: Any) -> bool:
        """Handle ``WindowConfig.on_key_event``.

        Returns
        -------
        bool
            ``io.want_capture_keyboard``: imgui has keyboard focus (a text field or
            keyboard navigation), so the app should not act on the key.
        """
        down = action != self._action_release  # press and glfw's repeat
        imgui_key = self.key_map.get(key)
        self._sync_modifiers(modifiers, imgui_key, down)
        if imgui_key is None:
            return bool(self.io.want_capture_keyboard)
        plain = imgui_key not in _MODIFIER_KEYS
        if plain and down:
            # a held-back release goes in first: the next key must not get the modifier
            self._release_held_back()
            self._key_down_this_frame = True
        self.io.add_key_event(imgui_key, down)
        if plain and not down:
            # after the chord's key is up: imgui takes a key's press and release in two
            # frames, so the modifier's release lands in the second, after the chord
            self._release_held_back()
        return bool(self.io.want_capture_keyboard)

    def on_unicode_char_entered(self, char: str) -> bool:
        """Handle ``WindowConfig.on_unicode_char_entered``; returns ``io.want_text_input``."""
        for c in char:
            self.io.add_input_character(ord(c))
        return bool(self.io.want_text_input or self.io.want_capture_keyboard)

    # ------------------------------------------------------------------ mouse

    def on_mouse_position_event(self, x: float, y: float, dx: float = 0, dy: float = 0) -> bool:
        """Handle ``WindowConfig.on_mouse_position_event``; returns ``io.want_capture_mouse``."""
        self.io.add_mouse_pos_event(float(x), float(y))
        return bool(self.io.want_capture_mouse)

    def on_mouse_drag_event(self, x: float, y: float, dx: float = 0, dy: float = 0) -> bool:
        """Handle ``WindowConfig.on_mouse_drag_event``.

        Returns
        -------
        bool
            Whether the press that started the drag went to imgui: a drag that began in
            the 3D view stays with the camera even when it crosses an imgui window.
        """
        self.io.add_mouse_pos_event(float(x), float(y))
        if self._press_owner:
            return any(self._press_owner.values())
        return bool(self.io.want_capture_mouse)

    def on_mouse_press_event(self, x: float, y: float, button: int) -> bool:
        """Handle ``WindowConfig.on_mouse_press_event``; returns whether imgui takes it:
        ``io.want_capture_mouse``, or the press lands on an imgui window."""
        self.io.add_mouse_pos_event(float(x), float(y))
        index = self._buttons.get(button)
        # want_capture_mouse is the last frame's: at a low frame rate the mouse can reach a
        # window and click before a frame has seen it there
        captured = bool(self.io.want_capture_mouse) or over_window(x, y)
        if index is not None:
            self.io.add_mouse_button_event(index, True)
            self._press_owner[index] = captured
        return captured

    def on_mouse_release_event(self, x: float, y: float, button: int) -> bool:
        """Handle ``WindowConfig.on_mouse_release_event``.

        Returns
        -------
        bool
            Whether the matching press went to imgui (so the app always sees the end of
            its own drags).
        """
        self.io.add_mouse_pos_event(float(x), float(y))
        index = self._buttons.get(button)
        if index is None:
            return bool(self.io.want_capture_mouse)
        self.io.add_mouse_button_event(index, False)
        return self._press_owner.pop(index, bool(self.io.want_capture_mouse))

    def on_mouse_scroll_event(self, x_offset: float, y_offset: float) -> bool:
        """Handle ``WindowConfig.on_mouse_scroll_event``; returns ``io.want_capture_mouse``."""
        self.io.add_mouse_wheel_event(float(x_offset), float(y_offset))
        return bool(self.io.want_capture_mouse)

    # ------------------------------------------------------------------ clipboard

    def _glfw_window(self) -> Any:
        if self.wnd is None or not type(self.wnd).__module__.startswith(
            "moderngl_window.context.glfw"
        ):
            return None
        return getattr(self.wnd, "_window", None)

    def _get_clipboard(self, _ctx: Any) -> str:
        handle = self._glfw_window()
        if handle is not None:
            try:
                import glfw

                text = glfw.get_clipboard_string(handle)
                if text is not None:
                    return text.decode("utf-8", "replace") if isinstance(text, bytes) else text
            except Exception:  # fall back to the in-process clipboard
                pass
        return self._clipboard

    def _set_clipboard(self, _ctx: Any, text: str) -> None:
        self._clipboard = text
        handle = self._glfw_window()
        if handle is not None:
            try:
                import glfw

                glfw.set_clipboard_string(handle, text)
            except Exception:  # the in-process copy still works
                pass

    @property
    def clipboard(self) -> str:
        """The in-process clipboard (what imgui last copied)."""
        return self._clipboard
