"""dSprites (Matthey et al., 2017): the official ``.npz`` and a procedural renderer of its grid.

The paper trains β-TCVAE and MR-VAE models on dSprites and scores them with the Mutual
Information Gap (Sec. 5.4, Fig. 8, following Chen et al., 2018). The official file,
``dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz`` from
https://github.com/deepmind/dsprites-dataset, is used whenever it is below a data root
(``dSprites/<file>`` or ``<file>``; see :func:`mrvae.data.data_roots`). Otherwise
:func:`render` draws images of the same factor grid, in the same order, with the same
``latents_values`` and ``latents_classes``; only the pixels differ from the official ones.

Factor grid (C order, the last factor varies fastest)::

    index = ((((shape * 6 + scale) * 40 + orientation) * 32 + pos_x) * 32 + pos_y)

=============  =====  ==================================================
factor         size   value of class ``k``
=============  =====  ==================================================
color          1      1.0
shape          3      1.0 square, 2.0 ellipse, 3.0 heart (``k + 1``)
scale          6      ``linspace(0.5, 1, 6)[k]``
orientation    40     ``linspace(0, 2π, 40)[k]``: the endpoint is included, as in
                      the official file, so the spacing is 2π/39 and classes 0 and
                      39 show the same image
pos_x          32     ``linspace(0, 1, 32)[k]``
pos_y          32     ``linspace(0, 1, 32)[k]``
=============  =====  ==================================================

Rendering (procedural images only). Pixel ``(row, col)`` of the 64×64 canvas is on when its
centre lies inside the shape: one point test per pixel, no supersampling, so the image is
exactly binary and no threshold is needed.

* Position. ``pos_x`` moves the shape along the horizontal (column) axis, ``pos_y`` along
  the vertical (row) axis, downwards: the centre is at column ``16 + 31 * pos_x`` and row
  ``16 + 31 * pos_y`` in pixel-index units. On the grid the centre therefore sits exactly
  on a pixel centre and moves one pixel per class, from pixel 16 to pixel 47.
* Local frame. With ``dx = col - centre_col`` (rightwards) and ``dy = centre_row - row``
  (upwards), the shape-frame coordinates are
  ``(u, v) = R(-θ) (dx, dy) / (10.5 * scale)``. A larger orientation ``θ`` turns the shape
  counter-clockwise as displayed (row 0 at the top).
* Shapes, as implicit functions of ``(u, v)``; a pixel is on where the function is ``<= 0``:

  - square: ``max(|u|, |v|) - 1``; side 21 px at scale 1 (10.5 px at scale 0.5).
  - ellipse: ``u² + (2v)² - 1``; axes 21 × 10.5 px at scale 1, the long axis horizontal at
    θ = 0.
  - heart: ``(x² + y² - 1)³ - x² y³`` with ``x = 1.118 u`` and ``y = 1.118 v + 0.118``, the
    classic sextic heart rescaled so that it spans ``v ∈ [-1, 1]`` (21 px tall at scale 1,
    about 21.4 px wide), lobes up and point down at θ = 0.

  The unit half-size of 10.5 px, not an integer, keeps the square's edges off the pixel
  centres, so no pixel of an axis-aligned square is decided by rounding. Every shape stays
  within 15 px of its centre at every orientation, hence inside the canvas at every position.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from mrvae.data.fetch import Remote, downloads_enabled, fetch
from mrvae.data.roots import DatasetNotFoundError, _locate, download_target

__all__ = [
    "FACTOR_NAMES",
    "FACTOR_SIZES",
    "N_IMAGES",
    "OFFICIAL_FILENAME",
    "OFFICIAL_URL",
    "DSprites",
    "iter_render",
    "latents_classes",
    "latents_values",
    "load_dsprites",
    "render",
    "render_values",
    "subsample_indices",
]

FACTOR_NAMES: tuple[str, ...] = ("color", "shape", "scale", "orientation", "pos_x", "pos_y")
FACTOR_SIZES: tuple[int, ...] = (1, 3, 6, 40, 32, 32)
N_IMAGES: int = math.prod(FACTOR_SIZES)  # 737,280
IMAGE_SIZE: int = 64
SHAPE_NAMES: tuple[str, ...] = ("square", "ellipse", "heart")

OFFICIAL_FILENAME = "dsprites_ndarray_co1sh3sc6or40x32y32_64x64.npz"
OFFICIAL_URL = "https://github.com/deepmind/dsprites-dataset"
_OFFICIAL_HINT = (
    f"download {OFFICIAL_FILENAME} from the official repository {OFFICIAL_URL} "
    f"({OFFICIAL_URL}/raw/master/{OFFICIAL_FILENAME}) into <data root>/dSprites/, or pass "
    "source='procedural' (or 'auto') to render the same factor grid with mrvae.data.dsprites.render."
)
PROCEDURAL_SOURCE = "procedural renderer (mrvae.data.dsprites)"

# Row-major strides of the factor grid: index = sum(class * stride).
_STRIDES: tuple[int, ...] = tuple(
    math.prod(FACTOR_SIZES[i + 1 :]) for i in range(len(FACTOR_SIZES))
)
_HALF_SIZE_PX = 10.5  # a shape's half-extent (in its own frame) at scale 1
_CENTRE_MIN_PX = 16.0  # pixel index of the centre at pos = 0
_CENTRE_SPAN_PX = 31.0  # pos = 1 puts the centre at pixel 47
_HEART_GAIN = 1.118  # maps v ∈ [-1, 1] onto the heart's y ∈ [-1, 1.236]
_HEART_SHIFT = 0.118


def _grid_values() -> tuple[np.ndarray, ...]:
    # numpy's linspace, not torch's: the official arrays were built with numpy and we
    # want bit-identical float64 values.
    return (
        np.ones(1),
        np.arange(1.0, 4.0),
        np.linspace(0.5, 1.0, 6),
        np.linspace(0.0, 2.0 * np.pi, 40),
        np.linspace(0.0, 1.0, 32),
        np.linspace(0.0, 1.0, 32),
    )


_VALUE_TABLES: tuple[Tensor, ...] = tuple(torch.from_numpy(v) for v in _grid_values())


def _as_indices(indices: Tensor | np.ndarray | Sequence[int], *, n_max: int = N_IMAGES) -> Tensor:
    """Validate flat dSprites indices: 1-D, integer, each in ``[0, n_max)``. Returns int64 (N,)."""
    if not isinstance(indices, Tensor):
        try:
            indices = torch.as_tensor(np.asarray(indices))
        except (TypeError, ValueError, RuntimeError) as exc:
            raise ValueError(
                f"indices must be a 1-D integer tensor, array or sequence; got {type(indices)}"
            ) from exc
    if indices.dtype == torch.bool or indices.is_floating_point() or indices.is_complex():
        raise ValueError(
            f"indices must have an integer dtype, got {indices.dtype}; use a LongTensor of flat "
            "indices (e.g. torch.arange(n) or subsample_indices(n, seed))"
        )
    if indices.dim() != 1:
        raise ValueError(
            f"indices must be 1-D (N,), got shape {tuple(indices.shape)}; flatten it first"
        )
    indices = indices.to(torch.int64)
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= n_max):
        raise ValueError(
            f"indices must lie in [0, {n_max}), got values in "
            f"[{int(indices.min())}, {int(indices.max())}]"
        )
    return indices


def latents_classes(indices: Tensor | np.ndarray | Sequence[int] | None = None) -> Tensor:
    """Per-factor class of each flat index: ``(N,)`` → ``(N, 6)`` int64 (all 737,280 if None).

    Columns follow :data:`FACTOR_NAMES`; equals the official ``latents_classes[indices]``.
    """
    flat = torch.arange(N_IMAGES) if indices is None else _as_indices(indices)
    strides = torch.tensor(_STRIDES)
    sizes = torch.tensor(FACTOR_SIZES)
    return torch.div(flat[:, None], strides, rounding_mode="floor") % sizes


def latents_values(indices: Tensor | np.ndarray | Sequence[int] | None = None) -> Tensor:
    """Per-factor value of each flat index: ``(N,)`` → ``(N, 6)`` float64 (all if None).

    Equals the official ``latents_values[indices]`` bit for bit; see the module docstring.
    """
    return _values_from_classes(latents_classes(indices))


def _values_from_classes(classes: Tensor) -> Tensor:
    columns = [table[classes[:, f]] for f, table in enumerate(_VALUE_TABLES)]
    return torch.stack(columns, dim=1)


def _inside(shape_id: int, u: Tensor, v: Tensor) -> Tensor:
    """Point-in-shape test in the shape's frame: ``u, v (n, 64, 64)`` → bool ``(n, 64, 64)``.

    Consumes ``u`` and ``v`` (computed in place: this is the hot loop of :func:`render`).
    """
    if shape_id == 1:
        return torch.maximum(u.abs_(), v.abs_()) <= 1.0
    if shape_id == 2:
        return u.square_().add_(v.square_().mul_(4.0)) <= 1.0
    x2 = u.square_().mul_(_HEART_GAIN**2)
    y = v.mul_(_HEART_GAIN).add_(_HEART_SHIFT)
    rhs = y.square().mul_(y).mul_(x2)  # x² y³
    t = y.square_().add_(x2).sub_(1.0)  # x² + y² - 1
    return t.square().mul_(t) <= rhs


def _frame_coordinates(values: Tensor) -> tuple[Tensor, Tensor]:
    """Shape-frame coordinates of every pixel centre: ``values (n, 6)`` → ``u, v (n, 64, 64)``.

    ``u = (cos θ dx + sin θ dy) / r`` and ``v = (-sin θ dx + cos θ dy) / r``, i.e. ``R(-θ)``
    applied to the pixel offset; both are sums of a row term and a column term, so they
    are built by broadcasting two ``(n, 64)`` tensors instead of a matrix product.
    """
    theta, scale = values[:, 3], values[:, 2]
    radius = _HALF_SIZE_PX * scale
    cos_r = (torch.cos(theta) / radius).float()[:, None]
    sin_r = (torch.sin(theta) / radius).float()[:, None]
    grid = torch.arange(IMAGE_SIZE, dtype=torch.float32)
    centre_col = (_CENTRE_MIN_PX + _CENTRE_SPAN_PX * values[:, 4]).float()[:, None]
    centre_row = (_CENTRE_MIN_PX + _CENTRE_SPAN_PX * values[:, 5]).float()[:, None]
    dx = grid - centre_col  # (n, 64): over columns, rightwards
    dy = centre_row - grid  # (n, 64): over rows, upwards
    u = (cos_r * dx)[:, None, :] + (sin_r * dy)[:, :, None]
    v = (cos_r * dy)[:, :, None] - (sin_r * dx)[:, None, :]
    return u, v


def _render_chunk(values: Tensor) -> Tensor:
    """``values (n, 6)`` float64 → bool images ``(n, 64, 64)``, grouped by shape."""
    out = torch.zeros(values.shape[0], IMAGE_SIZE, IMAGE_SIZE, dtype=torch.bool)
    shape_ids = values[:, 1].round().long()
    for shape_id in range(1, len(SHAPE_NAMES) + 1):
        rows = (shape_ids == shape_id).nonzero().squeeze(1)
        if rows.numel():
            u, v = _frame_coordinates(values[rows])
            out.index_copy_(0, rows, _inside(shape_id, u, v))
    return out


def _check_values(values: Tensor) -> Tensor:
    if not isinstance(values, Tensor) or values.dim() != 2 or values.shape[1] != 6:
        got = tuple(values.shape) if isinstance(values, Tensor) else type(values)
        raise ValueError(
            f"values must be a (N, 6) tensor of latents_values rows {FACTOR_NAMES}, got {got}"
        )
    values = values.to(torch.float64)
    if not bool(torch.isfinite(values).all()):
        raise ValueError("values must be finite")
    shape = values[:, 1]
    if not bool(((shape == 1) | (shape == 2) | (shape == 3)).all()):
        raise ValueError("values[:, 1] (shape) must be 1 (square), 2 (ellipse) or 3 (heart)")
    if not bool(((values[:, 2] > 0) & (values[:, 2] <= 1)).all()):
        raise ValueError("values[:, 2] (scale) must lie in (0, 1]; the grid uses 0.5..1")
    if not bool(((values[:, 4:] >= 0) & (values[:, 4:] <= 1)).all()):
        raise ValueError("values[:, 4:] (pos_x, pos_y) must lie in [0, 1]")
    return values


def _check_chunk(chunk: int) -> None:
    if not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk must be a positive int (images per batch), got {chunk!r}")


def _check_dtype(dtype: torch.dtype) -> None:
    if not isinstance(dtype, torch.dtype) or dtype.is_complex:
        raise ValueError(f"dtype must be a real torch dtype (e.g. torch.float32), got {dtype!r}")


def render_values(
    values: Tensor, *, chunk: int = 256, dtype: torch.dtype = torch.float32
) -> Tensor:
    """Render arbitrary factor values: ``values (N, 6)`` → images ``(N, 1, 64, 64)`` in {0, 1}.

    Columns as in :data:`FACTOR_NAMES` (color is ignored); values need not lie on the grid
    (any orientation, scale in (0, 1], positions in [0, 1]). Works ``chunk`` images at a
    time: the temporaries take about ``chunk * 80 KiB`` besides the output, and chunks of
    128–256 keep them in cache (about 4x faster per image than 2048 on one CPU core).
    """
    values = _check_values(values)
    _check_chunk(chunk)
    _check_dtype(dtype)
    out = torch.empty(values.shape[0], 1, IMAGE_SIZE, IMAGE_SIZE, dtype=dtype)
    for start in range(0, values.shape[0], chunk):
        stop = start + chunk
        out[start:stop, 0] = _render_chunk(values[start:stop])
    return out


def render(
    indices: Tensor | np.ndarray | Sequence[int],
    *,
    chunk: int = 256,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Procedural images of flat dSprites indices: ``(N,)`` → ``(N, 1, 64, 64)`` in {0, 1}.

    Deterministic. The output takes ``N * 16 KiB`` as float32 (12 GiB for all 737,280):
    render subsets, pass ``dtype=torch.uint8`` (3 GiB in all), or stream with
    :func:`iter_render`.
    """
    return render_values(latents_values(indices), chunk=chunk, dtype=dtype)


def iter_render(
    indices: Tensor | np.ndarray | Sequence[int] | None = None,
    *,
    chunk: int = 16384,
    dtype: torch.dtype = torch.float32,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Stream ``(indices (n,), images (n, 1, 64, 64))`` batches of at most ``chunk`` images.

    With ``indices=None`` this walks the whole grid in order, holding one batch at a time.
    """
    _check_chunk(chunk)
    flat = torch.arange(N_IMAGES) if indices is None else _as_indices(indices)
    for start in range(0, flat.numel(), chunk):
        batch = flat[start : start + chunk]
        yield batch, render(batch, dtype=dtype)


def subsample_indices(n: int, seed: int) -> Tensor:
    """``n`` distinct flat indices drawn uniformly with a fixed seed, sorted: int64 ``(n,)``."""
    if not isinstance(n, int) or not 0 <= n <= N_IMAGES:
        raise ValueError(f"n must be an int in [0, {N_IMAGES}], got {n!r}")
    if not isinstance(seed, int):
        raise ValueError(f"seed must be an int, got {seed!r}")
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(N_IMAGES, generator=generator)[:n].sort().values


@dataclass(frozen=True)
class DSprites:
    """A set of dSprites images with their factors.

    ``images (N, 1, 64, 64)`` in {0, 1}, ``latents_classes (N, 6)`` int64,
    ``latents_values (N, 6)`` float64 (columns as :data:`FACTOR_NAMES`), ``indices (N,)``
    their flat positions in the full grid, and ``source``: ``"official file <path>"`` or
    :data:`PROCEDURAL_SOURCE`.
    """

    images: Tensor
    latents_classes: Tensor
    latents_values: Tensor
    indices: Tensor
    source: str

    def __len__(self) -> int:
        return self.images.shape[0]


#: The official file's URL and md5 (the md5 that dataset libraries check it against).
OFFICIAL_DOWNLOAD = f"{OFFICIAL_URL}/raw/master/{OFFICIAL_FILENAME}"
OFFICIAL_MD5 = "7da33b31b13a06f4b04a70402ce90c2e"


def _find_official(root: Path | None, download: bool = False) -> Path:
    roots = [Path(root)] if root is not None else None
    required = [[f"dSprites/{OFFICIAL_FILENAME}", OFFICIAL_FILENAME]]
    try:
        _, (path,) = _locate(required, "dSprites", roots, _OFFICIAL_HINT)
    except DatasetNotFoundError:
        if not download:
            raise
        remote = Remote(f"dSprites/{OFFICIAL_FILENAME}", (OFFICIAL_DOWNLOAD,), OFFICIAL_MD5)
        (path,) = fetch("dSprites", [remote], download_target(root), manual=_OFFICIAL_HINT)
    return path


def _read_official(path: Path, flat: Tensor | None) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Read and validate the official file; returns ``(indices, imgs uint8, classes, values)``.

    The file must hold ``imgs (M, 64, 64)`` uint8 in {0, 1}, ``latents_classes (M, 6)`` and
    ``latents_values (M, 6)`` for the first ``M <= 737,280`` grid rows in order (the official
    file has all of them). ``metadata`` is never read: it is a pickle, and nothing needs it.
    """
    fix = f"re-download it from {OFFICIAL_URL}"
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable .npz archive ({exc}); {fix}") from exc
    with archive:
        missing = {"imgs", "latents_classes", "latents_values"} - set(archive.files)
        if missing:
            raise ValueError(
                f"{path}: missing keys {sorted(missing)} (has {sorted(archive.files)}); "
                f"is this {OFFICIAL_FILENAME}? {fix}"
            )
        imgs = archive["imgs"]
        classes = archive["latents_classes"]
        values = archive["latents_values"]
    m = imgs.shape[0] if imgs.ndim == 3 else -1
    if imgs.shape != (m, IMAGE_SIZE, IMAGE_SIZE) or imgs.dtype != np.uint8:
        raise ValueError(
            f"{path}: imgs must be uint8 of shape (M, 64, 64), got {imgs.dtype} {imgs.shape}; {fix}"
        )
    if not 0 < m <= N_IMAGES:
        raise ValueError(f"{path}: imgs holds {m} images, expected 1..{N_IMAGES}; {fix}")
    for name, array in (("latents_classes", classes), ("latents_values", values)):
        if array.shape != (m, 6):
            raise ValueError(f"{path}: {name} must have shape ({m}, 6), got {array.shape}; {fix}")
    grid_classes = latents_classes(torch.arange(m))
    if not np.array_equal(classes, grid_classes.numpy()):
        raise ValueError(
            f"{path}: latents_classes are not the dSprites grid in C order {FACTOR_SIZES}; {fix}"
        )
    if not np.allclose(values, _values_from_classes(grid_classes).numpy(), rtol=0, atol=1e-9):
        raise ValueError(f"{path}: latents_values do not match the dSprites factor grid; {fix}")
    flat = torch.arange(m) if flat is None else _as_indices(flat, n_max=m)
    picked = imgs[flat.numpy()]
    if picked.size and picked.max() > 1:
        raise ValueError(f"{path}: imgs must be binary 0/1, found {int(picked.max())}; {fix}")
    index = flat.numpy()
    return (
        flat,
        torch.from_numpy(picked),
        torch.from_numpy(classes[index].astype(np.int64)),
        torch.from_numpy(values[index].astype(np.float64)),
    )


def load_dsprites(
    indices: Tensor | np.ndarray | Sequence[int] | None = None,
    *,
    source: Literal["auto", "official", "procedural"] = "auto",
    root: str | Path | None = None,
    dtype: torch.dtype = torch.float32,
    download: bool | None = None,
) -> DSprites:
    """Load dSprites images ``indices`` (default: all 737,280) with their factors.

    ``source="official"`` reads :data:`OFFICIAL_FILENAME` below ``root`` (or the data roots)
    and raises :class:`~mrvae.data.DatasetNotFoundError` naming :data:`OFFICIAL_URL` when it
    is missing; ``"procedural"`` renders with :func:`render`; ``"auto"`` (default) uses the
    official file when present, else renders. With ``download`` (default: ``MRVAE_DOWNLOAD``,
    see :mod:`mrvae.data.fetch`) a missing official file is fetched first (26 MB); ``"auto"``
    renders if that fails. A present but malformed file is an error, never
    silently replaced. Reading the official file decompresses all its images (3 GiB)
    whatever ``indices`` is. Images are returned as ``dtype``: ``N * 16 KiB`` as float32.
    """
    if source not in ("auto", "official", "procedural"):
        raise ValueError(f"source must be 'auto', 'official' or 'procedural', got {source!r}")
    _check_dtype(dtype)
    flat = None if indices is None else _as_indices(indices)
    if source != "procedural":
        try:
            path = _find_official(Path(root) if root is not None else None, downloads_enabled(download))
        except DatasetNotFoundError:
            if source == "official":
                raise
        else:
            flat, imgs, classes, values = _read_official(path, flat)
            images = imgs.unsqueeze(1).to(dtype)
            return DSprites(images, classes, values, flat, f"official file {path}")
    flat = torch.arange(N_IMAGES) if flat is None else flat
    classes = latents_classes(flat)
    values = _values_from_classes(classes)
    return DSprites(render_values(values, dtype=dtype), classes, values, flat, PROCEDURAL_SOURCE)
