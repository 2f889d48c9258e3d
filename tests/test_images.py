"""Photos and elevation maps as surfaces, against the field's references."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from PIL import Image

from gradient_explorer.cli import main
from gradient_explorer.errors import UsageError
from gradient_explorer.render.image_views import hsv_to_rgb, light_vector, view_2d
from gradient_explorer.surfaces import images
from gradient_explorer.surfaces.images import ImageError, canny, sample_path, shrink
from gradient_explorer.surfaces.surface import Surface

CAMERA = sample_path("camera")


def _camera() -> np.ndarray:
    return np.asarray(Image.open(CAMERA), dtype=np.float64) / 255.0


def _fields_top_first(surface):
    """gx, gy in the picture's row order (row 0 = top)."""
    g = surface.samples.gradient[::-1]
    return g[..., 0], g[..., 1]


# --------------------------------------------------------------------------- references


@pytest.mark.parametrize(("operator", "names"), [("sobel", "sobel"), ("scharr", "scharr")])
def test_gradient_agrees_with_scikit_image_on_a_real_photo(operator, names):
    filters = pytest.importorskip("skimage.filters")
    surface = Surface.from_image(CAMERA, operator=operator)
    gx, gy = _fields_top_first(surface)
    photo = _camera()
    # scikit-image divides its kernels by 4 (Sobel) and 16 (Scharr): a ramp gives twice
    # its slope. Its _h filter differentiates down the rows (y up here: the sign flips).
    h = getattr(filters, f"{names}_h")(photo)
    v = getattr(filters, f"{names}_v")(photo)
    np.testing.assert_allclose(h, -2.0 * gy, atol=1e-12)
    np.testing.assert_allclose(v, 2.0 * gx, atol=1e-12)
    assert np.abs(gx).max() > 0.1 and np.abs(gy).max() > 0.1  # a photo with edges


@pytest.mark.parametrize("sigma", [1.0, 2.0])
def test_canny_agrees_with_scikit_image(sigma):
    feature = pytest.importorskip("skimage.feature")
    photo = _camera()
    ours = canny(photo, sigma, 0.1 / 8, 0.2 / 8)["edges"]  # its raw Sobel is 8x ours
    # The same smoothing at the border (reflect): the same edges.
    reference = feature.canny(photo, sigma, 0.1, 0.2, mode="reflect")
    assert reference.sum() > 1000
    assert (ours == reference).mean() >= 0.999
    # Its default border (zeros, corrected by the smoothed mask) differs at the edge only.
    assert (ours == feature.canny(photo, sigma, 0.1, 0.2)).mean() >= 0.95


def test_canny_stages_nest():
    result = canny(_camera(), 1.5)
    assert (result["nms"] > 0).sum() < (result["magnitude"] > 0).sum()
    assert not (result["edges"] & (result["nms"] == 0)).any()  # edges are NMS pixels
    assert result["edges"].sum() <= (result["nms"] > 0).sum()
    with pytest.raises(UsageError, match="low <= high"):
        canny(_camera(), 1.0, low=0.3, high=0.1)


# --------------------------------------------------------------------------- exactness


@pytest.mark.parametrize("operator", ["central", "sobel", "scharr"])
def test_a_ramp_picture_gives_its_exact_slope(operator):
    rows, cols = np.mgrid[0:40, 0:50].astype(float)
    a, b = 0.004, -0.003
    y = 39 - rows  # row 0 is the top: y = H - 1
    surface = Surface.from_image(0.3 + a * cols + b * y, operator=operator)
    pts = np.array([[1.0, 1.0], [25.5, 17.25], [48.0, 38.0], [10.0, 30.0]])
    np.testing.assert_allclose(surface.gradient(pts), np.tile([a, b], (4, 1)), atol=1e-15)


def test_a_quadratic_gives_its_exact_derivatives_with_central_differences():
    rows, cols = np.mgrid[0:30, 0:30].astype(float)
    y = 29 - rows
    surface = Surface.from_heights(3.0 * cols**2 - 2.0 * cols * y + y**2, operator="central")
    pts = np.array([[5.0, 7.0], [20.0, 11.0], [13.0, 26.0]])
    x_, y_ = pts[:, 0], pts[:, 1]
    np.testing.assert_allclose(
        surface.gradient(pts), np.stack([6 * x_ - 2 * y_, -2 * x_ + 2 * y_], -1)
    )
    np.testing.assert_allclose(surface.hessian(pts)[0], [[6.0, -2.0], [-2.0, 2.0]])
    assert surface.classify(np.array([0.0, 0.0])) != "maximum"


def test_bright_top_gives_a_positive_y_gradient(tmp_path):
    pixels = np.zeros((20, 30), np.uint8)
    pixels[:10] = 255  # the top half is bright
    path = tmp_path / "top.png"
    Image.fromarray(pixels).save(path)
    surface = Surface.from_image(path)
    assert surface.domain == ((0.0, 29.0), (0.0, 19.0))
    g = surface.gradient(np.array([15.0, 9.5]))
    assert g[1] > 0.1 and abs(g[0]) < 1e-12
    assert surface.f(np.array([3.0, 19.0])) == 1.0  # row 0 is at y = H - 1
    assert surface.f(np.array([3.0, 0.0])) == 0.0


def test_pixels_sit_at_their_coordinates_and_are_not_mirrored(tmp_path):
    pixels = np.zeros((4, 6), np.uint8)
    pixels[0, 5] = 255  # top right
    pixels[3, 0] = 128  # bottom left
    path = tmp_path / "corners.png"
    Image.fromarray(pixels).save(path)
    s = Surface.from_image(path)
    assert s.f(np.array([5.0, 3.0])) == 1.0
    assert s.f(np.array([0.0, 0.0])) == pytest.approx(128 / 255)


def test_sixteen_bit_and_colour_pictures(tmp_path):
    grey16 = (np.arange(12, dtype=np.uint16).reshape(3, 4) * 5000).astype(np.uint16)
    path16 = tmp_path / "g16.png"
    Image.fromarray(grey16).save(path16)
    s16 = Surface.from_image(path16)
    assert s16.f(np.array([3.0, 0.0])) == pytest.approx(11 * 5000 / 65535)
    rgb = np.zeros((3, 3, 3), np.uint8)
    rgb[..., 0], rgb[..., 1], rgb[..., 2] = 200, 100, 50
    for suffix in ("png", "tiff"):
        path = tmp_path / f"c.{suffix}"
        Image.fromarray(rgb).save(path)
        expected = (0.2126 * 200 + 0.7152 * 100 + 0.0722 * 50) / 255
        assert Surface.from_image(path).f(np.array([1.0, 1.0])) == pytest.approx(expected)
    jpeg = Surface.from_image(sample_path("coffee"))
    assert jpeg.domain == ((0.0, 599.0), (0.0, 399.0))


def test_elevation_map_sample_and_holes(tmp_path):
    dem = Surface.from_heights(sample_path("jacksboro"))
    raw = np.load(sample_path("jacksboro"))
    assert dem.domain == ((0.0, raw.shape[1] - 1.0), (0.0, raw.shape[0] - 1.0))
    assert dem.f(np.array([0.0, raw.shape[0] - 1.0])) == raw[0, 0]  # north-west corner
    holes = raw.astype(float)
    holes[100:120, 200:230] = np.nan
    path = tmp_path / "holes.npy"
    np.save(path, holes)
    s = Surface.from_heights(path)
    inside = np.array([215.0, raw.shape[0] - 1 - 110.0])
    assert np.isnan(s.f(inside)) and s.classify(inside) == "undefined"


def test_large_inputs_are_shrunk_to_the_limit_with_a_note():
    grid = np.arange(5000 * 3, dtype=np.float64).reshape(3, 5000)
    grid = np.vstack([grid] * 2)
    out, note = shrink(grid, 2048)
    assert out.shape == (2, 1666) and "5000x6 to 1666x2" in note and "2048" in note
    np.testing.assert_allclose(out[0, 0], grid[:3, :3].mean())
    small, none = shrink(np.zeros((10, 10)), 2048)
    assert small.shape == (10, 10) and none == ""
    holes = np.full((4, 4), np.nan)
    holes[0, 0] = 1.0
    assert np.isnan(shrink(holes, 2)[0][1, 1]) and shrink(holes, 2)[0][0, 0] == 1.0


# --------------------------------------------------------------------------- bad files


def _bad_files(tmp_path):
    png = tmp_path / "good.png"
    Image.fromarray(np.zeros((50, 50), np.uint8) + 100).save(png)
    data = png.read_bytes()
    files = {
        "empty": b"",
        "text": b"this is not an image\n",
        "random": bytes(range(256)) * 4,
        "truncated": data[: len(data) // 2],
    }
    out = {}
    for name, content in files.items():
        path = tmp_path / f"{name}.png"
        path.write_bytes(content)
        out[name] = path
    one = tmp_path / "one.png"
    Image.fromarray(np.zeros((1, 1), np.uint8)).save(one)
    out["one pixel"] = one
    out["missing"] = tmp_path / "missing.png"
    out["folder"] = tmp_path
    return out


def test_bad_images_get_one_line_and_exit_2(tmp_path, capsys):
    for what, path in _bad_files(tmp_path).items():
        code = main(["probe", "--image", str(path), "--at", "1,1"])
        err = capsys.readouterr().err
        assert code == 2, what
        assert err.count("\n") == 1 and err.startswith("gradient-explorer: error: "), (what, err)
        with pytest.raises(ImageError):
            Surface.from_image(path)


def test_bad_heights_get_one_line_and_exit_2(tmp_path, capsys):
    cases = {
        "text.npy": b"not numpy",
        "empty.npy": b"",
    }
    paths = []
    for name, content in cases.items():
        (tmp_path / name).write_bytes(content)
        paths.append(tmp_path / name)
    for name, array in {
        "line.npy": np.zeros(5),
        "nan.npy": np.full((3, 3), np.nan),
        "tiny.npy": np.zeros((1, 4)),
        "strings.npy": np.array([["a", "b"], ["c", "d"]]),
    }.items():
        np.save(tmp_path / name, array)
        paths.append(tmp_path / name)
    np.save(tmp_path / "objects.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    paths.append(tmp_path / "objects.npy")  # never unpickled
    for path in paths:
        code = main(["probe", "--heights", str(path), "--at", "1,1"])
        err = capsys.readouterr().err
        assert code == 2 and err.count("\n") == 1, (path.name, err)


def test_a_huge_sigma_is_refused_in_one_line(capsys):
    """--sigma 1e9 asked scipy for a 60 GB kernel: a MemoryError traceback, exit 1."""
    assert main(["probe", "--image", "camera", "--sigma", "1e9", "--at", "1,1"]) == 2
    args = ["render", "--image", "camera", "--view2d", "canny", "--canny-sigma", "1e9"]
    assert main([*args, "--out", "x.png"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 2 and err.count("from 0 to 1000") == 2
    with pytest.raises(UsageError, match="sigma must be"):
        Surface.from_image(np.zeros((4, 4)), sigma=1e9)


def test_a_file_that_is_not_npy_is_not_taken_for_a_pickle(tmp_path, capsys):
    """np.load takes a text file for a pickle: the message talked of loading it
    'unsafely' with allow_pickle, cut off mid-word; it says what the file is not."""
    path = tmp_path / "notes.npy"
    path.write_text("root:x:0:0:root:/root:/bin/bash\n")
    assert main(["probe", "--heights", str(path), "--at", "1,1"]) == 2
    err = capsys.readouterr().err
    assert err.count("not a .npy array file") == 1 and "pickle" not in err
    assert err.count("\n") == 1


def test_options_that_do_not_fit_are_refused(capsys):
    assert main(["probe", "--expr", "x*y", "--at", "1,1", "--operator", "sobel"]) == 2
    assert main(["probe", "--image", "camera", "--at", "1,1", "--param", "a=2"]) == 2
    assert main(["probe", "--image", "camera", "--at", "1,1", "--sigma=-1"]) == 2
    assert main(["render", "--expr", "x", "--view2d", "edges", "--out", "x.png"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 4


# --------------------------------------------------------------------------- CLI and API


def test_probe_json_has_the_same_keys_as_for_formulas(capsys):
    assert main(["probe", "--expr", "x^2 - y^2", "--at", "1,1", "--json"]) == 0
    formula = json.loads(capsys.readouterr().out)
    assert main(["probe", "--image", str(CAMERA), "--at", "100.5,300.25", "--json"]) == 0
    image = json.loads(capsys.readouterr().out)
    assert set(formula) <= set(image)
    for key in ("f", "gradient", "hessian", "eigenvalues", "classification"):
        assert image[key] is not None
    surface = Surface.from_image(CAMERA)
    point = np.array([100.5, 300.25])
    assert image["f"] == pytest.approx(float(surface.f(point)), abs=0)
    assert image["gradient"] == pytest.approx(surface.gradient(point).tolist(), abs=0)
    assert image["classification"] == surface.classify(point)


def test_samples_by_name_and_operator_and_sigma_from_the_cli(capsys):
    assert main(["probe", "--heights", "jacksboro", "--at", "200,170", "--operator",
                 "central", "--sigma", "1.5", "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    expected = Surface.from_heights(sample_path("jacksboro"), operator="central", sigma=1.5)
    assert report["gradient"] == pytest.approx(expected.gradient(np.array([200.0, 170.0])).tolist())
    assert "central, sigma 1.5" in report["formula"]


def test_sigma_smooths_what_is_drawn_and_differentiated():
    rng = np.random.default_rng(3)
    noisy = 0.5 + 0.1 * rng.standard_normal((60, 60))
    rough = Surface.from_image(noisy)
    smooth = Surface.from_image(noisy, sigma=2.0)
    assert np.std(smooth.samples.gradient) < 0.3 * np.std(rough.samples.gradient)
    assert np.std(smooth.samples.heights) < np.std(rough.samples.heights)


def test_render_view2d_writes_pictures_the_size_of_the_image(tmp_path, capsys):
    for view in ("emboss", "edges", "direction", "canny"):
        out = tmp_path / f"{view}.png"
        assert main(["render", "--image", "coffee", "--view2d", view, "--out", str(out)]) == 0
        assert Image.open(out).size == (600, 400)
    for stage in ("smoothed", "nms"):
        out = tmp_path / f"{stage}.png"
        args = ["render", "--image", "camera", "--view2d", "canny", "--canny-stage", stage]
        assert main([*args, "--out", str(out)]) == 0
    capsys.readouterr()


def test_render_view2d_refuses_options_of_the_3d_view(tmp_path, capsys):
    """--view2d writes the picture's own pixels: --size, --point, --camera ... would be
    silently ignored, so each is refused in one line (as for a curve's picture)."""
    out = str(tmp_path / "v.png")
    base = ["render", "--image", "camera", "--view2d", "edges", "--out", out]
    for extra in (["--size", "100x80"], ["--point", "10,10"], ["--camera", "10,20,5"],
                  ["--floor"], ["--no-axes"], ["--grid", "64"]):  # fmt: skip
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and extra[0] in err
    assert not (tmp_path / "v.png").exists()


def _image_session(tmp_path, surface):
    from gradient_explorer.app.session import save_session
    from gradient_explorer.app.state import AppState

    return str(save_session(AppState.for_surface(surface), tmp_path / "s.json"))


def test_render_view2d_of_a_session_holding_an_image(tmp_path, capsys):
    """--view2d with --session was refused ("give --image or --heights"): the session's
    image, with its operator, sigma and height scale, gives the picture the same flags
    give, to the byte."""
    surface = Surface.from_image(CAMERA, operator="central", sigma=1.0)
    surface.height_scale = 3.5  # the emboss relief's default
    session = _image_session(tmp_path, surface)
    for view in ("emboss", "canny"):
        from_session, from_flags = tmp_path / f"s-{view}.png", tmp_path / f"f-{view}.png"
        args = ["render", "--view2d", view]
        assert main([*args, "--session", session, "--out", str(from_session)]) == 0
        assert main([*args, "--image", str(CAMERA), "--operator", "central", "--sigma", "1",
                     "--relief", "3.5", "--out", str(from_flags)]) == 0  # fmt: skip
        assert "of camera" in capsys.readouterr().out
        a, b = np.asarray(Image.open(from_session)), np.asarray(Image.open(from_flags))
        assert a.shape[:2] == (512, 512)
        np.testing.assert_array_equal(a, b)


def test_render_view2d_of_a_session_without_an_image_is_one_line(tmp_path, capsys):
    out = tmp_path / "v.png"
    bowl = _image_session(tmp_path, Surface.named("bowl"))
    assert main(["render", "--view2d", "edges", "--session", bowl, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds bowl: drop --view2d" in err
    image = _image_session(tmp_path, Surface.from_heights(sample_path("jacksboro")))
    base = ["render", "--view2d", "edges", "--session", image, "--out", str(out)]
    for extra in (["--image", "camera"], ["--sigma", "2"], ["--point", "1,1"]):
        assert main([*base, *extra]) == 2, extra
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and extra[0] in err
    assert not out.exists()


def test_emboss_is_lambert_shading_under_the_light():
    _rows, cols = np.mgrid[0:10, 0:10].astype(float)
    a = 0.01
    surface = Surface.from_image(0.2 + a * cols, operator="central")
    light = (30.0, 50.0)
    picture = view_2d(surface, "emboss", light=light, relief=20.0)
    n = np.array([-20 * a, 0.0, 1.0])
    expected = round(255 * float(n / np.linalg.norm(n) @ light_vector(*light)))
    assert np.all(picture[2:-2, 2:-2] == expected)


def test_direction_view_hue_follows_the_gradient_angle():
    np.testing.assert_allclose(hsv_to_rgb(np.array(0.0), np.array(1.0), np.array(1.0)), [1, 0, 0])
    np.testing.assert_allclose(hsv_to_rgb(np.array(1 / 3), np.array(1.0), np.array(1.0)), [0, 1, 0])
    rows, _cols = np.mgrid[0:10, 0:10].astype(float)
    up = Surface.from_image(0.5 - 0.01 * rows)  # brighter upwards: the gradient points +y
    picture = view_2d(up, "direction")
    # Hue 90 degrees: between green (120) and yellow (60), value 1.
    angle = math.degrees(math.atan2(1.0, 0.0)) / 360
    np.testing.assert_allclose(
        picture[5, 5] / 255, hsv_to_rgb(np.array(angle), np.array(1.0), np.array(1.0)), atol=0.003
    )


@pytest.mark.gl
def test_api_render_draws_a_photo(gl_ctx):
    import gradient_explorer as ge

    surface = ge.Surface.from_image(CAMERA, operator="scharr", sigma=1.0)
    picture = ge.render(surface, size=(160, 120), axes=False)
    assert picture.shape == (120, 160, 3)
    assert picture.std() > 10


def test_unknown_sample_and_operator():
    with pytest.raises(UsageError, match="unknown sample"):
        images.sample_path("lena")
    with pytest.raises(UsageError, match="unknown operator"):
        Surface.from_image(CAMERA, operator="prewitt")


def test_a_session_keeps_the_file_operator_and_sigma(tmp_path):
    from gradient_explorer.app.session import load_session, save_session
    from gradient_explorer.app.state import AppState

    surface = Surface.from_heights(sample_path("jacksboro"), operator="scharr", sigma=1.5)
    state = AppState.for_surface(surface)
    state.point = (100.0, 120.0)
    loaded = load_session(save_session(state, tmp_path / "s.json"))
    assert loaded.surface.samples.operator == "scharr" and loaded.surface.samples.sigma == 1.5
    np.testing.assert_array_equal(loaded.surface.samples.gradient, surface.samples.gradient)
    assert loaded.point == (100.0, 120.0)
    from_array = AppState.for_surface(Surface.from_image(np.zeros((5, 5))))
    with pytest.raises(UsageError, match="no file"):
        save_session(from_array, tmp_path / "t.json")


def test_exif_orientation_is_applied(tmp_path):
    pixels = np.zeros((4, 6), np.uint8)
    pixels[0, 0] = 255  # stored top left
    image = Image.fromarray(pixels)
    exif = image.getexif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    path = tmp_path / "rotated.jpg"
    image.save(path, exif=exif, quality=100)
    surface = Surface.from_image(path)
    # Shown rotated: 4 wide, 6 high, the bright corner now at the top right.
    assert surface.domain == ((0.0, 3.0), (0.0, 5.0))
    assert surface.f(np.array([3.0, 5.0])) > 0.5
    assert surface.f(np.array([0.0, 5.0])) < 0.5


def test_the_api_takes_a_bundled_sample_by_name_unless_a_file_has_that_name(tmp_path, monkeypatch):
    camera = Surface.from_image("camera")
    assert camera.name == "camera.png"
    assert np.isfinite(camera.f(np.array([[10.0, 10.0]]))).all()
    assert Surface.from_heights("jacksboro").samples.heights.shape[0] > 1
    with pytest.raises(UsageError):  # a picture is not an elevation map's name
        Surface.from_heights("camera")
    # a file in the working folder called "camera" is the user's, not the sample
    monkeypatch.chdir(tmp_path)
    Image.fromarray(np.tile(np.arange(8, dtype=np.uint8) * 30, (8, 1))).save(
        tmp_path / "camera", format="PNG"
    )
    own = Surface.from_image("camera")
    assert own.samples.heights.shape == (8, 8)
    assert sample_path("camera").exists()
