"""The binary 28x28 datasets: static binarized MNIST and Omniglot (made as Burda et al. made theirs)."""

from __future__ import annotations

import functools
import gzip
import io
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from mrvae.data.fetch import Remote, downloads_enabled, fetch
from mrvae.data.images.base import (
    ImageData,
    _check_split,
    _manifest_md5,
    _resample_uint8,
    _roots,
    _stamp,
    _verify,
)
from mrvae.data.roots import DatasetNotFoundError, _locate, download_target

# Burda et al. (2016)'s 28x28 Omniglot: 24,345 training and 8,070 test images of the 32,460.
OMNIGLOT_TRAIN, OMNIGLOT_TEST = 24_345, 8_070


BINARIZED_MNIST_URL = (
    "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
    "binarized_mnist_{split}.amat"
)


BINARIZED_MNIST_ROWS: dict[str, int] = {"train": 50_000, "valid": 10_000, "test": 10_000}


OMNIGLOT_PARTS = ("background", "evaluation")


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
