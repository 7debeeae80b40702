"""Tests for the dSprites factor grid, the procedural renderer and the official-file loader."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import Tensor

from mrvae.data import dsprites
from mrvae.data import DATA_ENV_VAR, DatasetNotFoundError
from mrvae.data.dsprites import (
    FACTOR_SIZES,
    N_IMAGES,
    OFFICIAL_FILENAME,
    OFFICIAL_URL,
    PROCEDURAL_SOURCE,
    latents_classes,
    latents_values,
    load_dsprites,
    render,
    render_values,
    subsample_indices,
)

SQUARE, ELLIPSE, HEART = 0, 1, 2


def flat_index(shape: int = 0, scale: int = 5, orient: int = 0, x: int = 15, y: int = 15) -> int:
    return (((shape * 6 + scale) * 40 + orient) * 32 + x) * 32 + y


def values_row(
    shape: int, scale: float, theta: float, x: float = 0.5, y: float = 0.5
) -> list[float]:
    return [1.0, float(shape + 1), scale, theta, x, y]


def centroid(images: Tensor) -> tuple[Tensor, Tensor]:
    """Row and column centroids of ``(N, 1, 64, 64)`` images: two ``(N,)`` tensors."""
    grid = torch.arange(64, dtype=torch.float64)
    img = images[:, 0].double()
    mass = img.sum(dim=(1, 2))
    rows = (img.sum(dim=2) * grid).sum(dim=1) / mass
    cols = (img.sum(dim=1) * grid).sum(dim=1) / mass
    return rows, cols


def iou(a: Tensor, b: Tensor) -> float:
    a, b = a.bool(), b.bool()
    return float((a & b).sum()) / float((a | b).sum())


# --- factor grid -----------------------------------------------------------------------------


def test_classes_are_the_c_order_grid() -> None:
    ranges = [np.arange(s) for s in FACTOR_SIZES]
    expected = np.stack(np.meshgrid(*ranges, indexing="ij"), axis=-1).reshape(-1, 6)
    classes = latents_classes()
    assert classes.dtype == torch.int64 and classes.shape == (N_IMAGES, 6) == (737_280, 6)
    np.testing.assert_array_equal(classes.numpy(), expected)
    idx = torch.tensor([flat_index(2, 3, 17, 4, 29)])
    assert latents_classes(idx).tolist() == [[0, 2, 3, 17, 4, 29]]


def test_values_follow_the_official_tables() -> None:
    values = latents_values()
    assert values.dtype == torch.float64 and values.shape == (N_IMAGES, 6)
    tables = [
        np.ones(1), np.array([1.0, 2.0, 3.0]), np.linspace(0.5, 1, 6),
        np.linspace(0, 2 * np.pi, 40), np.linspace(0, 1, 32), np.linspace(0, 1, 32),
    ]
    expected = np.stack([t[c] for t, c in zip(tables, latents_classes().numpy().T)], axis=1)
    np.testing.assert_array_equal(values.numpy(), expected)
    # The official orientation grid includes 2π: its spacing is 2π/39, not 2π/40.
    orient = latents_values(torch.tensor([flat_index(orient=1), flat_index(orient=39)]))[:, 3]
    assert orient.tolist() == pytest.approx([2 * math.pi / 39, 2 * math.pi])
    assert sorted(set(values[:, 2].tolist())) == pytest.approx([0.5, 0.6, 0.7, 0.8, 0.9, 1.0])


@pytest.mark.parametrize(
    "bad",
    [torch.tensor([N_IMAGES]), torch.tensor([-1, 3]), torch.tensor([0.0, 1.0]),
     torch.tensor([True, False]), torch.zeros(2, 2, dtype=torch.long), "abc"],
    ids=["too-large", "negative", "float", "bool", "2-d", "string"],
)
def test_bad_indices_raise_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match="indices"):
        render(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="indices"):
        latents_classes(bad)  # type: ignore[arg-type]


def test_bad_arguments_name_the_fix() -> None:
    with pytest.raises(ValueError, match="shape"):
        render_values(torch.tensor([values_row(3, 1.0, 0.0)]))
    with pytest.raises(ValueError, match=r"\(N, 6\)"):
        render_values(torch.zeros(2, 5))
    with pytest.raises(ValueError, match="chunk"):
        render(torch.arange(3), chunk=0)
    with pytest.raises(ValueError, match="source"):
        load_dsprites(torch.arange(2), source="web")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\[0, 737280\]"):
        subsample_indices(N_IMAGES + 1, seed=0)


def test_subsample_indices_is_seeded_distinct_and_sorted() -> None:
    a, b, c = subsample_indices(1000, 0), subsample_indices(1000, 0), subsample_indices(1000, 1)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert a.dtype == torch.int64 and a.unique().numel() == 1000
    assert torch.equal(a, a.sort().values) and 0 <= int(a.min()) and int(a.max()) < N_IMAGES


# --- procedural renderer ---------------------------------------------------------------------


def test_render_is_deterministic_binary_and_chunk_invariant() -> None:
    idx = subsample_indices(300, seed=3)
    first = render(idx)
    assert first.shape == (300, 1, 64, 64) and first.dtype == torch.float32
    assert torch.equal(first, render(idx, chunk=7))
    assert torch.equal(first, render(idx.tolist(), dtype=torch.uint8).float())
    assert set(first.unique().tolist()) <= {0.0, 1.0}
    assert bool((first.sum(dim=(1, 2, 3)) > 0).all())


def test_extreme_shapes_stay_inside_the_canvas() -> None:
    # Largest scale, every orientation, the four corner positions: the worst cases.
    idx = torch.tensor([
        flat_index(s, 5, o, x, y)
        for s in range(3) for o in range(40) for x, y in [(0, 0), (0, 31), (31, 0), (31, 31)]
    ])
    images = render(idx)[:, 0]
    border = torch.cat([images[:, 0], images[:, -1], images[:, :, 0], images[:, :, -1]], dim=1)
    assert not bool(border.any())
    assert bool((images.sum(dim=(1, 2)) > 0).all())


def test_square_pixels_match_the_analytic_count_and_centre() -> None:
    # At θ = 0 a square of half-side 10.5·s covers the 2·floor(10.5·s) + 1 nearest pixel centres
    # per axis, centred on pixel (16 + pos_y class, 16 + pos_x class).
    idx = torch.tensor([flat_index(SQUARE, k, 0, 3, 27) for k in range(6)])
    images = render(idx)
    sides = [2 * math.floor(10.5 * s) + 1 for s in np.linspace(0.5, 1, 6)]
    assert images.sum(dim=(1, 2, 3)).tolist() == [float(s * s) for s in sides]
    rows, cols = centroid(images)
    assert rows.tolist() == [16.0 + 27] * 6 and cols.tolist() == [16.0 + 3] * 6


@pytest.mark.parametrize(
    ("shape", "area_at_scale_1"),
    [(ELLIPSE, math.pi * 10.5 * 5.25), (HEART, 3.6595 * (10.5 / 1.118) ** 2)],
    ids=["ellipse", "heart"],
)
def test_curved_shape_area_matches_the_implicit_function(
    shape: int, area_at_scale_1: float
) -> None:
    # Mean over orientations averages out the pixel-grid aliasing.
    images = render(torch.tensor([flat_index(shape, 5, o) for o in range(0, 40, 3)]))
    assert float(images.sum(dim=(1, 2, 3)).mean()) == pytest.approx(area_at_scale_1, rel=0.03)


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_area_grows_strictly_with_scale(shape: int) -> None:
    poses = [(0, 0, 0), (7, 31, 5), (13, 10, 20), (26, 20, 12)]
    idx = torch.tensor([flat_index(shape, k, o, x, y) for k in range(6) for o, x, y in poses])
    area = render(idx).sum(dim=(1, 2, 3)).view(6, len(poses)).mean(dim=1)
    assert bool((area.diff() > 0).all()), area.tolist()
    # Area ∝ scale²: (1 / 0.5)² = 4, up to pixelisation.
    assert float(area[-1] / area[0]) == pytest.approx(4.0, rel=0.15)


@pytest.mark.parametrize("shape", [SQUARE, ELLIPSE, HEART])
def test_position_moves_the_centroid(shape: int) -> None:
    along_x = render(torch.tensor([flat_index(shape, 2, 9, x, 12) for x in range(32)]))
    rows, cols = centroid(along_x)
    assert bool((cols.diff() > 0).all()) and float(rows.std()) < 1e-9
    assert cols.diff().mean().item() == pytest.approx(1.0, abs=1e-9)  # one pixel per class
    along_y = render(torch.tensor([flat_index(shape, 2, 9, 12, y) for y in range(32)]))
    rows, cols = centroid(along_y)
    assert bool((rows.diff() > 0).all()) and float(cols.std()) < 1e-9


def test_orientation_rotates_the_shape() -> None:
    quarter, half = math.pi / 4, math.pi
    images = render_values(torch.tensor([
        values_row(SQUARE, 1.0, 0.0), values_row(SQUARE, 1.0, quarter),
        values_row(ELLIPSE, 1.0, 0.0), values_row(ELLIPSE, 1.0, half),
        values_row(ELLIPSE, 1.0, quarter), values_row(SQUARE, 1.0, math.pi / 2),
    ], dtype=torch.float64))
    square, square_45, ellipse, ellipse_180, ellipse_45, square_90 = images[:, 0]
    assert iou(square, square_45) < 0.9
    assert iou(square, square_90) == 1.0
    # The ellipse is symmetric under a half turn about its centre pixel.
    assert iou(ellipse, ellipse_180) > 0.99
    # Counter-clockwise as displayed: the long axis goes to the upper right (small row, big col).
    upper_right, upper_left = ellipse_45[:32, 32:].sum(), ellipse_45[:32, :32].sum()
    assert float(upper_right) > 2 * float(upper_left)


def test_orientation_classes_0_and_39_coincide() -> None:
    first = render(torch.tensor([flat_index(s, k, 0, 5, 9) for s in range(3) for k in (0, 5)]))
    last = render(torch.tensor([flat_index(s, k, 39, 5, 9) for s in range(3) for k in (0, 5)]))
    assert torch.equal(first, last)


def test_iter_render_streams_the_same_images() -> None:
    idx = subsample_indices(50, seed=1)
    batches = list(dsprites.iter_render(idx, chunk=16))
    assert [b.numel() for b, _ in batches] == [16, 16, 16, 2]
    assert torch.equal(torch.cat([b for b, _ in batches]), idx)
    assert torch.equal(torch.cat([im for _, im in batches]), render(idx))


# --- loading ---------------------------------------------------------------------------------


def write_fake_official(path: Path, m: int = 1200, **overrides: np.ndarray) -> np.ndarray:
    """A tiny stand-in for the official file: the first ``m`` grid rows, random binary images."""
    rng = np.random.default_rng(0)
    arrays = {
        "imgs": rng.integers(0, 2, size=(m, 64, 64), dtype=np.uint8),
        "latents_classes": latents_classes(torch.arange(m)).numpy(),
        "latents_values": latents_values(torch.arange(m)).numpy(),
        "metadata": np.array({"title": "fake dSprites"}, dtype=object),
    }
    arrays.update(overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **arrays)
    return arrays["imgs"]


@pytest.mark.parametrize("subdir", ["dSprites", "."])
def test_official_file_is_found_and_loaded(tmp_path: Path, subdir: str) -> None:
    imgs = write_fake_official(tmp_path / subdir / OFFICIAL_FILENAME)
    idx = torch.tensor([5, 1100, 3])
    for source in ("official", "auto"):
        ds = load_dsprites(idx, source=source, root=tmp_path)  # type: ignore[arg-type]
        assert ds.source.startswith("official file") and OFFICIAL_FILENAME in ds.source
        assert ds.images.shape == (3, 1, 64, 64) and ds.images.dtype == torch.float32
        np.testing.assert_array_equal(ds.images[:, 0].numpy(), imgs[[5, 1100, 3]])
        assert torch.equal(ds.latents_classes, latents_classes(idx))
        assert torch.equal(ds.latents_values, latents_values(idx))
        assert torch.equal(ds.indices, idx) and len(ds) == 3


def test_official_file_is_found_through_the_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_fake_official(tmp_path / "dSprites" / OFFICIAL_FILENAME, m=10)
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    ds = load_dsprites()
    assert ds.source.startswith("official file") and len(ds) == 10


@pytest.mark.parametrize(
    ("override", "match"),
    [
        ({"latents_classes": None}, "missing keys"),
        ({"imgs": np.zeros((1200, 32, 32), np.uint8)}, "imgs must be uint8"),
        ({"imgs": np.full((1200, 64, 64), 255, np.uint8)}, "binary"),
        ({"latents_classes": latents_classes(torch.arange(1200)).flip(0).numpy()}, "C order"),
        ({"latents_values": np.zeros((1200, 6))}, "latents_values"),
        ({"latents_values": np.zeros((1200, 5))}, r"shape \(1200, 6\)"),
    ],
    ids=["missing-key", "wrong-shape", "not-binary", "wrong-order", "wrong-values", "wrong-cols"],
)
def test_malformed_official_file_is_rejected(
    tmp_path: Path, override: dict[str, np.ndarray | None], match: str
) -> None:
    path = tmp_path / "dSprites" / OFFICIAL_FILENAME
    write_fake_official(path, **{k: v for k, v in override.items() if v is not None})
    if any(v is None for v in override.values()):
        with np.load(path, allow_pickle=True) as archive:
            kept = {k: archive[k] for k in archive.files if override.get(k, 0) is not None}
        np.savez(path, **kept)
    # "auto" must not silently fall back to rendering when a broken file is present.
    for source in ("official", "auto"):
        with pytest.raises(ValueError, match=match):
            load_dsprites(torch.arange(4), source=source, root=tmp_path)  # type: ignore[arg-type]


def test_index_beyond_a_short_file_is_rejected(tmp_path: Path) -> None:
    write_fake_official(tmp_path / OFFICIAL_FILENAME, m=10)
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        load_dsprites(torch.tensor([10]), source="official", root=tmp_path)


def test_missing_official_file_names_the_url(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match="dSprites") as info:
        load_dsprites(torch.arange(2), source="official", root=tmp_path)
    message = str(info.value)
    assert OFFICIAL_URL in message and "github.com/deepmind/dsprites-dataset" in message
    assert OFFICIAL_FILENAME in message and "procedural" in message


def test_auto_falls_back_to_the_renderer(tmp_path: Path) -> None:
    idx = subsample_indices(20, seed=2)
    ds = load_dsprites(idx, root=tmp_path)
    assert ds.source == PROCEDURAL_SOURCE
    assert torch.equal(ds.images, render(idx))
    assert torch.equal(ds.latents_classes, latents_classes(idx))
    assert torch.equal(ds.latents_values, latents_values(idx))
    procedural = load_dsprites(idx, source="procedural", root=tmp_path, dtype=torch.uint8)
    assert procedural.images.dtype == torch.uint8
    assert torch.equal(procedural.images.float(), ds.images)
