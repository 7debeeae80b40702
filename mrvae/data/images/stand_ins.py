"""Offline stand-ins: the copies of CIFAR-10 and CelebA that machines without internet hold
(``../shared/data``, see its README), read as adapters beside the official loaders.

A loader (:mod:`.rgb`) looks for the official files first; only when they are missing does it
ask the stand-in here, and only when that is missing too does it download. Each stand-in says
in its ``source`` what it is and how it differs from the official split, so no figure can
mistake one for the other.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch

from mrvae.data.images.base import ImageData, _manifest_md5, _stamp, _uint8_to_float, _verify
from mrvae.data.roots import DatasetNotFoundError, _locate

__all__ = ["CELEBA_OFFLINE_DIR", "CELEBA_OFFLINE_TRAIN_LAST", "CelebAFiles", "celeba64_stand_in",
           "cifar10_stand_in", "cifar10_stand_in_files"]

CELEBA_OFFLINE_DIR = "CelebA/img_align_celeba_first10k_half"
CELEBA_OFFLINE_TRAIN_LAST = 9_000  # offline files 000001..009000 train, 009001..010000 test


def cifar10_stand_in_files(split: str) -> list[list[str]]:
    """The offline CIFAR-10 npz files of ``split``, as :func:`mrvae.data.roots._locate` takes them."""
    if split == "test":
        return [["CIFAR10/cifar10_test.npz"]]
    return [[f"CIFAR10/cifar10_train_part{i}.npz"] for i in (0, 1)]


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


def cifar10_stand_in(split: str, roots: list[Path], verify: bool, hint: str) -> ImageData:
    """The offline lossless CIFAR-10 copy: the whole test set, and 38,597 of the 50,000 training
    images in official order (``index`` gives their positions). Raises
    :class:`DatasetNotFoundError` when its files are below none of ``roots``."""
    found_root, paths = _locate(cifar10_stand_in_files(split), "CIFAR-10", roots, hint)
    if verify:
        for path in paths:
            _verify(path, _manifest_md5(found_root, path))
    return _cifar_offline(tuple(p.resolve() for p in paths), _stamp(paths), split)


class CelebAFiles(NamedTuple):
    """Which JPEGs stand in for a CelebA split: the loader decodes them as it decodes the official ones."""

    folder: Path
    names: tuple[str, ...]
    md5_list: Path | None
    source: str


def celeba64_stand_in(split: str, roots: list[Path], verify: bool, official_missing: Exception) -> CelebAFiles:
    """The offline CelebA stand-in ``CelebA/img_align_celeba_first10k_half/``: the first 10,000
    aligned images at half size, split by file number (see :func:`mrvae.data.images.load_celeba64`).
    Raises :class:`DatasetNotFoundError` (quoting ``official_missing``) when it is below none of
    ``roots``, and ``ValueError`` for the ``"valid"`` split, which it does not have."""
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
    return CelebAFiles(folder, names, md5, source)
