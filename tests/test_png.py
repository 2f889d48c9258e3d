"""encode_png / save_png: what Pillow decodes is the array written, pixel for pixel."""

import io

import numpy as np
import pytest
from PIL import Image

from gradient_explorer.render.headless import save_png
from gradient_explorer.render.png import encode_png


@pytest.mark.parametrize("shape", [(1, 1), (1, 7), (5, 1), (17, 33), (64, 48)])
def test_round_trip(shape):
    rng = np.random.default_rng(shape[0] * 100 + shape[1])
    pixels = rng.integers(0, 256, size=(*shape, 3), dtype=np.uint8)
    image = Image.open(io.BytesIO(encode_png(pixels)))
    assert image.mode == "RGB" and image.size == (shape[1], shape[0])
    assert np.array_equal(np.asarray(image), pixels)


def test_wrapping_differences_and_a_view():
    # left-neighbour differences below 0 and above 255 wrap; a strided view is accepted
    row = np.array([[0, 255, 0, 255, 1, 254]], dtype=np.uint8).reshape(1, 2, 3)
    pixels = np.concatenate([row, row[:, ::-1]], axis=0)[::-1]
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encode_png(pixels)))), pixels)


def test_save_png_writes_what_pillow_reads(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 256, size=(9, 13, 3), dtype=np.uint8)
    path = tmp_path / "x.png"
    save_png(pixels, path)
    assert np.array_equal(np.asarray(Image.open(path)), pixels)
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4)  # not RGB: Pillow writes it
    save_png(grey, tmp_path / "g.png")
    assert np.array_equal(np.asarray(Image.open(tmp_path / "g.png")), grey)


@pytest.mark.parametrize(
    "bad",
    [
        np.zeros((2, 2), np.uint8),
        np.zeros((2, 2, 4), np.uint8),
        np.zeros((2, 2, 3)),
        np.zeros((0, 2, 3), np.uint8),
    ],
)
def test_refuses_what_it_cannot_write(bad):
    with pytest.raises(ValueError):
        encode_png(bad)
