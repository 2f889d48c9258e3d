"""Photos and elevation maps as height surfaces, and Canny's edge detector on them.

A picture's intensity (Rec. 709 luma of colour, in [0, 1]) or an elevation map's heights
become a :class:`~gradient_explorer.surfaces.sampled.SampledSurface`: x to the right, one
unit per pixel (column); y up, so row 0 (the top of the picture, the north edge of a map)
is at y = H - 1 and the picture is not mirrored. The domain is [0, W - 1] x [0, H - 1].
Derivatives are discrete (:mod:`gradient_explorer.surfaces.operators`), not symbolic.

Pillow decodes images (PNG, JPEG, TIFF; 8 or 16 bits, grey or colour); heights come
from a ``.npy`` file (NaN cells are holes). Inputs larger than :data:`MAX_SIDE` on their
long side are shrunk by an integer factor (block means) so the GPU draws them at
interactive rates; ``Samples.note`` says so.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from gradient_explorer.errors import UsageError
from gradient_explorer.surfaces import operators
from gradient_explorer.surfaces.percentiles import finite_percentiles
from gradient_explorer.surfaces.sampled import SampledSurface

#: The longest side drawn; larger inputs are shrunk by an integer factor to fit.
MAX_SIDE = 2048
#: A picture's intensity (0 to 1) rises this fraction of its width: pixel-sharp edges
#: would be walls at the relief an elevation map gets (0.6 of the width).
IMAGE_RELIEF = 0.12
#: An elevation map's heights (2nd to 98th percentile) rise this fraction of its width:
#: real terrain is nearly flat at true scale, so this is a vertical exaggeration.
TERRAIN_RELIEF = 0.2
#: Rec. 709 luma weights of R, G, B.
REC709 = (0.2126, 0.7152, 0.0722)
#: Where the bundled samples live (the repository's assets/, or the wheel's copy).
SAMPLES = {
    "camera": ("camera.png", "image"),
    "coffee": ("coffee.jpg", "image"),
    "jacksboro": ("jacksboro_dem.npy", "heights"),
}


class ImageError(UsageError):
    """An image or heights file was refused: unreadable, empty, too small, not an image."""


# --------------------------------------------------------------------------- reading


def read_image(path) -> np.ndarray:
    """The intensity of the picture at ``path`` as float64 in [0, 1], row 0 the top.

    8-bit channels are divided by 255, 16-bit ones by 65535; colour becomes Rec. 709
    luma (alpha is ignored); a float TIFF is taken as it is.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    name = _name(path)
    _check_file(path, name)
    try:
        with Image.open(path) as image:
            image.load()  # decode now: a truncated file fails here, not later
            # A camera's EXIF orientation: the picture as it is shown, never mirrored.
            return intensity(ImageOps.exif_transpose(image))
    except UnidentifiedImageError:
        raise ImageError(f"{name}: not an image Pillow can read (PNG, JPEG, TIFF, ...)") from None
    except Image.DecompressionBombError:
        raise ImageError(f"{name}: too many pixels to read safely") from None
    except (OSError, SyntaxError, ValueError) as exc:
        detail = " ".join(str(exc).split()) or type(exc).__name__
        raise ImageError(f"{name}: cannot decode the image ({detail})") from None


def intensity(image) -> np.ndarray:
    """A Pillow image's intensity in [0, 1] (float images as they are)."""
    mode = image.mode
    if mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
        return np.asarray(image, dtype=np.float64) / 65535.0
    if mode == "F":
        return np.asarray(image, dtype=np.float64)
    if mode in ("1", "L"):
        return np.asarray(image.convert("L"), dtype=np.float64) / 255.0
    if mode == "LA":
        return np.asarray(image.getchannel("L"), dtype=np.float64) / 255.0
    rgb = np.asarray(image.convert("RGB"), dtype=np.float64) / 255.0
    return rgb @ np.array(REC709)


def array_intensity(values) -> np.ndarray:
    """An array given as a picture: (H, W) or (H, W, 3|4); uint8 / 255, uint16 / 65535,
    bool as 0 / 1, floats as they are; colour to Rec. 709 luma."""
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise ImageError(f"an image array must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        scale = _integer_scale(arr.dtype)
        return (arr[..., :3].astype(np.float64) / scale) @ np.array(REC709)
    if arr.ndim != 2:
        raise ImageError(f"an image array must be (H, W) or (H, W, 3), got shape {arr.shape}")
    return arr.astype(np.float64) / _integer_scale(arr.dtype)


def _integer_scale(dtype) -> float:
    if dtype == np.uint8:
        return 255.0
    if dtype == np.uint16:
        return 65535.0
    return 1.0


def read_heights(path) -> np.ndarray:
    """A 2D float array from a ``.npy`` file (never pickles), row 0 the north edge."""
    name = _name(path)
    _check_file(path, name)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(6)
    except OSError as exc:
        raise ImageError(f"{name}: cannot read ({exc.strerror or exc})") from None
    # np.load takes any other file for a pickle, and its refusal talks of unpickling
    if magic != b"\x93NUMPY" and not magic.startswith(b"PK"):  # .npy, or an .npz zip
        raise ImageError(f"{name}: not a .npy array file (numpy.save writes one)")
    try:
        values = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        detail = " ".join(str(exc).split())[:120] or type(exc).__name__
        raise ImageError(f"{name}: not a .npy array file ({detail})") from None
    if isinstance(values, np.lib.npyio.NpzFile):  # pragma: no cover - np.load of .npz
        values.close()
        raise ImageError(f"{name}: an .npz archive; save the one 2D array with numpy.save")
    return check_heights(values, name)


def check_heights(values, name: str = "heights") -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind not in "biuf":
        raise ImageError(f"{name}: heights must be real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2:
        raise ImageError(f"{name}: heights must be a 2D array, got shape {arr.shape}")
    return arr.astype(np.float64)


def _name(path) -> str:
    return os.path.basename(os.fspath(path)) or os.fspath(path)


def _check_file(path, name: str) -> None:
    try:
        size = os.path.getsize(path)
    except OSError as exc:
        raise ImageError(f"{name}: cannot read ({exc.strerror or exc})") from None
    if os.path.isdir(path):
        raise ImageError(f"{name}: is a folder, not a file")
    if size == 0:
        raise ImageError(f"{name}: the file is empty")


def check_size(grid: np.ndarray, name: str) -> None:
    ny, nx = grid.shape
    if nx < 2 or ny < 2:
        raise ImageError(f"{name}: {nx}x{ny} pixels; a surface needs at least 2x2")
    if not np.isfinite(grid).any():
        raise ImageError(f"{name}: no finite value to draw")


def shrink(grid: np.ndarray, max_side: int = MAX_SIDE) -> tuple[np.ndarray, str]:
    """``grid`` shrunk by the smallest integer factor that fits ``max_side`` (block
    means; a block of holes stays a hole), and a note saying so ("" if it fit)."""
    ny, nx = grid.shape
    factor = math.ceil(max(nx, ny) / max_side)
    if factor <= 1:
        return grid, ""
    my, mx = ny // factor, nx // factor
    blocks = grid[: my * factor, : mx * factor].reshape(my, factor, mx, factor)
    finite = np.isfinite(blocks)
    count = finite.sum(axis=(1, 3))
    total = np.where(finite, blocks, 0.0).sum(axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    note = (
        f"resampled from {nx}x{ny} to {mx}x{my} (1/{factor}) to draw at interactive rates: "
        f"at most {max_side} a side"
    )
    return out, note


# --------------------------------------------------------------------------- surfaces


def _sample_or_path(source, kind: str):
    """``source``, or the bundled sample of that kind it names when no such file exists."""
    if isinstance(source, str) and source in SAMPLES and not Path(source).exists():
        if SAMPLES[source][1] == kind:
            return sample_path(source)
    return source


def sample_path(name: str) -> Path:
    """The file of a bundled sample (``camera``, ``coffee``, ``jacksboro``)."""
    if name not in SAMPLES:
        raise UsageError(f"unknown sample '{name}': use {', '.join(SAMPLES)}")
    return assets_dir() / SAMPLES[name][0]


def assets_dir() -> Path:
    import importlib.resources

    packaged = importlib.resources.files("gradient_explorer") / "assets"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[3] / "assets"


def from_image(
    source, operator: str = "sobel", sigma: float = 0.0, name: str | None = None
) -> SampledSurface:
    """A surface whose height is the picture's intensity in [0, 1]; ``source`` is a path,
    a Pillow image or an array (see :func:`array_intensity`); a bundled sample's name
    (``camera``, ``coffee``) where no such file exists."""
    return _from_source("image", source, operator, sigma, name)


def from_heights(
    source, operator: str = "sobel", sigma: float = 0.0, name: str | None = None
) -> SampledSurface:
    """A surface of an elevation map (a ``.npy`` path or a 2D array), heights as given;
    NaN cells are holes; the bundled sample's name (``jacksboro``) where no such file
    exists."""
    return _from_source("heights", source, operator, sigma, name)


def _image_values(source, label: str) -> np.ndarray:
    """The intensity of a picture given in memory: a Pillow image or an array."""
    if hasattr(source, "mode") and hasattr(source, "size"):  # a Pillow image
        return intensity(source)
    return array_intensity(source)


# kind -> (read a file, take values given in memory (values, label), relief)
_KINDS = {
    "image": (read_image, _image_values, ("unit", IMAGE_RELIEF)),
    "heights": (read_heights, check_heights, ("span", TERRAIN_RELIEF)),
}


def _from_source(kind: str, source, operator: str, sigma: float, name: str | None):
    """from_image and from_heights: a file (or bundled sample) or values in memory."""
    operators.check_operator(operator)
    read_file, take_values, relief = _KINDS[kind]
    source = _sample_or_path(source, kind)
    if isinstance(source, (str, os.PathLike)):
        label = _name(source)
        grid = read_file(source)
        path = os.path.abspath(source)
    else:
        label, path = name or kind, ""
        grid = take_values(source, label)
    return _surface(grid, label, f"{kind} {label}", operator, sigma, name, relief, path, kind)


def load_source(
    text, operator: str = "sobel", sigma: float = 0.0, kind: str | None = None
) -> SampledSurface:
    """A file or a bundled sample's name as a surface: ``.npy`` files (and the terrain
    sample) as heights, everything else as a picture; ``kind`` ("image" or "heights")
    overrides the guess."""
    path = Path(os.fspath(text))
    if not path.exists() and str(text) in SAMPLES:
        kind = kind or SAMPLES[str(text)][1]
        path = sample_path(str(text))
    if kind is None:
        kind = "heights" if path.suffix.lower() == ".npy" else "image"
    build = from_heights if kind == "heights" else from_image
    return build(path, operator=operator, sigma=sigma)


def _surface(
    grid, label, source, operator, sigma, name, relief, path="", kind=""
) -> SampledSurface:
    check_size(grid, label)
    grid, note = shrink(grid)
    ny, nx = grid.shape
    return SampledSurface.from_samples(
        grid,
        operator=operator,
        sigma=sigma,
        origin="upper",
        name=name or label,
        source=source,
        note=note,
        height_scale=_relief(grid, relief[0]) * relief[1] * (max(nx, ny) - 1),
        path=path,
        kind=kind,
    )


def _relief(grid: np.ndarray, span_of: str) -> float:
    """1 / the span of the heights (2nd to 98th percentile) for a terrain; 1 for a
    picture, whose intensities span [0, 1] by definition."""
    if span_of == "unit":
        return 1.0
    finite = grid[np.isfinite(grid)]
    lo, hi = finite_percentiles(finite, [2.0, 98.0])
    span = float(hi - lo) or float(finite.max() - finite.min())
    return 1.0 / span if span > 0 else 1.0


# --------------------------------------------------------------------------- canny

CANNY_STAGES = ("smoothed", "nms", "edges")


def canny(
    heights: np.ndarray,
    sigma: float = 1.0,
    low: float | None = None,
    high: float | None = None,
) -> dict[str, np.ndarray]:
    """Canny's edge detector on a grid (any row order; results in the same order).

    Returns ``{"magnitude": |grad| of the smoothed grid (normalized Sobel, per pixel),
    "nms": that magnitude where it is a local maximum across the edge and >= low, else 0,
    "edges": the NMS pixels connected (8-neighbours) to one >= high}``. Thresholds are
    in the magnitude's units; by default 1.25% and 2.5% of the data's range per pixel,
    which for a picture in [0, 1] are scikit-image's defaults (0.1 and 0.2 of its raw
    Sobel, 8 times ours). The 1-pixel border is never an edge, as in scikit-image.
    """
    grid = np.asarray(heights, dtype=np.float64)
    finite = grid[np.isfinite(grid)]
    span = float(finite.max() - finite.min()) if finite.size else 1.0
    low = 0.0125 * span if low is None else float(low)
    high = 0.025 * span if high is None else float(high)
    if not (math.isfinite(low) and math.isfinite(high)) or low < 0 or high < low:
        raise UsageError(f"canny thresholds need 0 <= low <= high, got {low} and {high}")
    smoothed = operators.smooth(grid, sigma)
    g_rows = operators.derivative(smoothed, 0, "sobel")
    g_cols = operators.derivative(smoothed, 1, "sobel")
    with np.errstate(invalid="ignore"):
        magnitude = np.hypot(g_rows, g_cols)
        keep = _local_maxima(magnitude, g_rows, g_cols) & (magnitude >= low)
    nms = np.where(keep, magnitude, 0.0)
    from scipy import ndimage

    labels, count = ndimage.label(keep, np.ones((3, 3), bool))
    strong = np.zeros(count + 1, bool)
    strong[np.unique(labels[keep & (magnitude >= high)])] = True
    strong[0] = False
    return {"magnitude": magnitude, "nms": nms, "edges": strong[labels]}


def _local_maxima(mag: np.ndarray, gr: np.ndarray, gc: np.ndarray) -> np.ndarray:
    """Non-maximum suppression: |grad| at least the magnitude interpolated one step
    forward and one back along the gradient, between the axis and diagonal neighbours
    the gradient passes between."""
    ny, nx = mag.shape
    m = np.where(np.isfinite(mag), mag, 0.0)
    padded = np.pad(m, 1)
    a, b = np.abs(gr), np.abs(gc)
    sr, sc = np.sign(gr).astype(np.intp), np.sign(gc).astype(np.intp)
    rows_major = a >= b  # mostly along rows: axis neighbour one row over
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.where(rows_major, b / np.where(a > 0, a, 1.0), a / np.where(b > 0, b, 1.0))
    r, c = np.mgrid[0:ny, 0:nx]
    out = np.ones((ny, nx), bool)
    for sign in (1, -1):
        dr, dc = sign * sr, sign * sc
        axis_r = np.where(rows_major, r + dr, r)
        axis_c = np.where(rows_major, c, c + dc)
        near = padded[axis_r + 1, axis_c + 1]
        diagonal = padded[r + dr + 1, c + dc + 1]
        out &= (1.0 - w) * near + w * diagonal <= m
    out[:1], out[-1:], out[:, :1], out[:, -1:] = False, False, False, False
    return out & np.isfinite(mag) & (m > 0)
