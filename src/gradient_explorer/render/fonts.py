"""The UI's font: one that has the maths people type.

imgui's built-in font (ProggyClean) covers ASCII and Latin-1 only, so a typed ``π`` or
``−`` showed as ``?`` in the expression field. imgui-bundle ships TrueType fonts with its
package (Apache 2.0 Droid Sans; OFL Inconsolata): Droid Sans has Greek and the maths
operators, and Inconsolata is merged in for the superscript digits Droid Sans lacks.
imgui 1.92 rasterises glyphs on demand, so no glyph ranges are needed.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["FONT_FILES", "FONT_SIZE", "use_ui_font"]

# Found without importing imgui_bundle (0.1 s): a headless render that draws its labels
# from the cached glyph atlas (render/label_atlas.py) needs the files' names only.
_SPEC = importlib.util.find_spec("imgui_bundle")
_FONTS = Path(_SPEC.origin if _SPEC and _SPEC.origin else ".").parent / "assets" / "fonts"
#: The main font, then one merged in for what it lacks.
FONT_FILES = (_FONTS / "DroidSans.ttf", _FONTS / "Inconsolata-Medium.ttf")
#: Pixels: Droid Sans at 14 px reads like ProggyClean's 13 px, a little taller.
FONT_SIZE = 14.0


def use_ui_font() -> bool:
    """Make the current imgui context's default font one with the typed maths glyphs.

    Call once after ``imgui.create_context()``. Returns False (the built-in font stays)
    where the font files are missing, as in a stripped install.
    """
    from imgui_bundle import imgui

    if not all(path.is_file() for path in FONT_FILES):
        return False
    io = imgui.get_io()
    main = io.fonts.add_font_from_file_ttf(str(FONT_FILES[0]), FONT_SIZE)
    merged = imgui.ImFontConfig()
    merged.merge_mode = True
    io.fonts.add_font_from_file_ttf(str(FONT_FILES[1]), FONT_SIZE, merged)
    io.font_default = main
    return True
