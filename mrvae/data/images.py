"""Image datasets of the paper's deep experiments (Section 5.2, Figure 5), as in-memory tensors.

Every loader returns an :class:`ImageData`: float32 images ``(N, C, H, W)`` in [0, 1], labels
where the dataset has them, and a ``source`` string saying exactly which files were read (the
official files, or one of the offline stand-ins of ``../shared/data``; see its README).

Files are searched below ``root`` if given, else below :func:`mrvae.data.data_roots`. Only an
explicit ``download=True`` writes anything, into ``root`` (default ``./data``), never into the
read-only shared folder. Results are cached per process and shared between calls: treat their
tensors as read-only (``.clone()`` before modifying in place).

Resampling (Omniglot 105→28, CelebA crop→64) is exact area averaging (:func:`area_resample`):
each output pixel is the mean of the input area it covers, fractional pixel borders included.
That is a box-filter antialiased resize, like OpenCV's ``INTER_AREA``, written as two small
matrix products so a whole batch is resampled at once.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import io
import os
import pickle
import re
import tarfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import Tensor

from mrvae.data.fetch import DownloadError, Remote, downloads_enabled, fetch
from mrvae.data.roots import DatasetNotFoundError, _locate, check_md5, data_roots, download_target

__all__ = [
    "BINARIZED_MNIST_URL",
    "DATASETS",
    "ImageData",
    "area_resample",
    "dynamic_binarize",
    "held_out",
    "load_binarized_mnist",
    "load_celeba64",
    "load_cifar10",
    "load_dataset",
    "load_image_folder",
    "load_omniglot28",
    "load_svhn",
    "omniglot_npz_from_pngs",
    "subset",
]

BINARIZED_MNIST_URL = (
    "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
    "binarized_mnist_{split}.amat"
)
BINARIZED_MNIST_ROWS: dict[str, int] = {"train": 50_000, "valid": 10_000, "test": 10_000}
OMNIGLOT_PARTS = ("background", "evaluation")
# Burda et al. (2016)'s 28x28 Omniglot: 24,345 training and 8,070 test images of the 32,460.
OMNIGLOT_TRAIN, OMNIGLOT_TEST = 24_345, 8_070
CELEBA_OFFLINE_DIR = "CelebA/img_align_celeba_first10k_half"
CELEBA_OFFLINE_TRAIN_LAST = 9_000  # offline files 000001..009000 train, 009001..010000 test
# The usual CelebA64 recipe: a 148x148 centre crop of the 178x218 aligned image, then 64x64.
CELEBA_FULL_WIDTH, CELEBA_CROP = 178, 148
_CELEBA_PARTITIONS: dict[str, int] = {"train": 0, "valid": 1, "test": 2}
_CHUNK = 2048  # images resampled per batch: bounds the float32 working memory


@dataclass(frozen=True)
class ImageData:
    """An image dataset held in memory.

    Attributes:
        images: ``(N, C, H, W)`` float32 in [0, 1].
        labels: ``(N,)`` int64, or None where the dataset has no labels.
        source: which files were read and how exact they are.
        binarized: True iff every value of ``images`` is exactly 0 or 1.
        index: ``(N,)`` int64 position of each image in the official split, when the
            data are a subset of it (offline CIFAR-10 training set, :func:`subset`); else None.
    """

    images: Tensor
    labels: Tensor | None
    source: str
    binarized: bool
    index: Tensor | None = None

    def __post_init__(self) -> None:
        if self.images.dim() != 4 or self.images.dtype != torch.float32:
            raise ValueError(
                "ImageData.images must be a float32 (N, C, H, W) tensor, got "
                f"{self.images.dtype} of shape {tuple(self.images.shape)}"
            )
        n = self.images.shape[0]
        for name, extra in (("labels", self.labels), ("index", self.index)):
            if extra is not None and tuple(extra.shape) != (n,):
                raise ValueError(
                    f"ImageData.{name} must have shape ({n},), got {tuple(extra.shape)}"
                )

    def __len__(self) -> int:
        return self.images.shape[0]


# --------------------------------------------------------------------------- helpers


def _check_split(split: str, valid: Sequence[str], dataset: str) -> None:
    if split not in valid:
        names = ", ".join(repr(s) for s in valid)
        raise ValueError(f"unknown {dataset} split {split!r}; valid splits: {names}")


def _roots(root: Path | str | None) -> list[Path]:
    return [Path(root).expanduser().resolve()] if root is not None else data_roots()


def _stamp(paths: Sequence[Path]) -> tuple[int, ...]:
    """(mtime, size) of each file: part of every cache key, so a replaced file is re-read."""
    return tuple(v for p in paths for s in [p.stat()] for v in (s.st_mtime_ns, s.st_size))


def _torchvision_datasets() -> ModuleType:
    """``torchvision.datasets``, imported lazily (it costs about 2 s)."""
    from mrvae._compat import install_torchvision_shim

    install_torchvision_shim()  # before torchvision is imported; see mrvae._compat
    import torchvision.datasets

    return torchvision.datasets


def _verify(path: Path, expected: str | None) -> None:
    check_md5(path, expected)


def _manifest_md5(root: Path, path: Path) -> str | None:
    """md5 of ``path`` listed in ``root/MANIFEST.md5`` (the shared folder's format), if any."""
    manifest = root / "MANIFEST.md5"
    if not manifest.is_file():
        return None
    table = _read_manifest(str(manifest), manifest.stat().st_mtime_ns)
    return table.get(path.relative_to(root).as_posix())


@functools.lru_cache(maxsize=8)
def _read_manifest(path: str, mtime_ns: int) -> dict[str, str]:
    del mtime_ns  # only part of the cache key
    table: dict[str, str] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2:
            table[parts[1].strip().removeprefix("./")] = parts[0].lower()
    return table


def _area_weights(start: float, stop: float, n_out: int, n_in: int) -> Tensor:
    """``(n_out, n_in)`` matrix averaging the input interval ``[start, stop)`` into n_out cells.

    Output cell i covers ``[start + i s, start + (i + 1) s)`` with ``s = (stop - start) / n_out``;
    input pixel j covers ``[j, j + 1)``. Each weight is the overlap length divided by ``s``, so
    every row sums to one.
    """
    if not 0.0 <= start < stop <= n_in:
        raise ValueError(f"the interval [{start}, {stop}) must lie inside [0, {n_in}]")
    step = (stop - start) / n_out
    lo = start + step * torch.arange(n_out, dtype=torch.float64)
    j = torch.arange(n_in, dtype=torch.float64)
    overlap = torch.minimum(lo[:, None] + step, j + 1) - torch.maximum(lo[:, None], j)
    return (overlap.clamp_min(0.0) / step).to(torch.float32)


def area_resample(
    images: Tensor,
    size: tuple[int, int],
    box: tuple[float, float, float, float] | None = None,
) -> Tensor:
    """Area-average a region of every image onto a ``size`` grid.

    Args:
        images: ``(N, C, H, W)`` floating tensor.
        size: output ``(h, w)``.
        box: ``(top, left, height, width)`` of the region in pixels (fractional allowed);
            default the whole image.

    Returns:
        ``(N, C, h, w)``: output pixel = mean of ``images`` over the area it covers, which is
        ``A_h @ x @ A_w^T`` with the area matrices of :func:`_area_weights`. For an integer
        factor this equals ``F.avg_pool2d``; it is linear and maps constants to themselves.
    """
    if images.dim() != 4 or not images.is_floating_point():
        raise ValueError(
            f"images must be a floating (N, C, H, W) tensor, got {tuple(images.shape)}"
        )
    h, w = size
    if h < 1 or w < 1:
        raise ValueError(f"size must be positive, got {size}")
    height, width = images.shape[-2:]
    top, left, box_h, box_w = box if box is not None else (0.0, 0.0, float(height), float(width))
    rows = _area_weights(top, top + box_h, h, height).to(images)
    cols = _area_weights(left, left + box_w, w, width).to(images)
    return rows @ images @ cols.T


def _resample_uint8(
    array: np.ndarray, size: tuple[int, int], box: tuple[float, float, float, float] | None
) -> Tensor:
    """``(N, H, W[, C])`` uint8 → ``(N, C, h, w)`` float32 in [0, 1], a chunk at a time."""
    if array.ndim == 3:
        array = array[..., None]
    out = torch.empty(array.shape[0], array.shape[-1], *size, dtype=torch.float32)
    for lo in range(0, array.shape[0], _CHUNK):
        chunk = torch.from_numpy(np.ascontiguousarray(array[lo : lo + _CHUNK]))
        x = chunk.permute(0, 3, 1, 2).to(torch.float32).div_(255.0)
        out[lo : lo + _CHUNK] = area_resample(x, size, box)
    return out.clamp_(0.0, 1.0)  # float rounding can step a hair outside [0, 1]


def _uint8_to_float(array: np.ndarray) -> Tensor:
    """``(N, H, W, C)`` uint8 → ``(N, C, H, W)`` float32 in [0, 1]."""
    return torch.from_numpy(np.ascontiguousarray(array)).permute(0, 3, 1, 2).float().div_(255.0)


def dynamic_binarize(x: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Fresh Bernoulli sample of every pixel, ``x_bin ~ Bernoulli(x)``; same shape as ``x``.

    ``x`` must lie in [0, 1]. Use as ``mrvae.train(..., transform=dynamic_binarize)`` so every
    epoch sees a new binarisation of the grey training images (Burda et al., 2016).
    """
    return torch.bernoulli(x, generator=generator)


def subset(data: ImageData, n: int, seed: int = 0) -> ImageData:
    """A fixed-seed random subset of ``n`` images, kept in their original order."""
    total = len(data)
    if not 1 <= n <= total:
        raise ValueError(f"n must lie in [1, {total}] (the dataset size), got {n}")
    keep = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[:n].sort().values
    return _take(data, keep, f"fixed-seed subset of {n} of {total} images (seed {seed})")


def held_out(data: ImageData, n: int, m: int, seed: int = 0) -> ImageData:
    """``m`` images that :func:`subset` ``(data, n, seed)`` leaves out, fixed by ``seed``: a
    validation set drawn from the same split as the training images, disjoint from them."""
    total = len(data)
    if not (1 <= n < total and 1 <= m <= total - n):
        raise ValueError(f"need 1 <= n < {total} and 1 <= m <= {total} - n (the images subset() leaves), got n={n}, "
                         f"m={m}; train on fewer images or hold out fewer")
    keep = torch.randperm(total, generator=torch.Generator().manual_seed(seed))[n:n + m].sort().values
    return _take(data, keep, f"fixed-seed {m} of the {total - n} images left out of the training subset (seed {seed})")


def _take(data: ImageData, keep: Tensor, how: str) -> ImageData:
    return ImageData(
        images=data.images[keep],
        labels=data.labels[keep] if data.labels is not None else None,
        source=f"{data.source}; {how}",
        binarized=data.binarized,
        index=data.index[keep] if data.index is not None else keep,
    )


# ------------------------------------------------------------------ binarized MNIST


def _parse_amat(text: bytes, path: Path, columns: int = 784) -> np.ndarray:
    """Rows of 0/1 separated by blanks (the ``.amat`` format) → ``(rows, columns)`` uint8.

    The published layout is checked and sliced as a byte grid (0.4 s for the 50,000-row
    training file, against 0.9 s for ``numpy.loadtxt``, which remains the fallback).
    """
    buf = np.frombuffer(text, dtype=np.uint8)
    width = 2 * columns  # "d d ... d\n": the layout of the published files
    if buf.size % width == 0 and buf.size:
        grid = buf.reshape(-1, width)
        values = grid[:, 0::2]
        if (
            bool((grid[:, 1:-1:2] == ord(" ")).all())
            and bool((grid[:, -1] == ord("\n")).all())
            and bool(((values == ord("0")) | (values == ord("1"))).all())
        ):
            return values - ord("0")
    return _parse_amat_general(text, path, columns)


def _parse_amat_general(text: bytes, path: Path, columns: int) -> np.ndarray:
    """Fallback of :func:`_parse_amat` for other layouts (tabs, CRLF, blank lines)."""
    try:
        values = np.loadtxt(io.BytesIO(text), dtype=np.float32, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{path}: not a whitespace-separated table of numbers ({exc})") from exc
    if values.size and values.shape[1] != columns:
        raise ValueError(
            f"{path}: rows have {values.shape[1]} values, expected {columns} (28x28 pixels); "
            "is this the right file?"
        )
    if not bool(((values == 0) | (values == 1)).all()):
        raise ValueError(f"{path}: binarized MNIST values must be 0 or 1; is this the right file?")
    return values.astype(np.uint8).reshape(-1, columns)


@functools.lru_cache(maxsize=3)
def _binarized_mnist_cached(path: Path, stamp: tuple[int, ...], split: str) -> ImageData:
    del stamp  # only part of the cache key
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # sniff instead of trusting the suffix
        raw = gzip.decompress(raw)
    rows = _parse_amat(raw, path)
    expected = BINARIZED_MNIST_ROWS[split]
    exact = "" if rows.shape[0] == expected else f"; {rows.shape[0]} rows, original {expected}"
    images = torch.from_numpy(rows).to(torch.float32).reshape(-1, 1, 28, 28)
    source = f"static binarized MNIST (Larochelle & Murray) {path}{exact}"
    return ImageData(images, None, source, True)


def load_binarized_mnist(
    split: str = "train",
    root: Path | str | None = None,
    download: bool | None = None,
    verify: bool = True,
) -> ImageData:
    """Static binarized MNIST (Larochelle & Murray, 2011): ``(N, 1, 28, 28)`` of exact 0/1.

    ``split`` is ``"train"``, ``"valid"`` or ``"test"`` (50,000 / 10,000 / 10,000 images, no
    labels). Reads ``BinarizedMNIST/binarized_mnist_{split}.amat[.gz]``; with ``download``,
    fetches the ``.amat`` from the Larochelle URL into ``root`` (default ``./data``). With
    ``verify``, a file listed in its root's ``MANIFEST.md5`` is checked against it.
    """
    _check_split(split, tuple(BINARIZED_MNIST_ROWS), "binarized MNIST")
    name = f"BinarizedMNIST/binarized_mnist_{split}.amat"
    hint = (
        f"`mrvae.data.images.load_binarized_mnist({split!r}, download=True)` fetches "
        f"{BINARIZED_MNIST_URL.format(split=split)} into ./data/BinarizedMNIST/"
    )
    try:
        found_root, (path,) = _locate([[name + ".gz", name]], "binarized MNIST", _roots(root), hint)
    except DatasetNotFoundError:
        if not downloads_enabled(download):
            raise
        found_root = download_target(root)
        (path,) = fetch("binarized MNIST", [Remote(name, (BINARIZED_MNIST_URL.format(split=split),))],
                        found_root, manual=hint)
    if verify:
        _verify(path, _manifest_md5(found_root, path))
    return _binarized_mnist_cached(path.resolve(), _stamp([path]), split)


# ------------------------------------------------------------------------- Omniglot


def omniglot_npz_from_pngs(images_dir: Path | str, out: Path | str) -> Path:
    """Pack an original Omniglot PNG folder into the npz the Omniglot loader reads.

    ``images_dir`` is an unzipped ``images_background`` or ``images_evaluation`` folder
    (``<Alphabet>/<characterNN>/<id>_<rep>.png``, 105x105). Writes ``out`` with keys ``images``
    ``(N, 105, 105)`` uint8 in {0, 255} and ``paths`` (``<folder name>/<Alphabet>/...``),
    sorted by path, and returns ``out``.
    """
    from PIL import Image

    images_dir, out = Path(images_dir), Path(out)
    files = sorted(images_dir.glob("*/*/*.png"), key=lambda p: p.relative_to(images_dir).as_posix())
    if not files:
        raise DatasetNotFoundError(
            f"no <Alphabet>/<character>/*.png files below {images_dir}; unzip "
            "images_background.zip or images_evaluation.zip from "
            "github.com/brendenlake/omniglot (python/) there"
        )
    images = np.stack([np.asarray(Image.open(f).convert("L")) for f in files])
    images = np.where(images >= 128, 255, 0).astype(np.uint8)  # the PNGs are 1-bit
    paths = np.array([f"{images_dir.name}/{f.relative_to(images_dir).as_posix()}" for f in files])
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, images=images, paths=paths)
    return out


def _omniglot_files() -> list[list[str]]:
    return [[f"Omniglot/omniglot_images_{part}_105x105_uint8.npz"] for part in OMNIGLOT_PARTS]


#: The original PNG zips and their md5s (as torchvision publishes them).
OMNIGLOT_URL = "https://raw.githubusercontent.com/brendenlake/omniglot/master/python/"
OMNIGLOT_ZIP_MD5S = {"background": "68d2efa1b9178cc56df9314c21c6e718",
                     "evaluation": "6b91aef0f799c5bb55b94e3f2daec811"}


def _download_omniglot(root: Path | str | None, manual: str) -> Path:
    target = download_target(root)
    for part in OMNIGLOT_PARTS:
        packed = target / "Omniglot" / f"omniglot_images_{part}_105x105_uint8.npz"
        if packed.is_file():
            continue
        name = f"images_{part}.zip"
        (archive,) = fetch("Omniglot", [Remote(f"Omniglot/{name}", (OMNIGLOT_URL + name,), OMNIGLOT_ZIP_MD5S[part])],
                           target, manual=manual)
        unzipped = target / "Omniglot" / "unzipped"
        with zipfile.ZipFile(archive) as zipped:
            zipped.extractall(unzipped)
        omniglot_npz_from_pngs(unzipped / f"images_{part}", packed)
    return target


@functools.lru_cache(maxsize=1)
def _omniglot_pooled(paths: tuple[Path, ...], stamp: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """All 32,460 images at 28x28 with strokes = 1, sorted by path; and character labels."""
    del stamp  # only part of the cache key
    images, names = [], []
    for path in paths:
        with np.load(path, allow_pickle=False) as npz:
            part, part_names = npz["images"], npz["paths"].astype(str)
        if part.ndim != 3 or part.shape[1:] != (105, 105) or part.dtype != np.uint8:
            raise ValueError(
                f"{path}: expected uint8 images (N, 105, 105), got {part.dtype} {part.shape}"
            )
        if part_names.shape != (part.shape[0],):
            raise ValueError(f"{path}: {part.shape[0]} images but {part_names.size} paths")
        images.append(part)
        names.append(part_names)
    all_names = np.concatenate(names)
    order = np.argsort(all_names, kind="stable")  # the split must not depend on storage order
    all_images = np.concatenate(images)[order]
    # Strokes are the minority value 0 (black ink on white); invert so that strokes are 1.
    # Averaging commutes with 1 - x, so invert after downsampling, on 16x fewer pixels.
    x = 1.0 - _resample_uint8(all_images, (28, 28), None)
    if float(x.mean()) >= 0.5:
        raise ValueError(f"{paths}: expected dark strokes on a white background, found inverse")
    characters = np.array([n.rsplit("/", 1)[0] for n in all_names[order]])
    _, labels = np.unique(characters, return_inverse=True)
    return x, torch.from_numpy(labels.astype(np.int64))


@functools.lru_cache(maxsize=4)
def _omniglot_split(
    paths: tuple[Path, ...], stamp: tuple[int, ...], split: str, seed: int, binarize_test: bool,
    n_train: int, n_test: int,
) -> ImageData:
    x, labels = _omniglot_pooled(paths, stamp)
    total = x.shape[0]
    if n_train < 1 or n_test < 1 or n_train + n_test > total:
        raise ValueError(
            f"n_train + n_test must be at most the {total} images available (both >= 1), got "
            f"{n_train} + {n_test}"
        )
    gen = torch.Generator().manual_seed(seed)
    perm = torch.randperm(total, generator=gen)
    keep = (perm[:n_train] if split == "train" else perm[n_train : n_train + n_test]).sort().values
    images = x[keep]
    binarized = split == "test" and binarize_test
    if binarized:
        # A separate stream, so the test binarisation does not depend on n_train.
        images = torch.bernoulli(images, generator=torch.Generator().manual_seed(seed + 1))
    unused = total - n_train - n_test
    source = (
        f"Omniglot 28x28 from the original 105x105 images ({', '.join(str(p) for p in paths)}): "
        f"area-downsampled, strokes = 1, background+evaluation pooled ({total}), seed-{seed} split "
        f"of {n_train} train / {n_test} test ({unused} unused); this is the {split} split"
        + (f", binarised once with seed {seed + 1}" if binarized else ", grey")
    )
    return ImageData(images, labels[keep], source, binarized, index=keep)


def load_omniglot28(
    split: str = "train",
    root: Path | str | None = None,
    *,
    seed: int = 0,
    binarize_test: bool = True,
    download: bool | None = None,
    verify: bool = True,
    n_train: int = OMNIGLOT_TRAIN,
    n_test: int = OMNIGLOT_TEST,
) -> ImageData:
    """Omniglot at 28x28 made the way Burda et al. (2016) made theirs: ``(N, 1, 28, 28)``.

    The original 105x105 images (``Omniglot/omniglot_images_{background,evaluation}_105x105_
    uint8.npz``) are area-downsampled to 28x28 (:func:`area_resample`; 105/28 = 3.75 input
    pixels per output pixel) and inverted so strokes are 1. Both parts are pooled (32,460
    images, sorted by path) and split with a seed-``seed`` permutation into ``n_train`` training
    and the next ``n_test`` test images (default 24,345 and 8,070, Burda et al.'s sizes; the
    remaining 45 are unused). Training images stay grey: binarise each batch with
    :func:`dynamic_binarize`. Test images are binarised once with seed ``seed + 1`` (unless
    ``binarize_test=False``) so evaluation is deterministic. Labels are character classes
    (0..1622); ``index`` holds the position in the path-sorted pool.

    With ``download`` (default: ``MRVAE_DOWNLOAD``, see :mod:`mrvae.data.fetch`), the PNG zips
    are fetched into ``root`` (default ``./data``) and :func:`omniglot_npz_from_pngs` packs them.
    """
    _check_split(split, ("train", "test"), "Omniglot")
    hint = (
        "download images_background.zip and images_evaluation.zip from "
        "github.com/brendenlake/omniglot (python/ folder), unzip both and pack each with "
        "`mrvae.data.images.omniglot_npz_from_pngs(<unzipped folder>, "
        "<data root>/Omniglot/omniglot_images_<part>_105x105_uint8.npz)`; or call "
        "`load_omniglot28(download=True)`, which does both"
    )
    try:
        found_root, paths = _locate(_omniglot_files(), "Omniglot", _roots(root), hint)
    except DatasetNotFoundError:
        if not downloads_enabled(download):
            raise
        found_root, paths = _locate(_omniglot_files(), "Omniglot", [_download_omniglot(root, hint)], hint)
    if verify:
        for path in paths:
            _verify(path, _manifest_md5(found_root, path))
    resolved = tuple(p.resolve() for p in paths)
    return _omniglot_split(resolved, _stamp(paths), split, seed, binarize_test, n_train, n_test)


# ------------------------------------------------------------------------- CIFAR-10


def _cifar_official_files(split: str) -> list[list[str]]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    return [[f"cifar-10-batches-py/{n}", f"CIFAR10/cifar-10-batches-py/{n}"] for n in names]


def _cifar_offline_files(split: str) -> list[list[str]]:
    if split == "test":
        return [["CIFAR10/cifar10_test.npz"]]
    return [[f"CIFAR10/cifar10_train_part{i}.npz"] for i in (0, 1)]


CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
CIFAR10_ARCHIVE_MD5 = "c58f30108f718f92721af3b95e74349a"


def _download_cifar10(root: Path | str | None, manual: str) -> Path:
    target = download_target(root)
    (archive,) = fetch("CIFAR-10", [Remote("CIFAR10/cifar-10-python.tar.gz", (CIFAR10_URL,), CIFAR10_ARCHIVE_MD5)],
                       target, manual=manual)
    with tarfile.open(archive) as tar:
        tar.extractall(target / "CIFAR10", filter="data")
    return target


def _cifar_md5s() -> dict[str, str]:
    cifar = _torchvision_datasets().CIFAR10
    return {name: md5 for name, md5 in [*cifar.train_list, *cifar.test_list]}


@functools.lru_cache(maxsize=2)
def _cifar_official(paths: tuple[Path, ...], stamp: tuple[int, ...]) -> ImageData:
    del stamp  # only part of the cache key
    data, labels = [], []
    for path in paths:
        with open(path, "rb") as fh:  # the official format is a pickle; only read trusted files
            batch = pickle.load(fh, encoding="latin1")
        data.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch["labels"], dtype=np.int64))
    images = torch.from_numpy(np.concatenate(data)).float().div_(255.0)
    source = f"official CIFAR-10 python batches at {paths[0].parent}"
    return ImageData(images, torch.from_numpy(np.concatenate(labels)), source, False)


@functools.lru_cache(maxsize=2)
def _cifar_offline(paths: tuple[Path, ...], stamp: tuple[int, ...], split: str) -> ImageData:
    del stamp  # only part of the cache key
    images, labels, index = [], [], []
    notes = ""
    for path in paths:
        with np.load(path, allow_pickle=False) as npz:
            images.append(npz["images"])
            labels.append(npz["labels"].astype(np.int64))
            if split == "train":
                index.append(npz["train_index"].astype(np.int64))
            elif "uncertain" in npz.files:
                notes = f"; {int(npz['uncertain'].sum())} positions flagged `uncertain` in the file"
    x, y = np.concatenate(images), np.concatenate(labels)
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or x.dtype != np.uint8:
        raise ValueError(f"{paths}: expected uint8 images (N, 32, 32, 3), got {x.dtype} {x.shape}")
    if split == "test":
        return ImageData(
            _uint8_to_float(x), torch.from_numpy(y),
            f"offline lossless CIFAR-10 test set {paths[0]} ({x.shape[0]} of 10,000 images{notes})",
            False,
        )
    idx = np.concatenate(index)
    if np.unique(idx).size != idx.size or idx.min(initial=0) < 0 or idx.max(initial=0) >= 50_000:
        raise ValueError(f"{paths}: train_index must be distinct positions in [0, 50000)")
    order = np.argsort(idx)  # the official training order
    source = (
        f"offline lossless subset {paths[0].parent}/cifar10_train_part*.npz ({idx.size:,} of "
        "50,000 training images, official order)"
    )
    return ImageData(
        _uint8_to_float(x[order]), torch.from_numpy(y[order]), source, False,
        index=torch.from_numpy(idx[order]),
    )


def load_cifar10(
    split: str = "train",
    root: Path | str | None = None,
    download: bool | None = None,
    verify: bool = True,
) -> ImageData:
    """CIFAR-10 as ``(N, 3, 32, 32)`` with labels 0..9.

    Uses the official python batches (``cifar-10-batches-py/`` directly below a data root or
    below its ``CIFAR10/``) when present, else the offline npz copies when present: the full
    test set, and 38,597 of the 50,000 training images in official order (``index`` gives their
    positions). When neither is found and ``download`` (default: ``MRVAE_DOWNLOAD``, see
    :mod:`mrvae.data.fetch`), the official archive is fetched into ``root`` (default
    ``./data``) and unpacked. ``source`` says which was used. With ``verify``, official files
    are checked against torchvision's md5s, offline ones against their root's ``MANIFEST.md5``.
    """
    _check_split(split, ("train", "test"), "CIFAR-10")
    roots = _roots(root)
    hint = (
        "`mrvae.data.images.load_cifar10(download=True)` downloads the official python batches "
        "(https://www.cs.toronto.edu/~kriz/cifar.html) into ./data with torchvision"
    )
    official = _cifar_official_files(split)
    try:
        _, paths = _locate(official, "CIFAR-10", roots, hint)
    except DatasetNotFoundError as official_missing:
        try:
            found_root, paths = _locate(_cifar_offline_files(split), "CIFAR-10", roots, hint)
        except DatasetNotFoundError:
            if not downloads_enabled(download):
                raise DatasetNotFoundError(
                    f"{official_missing}\nNor is the offline copy "
                    f"({' + '.join(v[0] for v in _cifar_offline_files(split))}) below those roots."
                ) from None
            _, paths = _locate(official, "CIFAR-10", [_download_cifar10(root, hint)], hint)
        else:
            if verify:
                for path in paths:
                    _verify(path, _manifest_md5(found_root, path))
            resolved = tuple(p.resolve() for p in paths)
            return _cifar_offline(resolved, _stamp(paths), split)
    if verify:
        md5s = _cifar_md5s()
        for path in paths:
            _verify(path, md5s.get(path.name))
    return _cifar_official(tuple(p.resolve() for p in paths), _stamp(paths))


# ----------------------------------------------------------------------------- SVHN


@functools.lru_cache(maxsize=2)
def _svhn_cached(path: Path, stamp: tuple[int, ...]) -> ImageData:
    del stamp  # only part of the cache key
    from scipy.io import loadmat

    mat = loadmat(str(path))
    x, y = mat["X"], mat["y"].astype(np.int64).reshape(-1)
    if x.ndim != 4 or x.shape[:3] != (32, 32, 3) or x.shape[3] != y.size:
        raise ValueError(f"{path}: expected X of shape (32, 32, 3, N) and N labels, got {x.shape}")
    y[y == 10] = 0  # the .mat files label the digit 0 as 10
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(3, 2, 0, 1))).float().div_(255.0)
    return ImageData(images, torch.from_numpy(y), f"official SVHN cropped digits {path}", False)


def load_svhn(
    split: str = "train",
    root: Path | str | None = None,
    download: bool | None = None,
    verify: bool = True,
) -> ImageData:
    """SVHN cropped digits (Netzer et al., 2011) as ``(N, 3, 32, 32)`` with labels 0..9.

    Reads ``SVHN/{split}_32x32.mat`` (or ``{split}_32x32.mat`` directly below ``root``, the
    layout of ``torchvision.datasets.SVHN(root)``); with ``download`` (default:
    ``MRVAE_DOWNLOAD``, see :mod:`mrvae.data.fetch`), it is fetched from the official site into
    ``root/SVHN`` (default ``./data/SVHN``). No offline copy exists in ``../shared/data``.
    With ``verify``, the file is checked against torchvision's md5.
    """
    _check_split(split, ("train", "test"), "SVHN")
    name = f"{split}_32x32.mat"
    hint = (
        "SVHN has no offline copy here; on a machine with internet access "
        f"`mrvae.data.images.load_svhn({split!r}, download=True)` downloads "
        f"http://ufldl.stanford.edu/housenumbers/{name} into ./data/SVHN/"
    )
    try:
        _, (path,) = _locate([[f"SVHN/{name}", name]], "SVHN", _roots(root), hint)
    except DatasetNotFoundError:
        if not downloads_enabled(download):
            raise
        url, _, md5 = _torchvision_datasets().SVHN.split_list[split]
        (path,) = fetch("SVHN", [Remote(f"SVHN/{name}", (url,), md5)], download_target(root), manual=hint)
    if verify:
        _verify(path, _torchvision_datasets().SVHN.split_list[split][2])
    return _svhn_cached(path.resolve(), _stamp([path]))


# --------------------------------------------------------------------------- CelebA


def _decode(paths: Sequence[Path], md5s: dict[str, str] | None) -> np.ndarray:
    """Decode same-sized images with PIL into ``(N, H, W, 3)`` uint8, checking md5s if given.

    The decode is the only per-image step; everything after it works on the whole batch.
    """
    from PIL import Image

    out: np.ndarray | None = None
    for i, path in enumerate(paths):
        raw = path.read_bytes()
        if md5s is not None and (want := md5s.get(path.name)) is not None:
            got = hashlib.md5(raw, usedforsecurity=False).hexdigest()
            if got != want:
                raise ValueError(f"{path}: md5 {got} does not match the listed {want}; corrupt")
        with Image.open(io.BytesIO(raw)) as image:
            pixels = np.asarray(image.convert("RGB"))
        if out is None:
            out = np.empty((len(paths), *pixels.shape), dtype=np.uint8)
        if pixels.shape != out.shape[1:]:
            raise ValueError(f"{path}: size {pixels.shape} differs from the first {out.shape[1:]}")
        out[i] = pixels
    if out is None:
        raise ValueError("no images to decode")
    return out


def _celeba_box(height: int, width: int) -> tuple[float, float, float, float]:
    """The 148x148 centre crop of a 178-wide aligned image, scaled to this image's size."""
    side = CELEBA_CROP * width / CELEBA_FULL_WIDTH
    return ((height - side) / 2, (width - side) / 2, side, side)


def _decode_cached(
    paths: Sequence[Path], md5s: dict[str, str] | None, cache_dir: Path | None
) -> np.ndarray:
    """:func:`_decode`, memoised on disk as ``.npy`` below ``cache_dir`` when one is given."""
    if cache_dir is None:
        return _decode(paths, md5s)
    cache_dir = download_target(cache_dir)  # the same "never into the shared folder" rule
    key = hashlib.md5(repr([(str(p), _stamp([p])) for p in paths]).encode(), usedforsecurity=False)
    cached = cache_dir / f"decoded_{key.hexdigest()}.npy"
    if cached.is_file():
        return np.load(cached, allow_pickle=False)
    array = _decode(paths, md5s)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_name(cached.stem + ".part.npy")
    np.save(tmp, array)
    os.replace(tmp, cached)
    return array


def _read_md5_list(path: Path) -> dict[str, str]:
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split(maxsplit=1)
        if len(parts) == 2:
            table[Path(parts[1].strip()).name] = parts[0].lower()
    return table


@functools.lru_cache(maxsize=2)
def _celeba_cached(
    folder: Path, stamp: tuple[int, ...], names: tuple[str, ...], md5_list: Path | None,
    cache_dir: Path | None, source: str,
) -> ImageData:
    del stamp  # only part of the cache key
    md5s = _read_md5_list(md5_list) if md5_list is not None else None
    raw = _decode_cached([folder / n for n in names], md5s, cache_dir)
    images = _resample_uint8(raw, (64, 64), _celeba_box(*raw.shape[1:3]))
    return ImageData(images, None, source, False)


def _celeba_official(folder: Path, partition: Path, split: str) -> tuple[str, ...]:
    want = str(_CELEBA_PARTITIONS[split])
    names = [parts[0] for line in partition.read_text(encoding="utf-8").splitlines()
             if len(parts := line.split()) == 2 and parts[1] == want]
    missing = [n for n in names if not (folder / n).is_file()]
    if missing:
        raise DatasetNotFoundError(
            f"{len(missing)} images of CelebA's {split} partition are missing from {folder} "
            f"(first: {missing[0]}); unzip img_align_celeba.zip there again"
        )
    return tuple(names)


def load_celeba64(
    split: str = "train",
    root: Path | str | None = None,
    download: bool | None = None,
    verify: bool = True,
    cache_dir: Path | str | None = None,
) -> ImageData:
    """CelebA at 64x64 (the 148x148 centre crop, area-resampled): ``(N, 3, 64, 64)``, no labels.

    Official files (``celeba/img_align_celeba/*.jpg`` and ``celeba/list_eval_partition.txt``,
    the layout of ``torchvision.datasets.CelebA(root)``) give CelebA's own ``"train"``,
    ``"valid"`` and ``"test"`` partitions (162,770 / 19,867 / 19,962 images; the training set
    takes about 8 GB as float32). When neither they nor the offline stand-in below are found
    and ``download`` (default: ``MRVAE_DOWNLOAD``, see :mod:`mrvae.data.fetch`), torchvision
    fetches them from Google Drive into ``root`` (default ``./data``); when Drive refuses, the
    error says how to fetch them by hand (:data:`CELEBA_MANUAL_STEP`).

    Otherwise the offline stand-in ``CelebA/img_align_celeba_first10k_half/`` (the first
    10,000 aligned images, all in CelebA's training partition, at half size 89x109, JPEG) is
    used with a fixed split: files 000001-009000 are ``"train"``, 009001-010000 ``"test"``;
    the crop is the same region at half scale (74x74 at a half-pixel offset, exact under area
    resampling). ``verify`` checks the images against the folder's ``.md5`` list when present.

    JPEG decoding (PIL, about 2 s per 10,000 small images) is the only per-image step;
    ``cache_dir`` (e.g. ``./data/cache``) keeps the decoded pixels as ``.npy`` for next time.
    """
    _check_split(split, tuple(_CELEBA_PARTITIONS), "CelebA")
    roots = _roots(root)
    cache = Path(cache_dir) if cache_dir is not None else None
    hint = (
        "`mrvae.data.images.load_celeba64(download=True)` downloads the official files with "
        "torchvision (Google Drive; often over quota, then fetch img_align_celeba.zip and "
        "list_eval_partition.txt from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html by hand "
        "into ./data/celeba/)"
    )
    partition_file = [["celeba/list_eval_partition.txt"]]
    try:
        _, (partition,) = _locate(partition_file, "CelebA", roots, hint)
    except DatasetNotFoundError as official_missing:
        try:
            return _celeba_offline(split, roots, verify, cache, official_missing)
        except DatasetNotFoundError:
            if not downloads_enabled(download):
                raise
        _, (partition,) = _locate(partition_file, "CelebA", [_download_celeba(root)], hint)
    folder = partition.parent / "img_align_celeba"
    names = _celeba_official(folder, partition, split)
    source = f"official CelebA aligned images {folder}, {split} partition ({len(names):,} images)"
    stamp = _stamp([partition, folder])
    return _celeba_cached(folder.resolve(), stamp, names, None, cache, source)


#: What to do when Google Drive refuses the download, as it often does (a daily quota).
CELEBA_MANUAL_STEP = (
    "CelebA is served from Google Drive, which often refuses automated downloads (daily quota). "
    "Download img_align_celeba.zip and list_eval_partition.txt by hand from "
    "https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html (\"Align&Cropped Images\"), put "
    "list_eval_partition.txt in {target}/celeba/ and unzip the images so that "
    "{target}/celeba/img_align_celeba/000001.jpg exists; then run again"
)


def _download_celeba(root: Path | str | None) -> Path:
    target = download_target(root)
    try:
        _torchvision_datasets().CelebA(str(target), split="all", target_type=[], download=True)
    except Exception as error:  # noqa: BLE001 - gdown and torchvision raise many kinds
        raise DownloadError(f"CelebA: the download failed ({type(error).__name__}: {error}).\n"
                            + CELEBA_MANUAL_STEP.format(target=target)) from error
    return target


def _celeba_offline(
    split: str, roots: list[Path], verify: bool, cache: Path | None, official_missing: Exception
) -> ImageData:
    if split == "valid":
        raise ValueError(
            "the offline CelebA stand-in has no 'valid' split (valid: 'train', 'test'); the "
            "official files give all three"
        )
    folder = next((r / CELEBA_OFFLINE_DIR for r in roots if (r / CELEBA_OFFLINE_DIR).is_dir()),
                  None)
    if folder is None:
        raise DatasetNotFoundError(
            f"{official_missing}\nNor is the offline stand-in {CELEBA_OFFLINE_DIR}/ below "
            "those roots."
        )
    numbered = sorted(p.name for p in folder.glob("*.jpg") if re.fullmatch(r"\d{6}\.jpg", p.name))
    take = (lambda k: k <= CELEBA_OFFLINE_TRAIN_LAST) if split == "train" else (
        lambda k: k > CELEBA_OFFLINE_TRAIN_LAST)
    names = tuple(n for n in numbered if take(int(n[:6])))
    if not names:
        raise DatasetNotFoundError(f"no {split} images (numbered NNNNNN.jpg) in {folder}")
    md5_list = folder.with_name(folder.name + ".md5")
    first, last = names[0][:6], names[-1][:6]
    source = (
        f"offline CelebA stand-in {folder}: {len(names):,} images {first}-{last} (first 10,000 "
        "aligned images, all in CelebA's official training partition; half size 89x109, "
        f"re-saved as JPEG), fixed split 1-{CELEBA_OFFLINE_TRAIN_LAST} train / rest test; "
        f"this is the {split} split"
    )
    md5 = md5_list.resolve() if verify and md5_list.is_file() else None
    stamp = _stamp([folder])
    return _celeba_cached(folder.resolve(), stamp, names, md5, cache, source)


def load_image_folder(path: Path | str, size: int = 64) -> ImageData:
    """Every ``.jpg``/``.jpeg``/``.png`` in ``path`` (sorted by name) as ``(N, 3, size, size)``.

    Each image's largest centred square is area-resampled to ``size``; images of equal size
    are resampled together. Not cached.
    """
    folder = Path(path)
    if size < 1:
        raise ValueError(f"size must be positive, got {size}")
    files = sorted(p for p in folder.glob("*") if p.suffix.lower() in {".jpg", ".jpeg", ".png"})
    if not files:
        raise DatasetNotFoundError(f"no .jpg, .jpeg or .png images in {folder}; check the path")
    from PIL import Image

    shapes = []
    for f in files:
        with Image.open(f) as image:
            shapes.append((image.height, image.width))
    out = torch.empty(len(files), 3, size, size)
    for shape in sorted(set(shapes)):
        group = [i for i, s in enumerate(shapes) if s == shape]
        height, width = shape
        side = min(height, width)
        box = ((height - side) / 2, (width - side) / 2, float(side), float(side))
        out[group] = _resample_uint8(_decode([files[i] for i in group], None), (size, size), box)
    return ImageData(out, None, f"image folder {folder} ({len(files)} images)", False)


# ------------------------------------------------------------------------- registry

DATASETS: dict[str, Callable[..., ImageData]] = {
    "binary_mnist": load_binarized_mnist,
    "omniglot": load_omniglot28,
    "cifar10": load_cifar10,
    "svhn": load_svhn,
    "celeba64": load_celeba64,
}


def load_dataset(name: str, split: str = "train", **kwargs: object) -> ImageData:
    """Load dataset ``name`` (a key of :data:`DATASETS`); keyword arguments go to its loader."""
    if name not in DATASETS:
        valid = ", ".join(repr(n) for n in DATASETS)
        raise ValueError(f"unknown dataset {name!r}; valid names: {valid}")
    return DATASETS[name](split, **kwargs)
