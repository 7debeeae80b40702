"""The RGB datasets: CIFAR-10, SVHN and CelebA at 64x64, and any folder of images.

Each loader reads the official files when they are below a data root, else the offline
stand-in (:mod:`.stand_ins`) where there is one, else downloads (when allowed)."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import pickle
import tarfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from mrvae.data.fetch import DownloadError, Remote, downloads_enabled, fetch
from mrvae.data.images.base import (
    ImageData,
    _check_split,
    _resample_uint8,
    _roots,
    _stamp,
    _torchvision_datasets,
    _verify,
)
from mrvae.data.images.stand_ins import celeba64_stand_in, cifar10_stand_in, cifar10_stand_in_files
from mrvae.data.roots import DatasetNotFoundError, _locate, download_target

# The usual CelebA64 recipe: a 148x148 centre crop of the 178x218 aligned image, then 64x64.
CELEBA_FULL_WIDTH, CELEBA_CROP = 178, 148


_CELEBA_PARTITIONS: dict[str, int] = {"train": 0, "valid": 1, "test": 2}


def _cifar_official_files(split: str) -> list[list[str]]:
    names = [f"data_batch_{i}" for i in range(1, 6)] if split == "train" else ["test_batch"]
    return [[f"cifar-10-batches-py/{n}", f"CIFAR10/cifar-10-batches-py/{n}"] for n in names]


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
            return cifar10_stand_in(split, roots, verify, hint)
        except DatasetNotFoundError:
            if not downloads_enabled(download):
                raise DatasetNotFoundError(
                    f"{official_missing}\nNor is the offline copy "
                    f"({' + '.join(v[0] for v in cifar10_stand_in_files(split))}) below those roots."
                ) from None
            _, paths = _locate(official, "CIFAR-10", [_download_cifar10(root, hint)], hint)
    if verify:
        md5s = _cifar_md5s()
        for path in paths:
            _verify(path, md5s.get(path.name))
    return _cifar_official(tuple(p.resolve() for p in paths), _stamp(paths))


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
            stand_in = celeba64_stand_in(split, roots, verify, official_missing)
        except DatasetNotFoundError:
            if not downloads_enabled(download):
                raise
        else:
            return _celeba_cached(stand_in.folder.resolve(), _stamp([stand_in.folder]), stand_in.names,
                                  stand_in.md5_list, cache, stand_in.source)
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
