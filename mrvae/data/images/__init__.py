"""Image datasets of the paper's deep experiments (Section 5.2, Figure 5), as in-memory tensors.

Every loader returns an :class:`ImageData`: float32 images ``(N, C, H, W)`` in [0, 1], labels
where the dataset has them, and a ``source`` string saying exactly which files were read (the
official files, or one of the offline stand-ins of ``../shared/data``; see its README).

Files are searched below ``root`` if given, else below :func:`mrvae.data.data_roots`. Only an
explicit ``download=True`` writes anything, into ``root`` (default ``./data``), never into the
read-only shared folder. Results are cached per process and shared between calls: treat their
tensors as read-only (``.clone()`` before modifying in place).

One module per kind: :mod:`.base` (:class:`ImageData`, subsets, binarisation, resampling),
:mod:`.binarized` (binarized MNIST, Omniglot), :mod:`.rgb` (CIFAR-10, SVHN, CelebA, image
folders) and :mod:`.stand_ins` (the offline copies, tried when the official files are missing).

Resampling (Omniglot 105→28, CelebA crop→64) is exact area averaging (:func:`area_resample`):
each output pixel is the mean of the input area it covers, fractional pixel borders included.
That is a box-filter antialiased resize, like OpenCV's ``INTER_AREA``, written as two small
matrix products so a whole batch is resampled at once.
"""

from __future__ import annotations

from collections.abc import Callable

from mrvae.data.images.base import ImageData, area_resample, dynamic_binarize, held_out, subset
from mrvae.data.images.binarized import (
    BINARIZED_MNIST_URL,
    OMNIGLOT_PARTS,
    load_binarized_mnist,
    load_omniglot28,
    omniglot_npz_from_pngs,
)
from mrvae.data.images.rgb import load_celeba64, load_cifar10, load_image_folder, load_svhn
from mrvae.data.images.stand_ins import CELEBA_OFFLINE_DIR

__all__ = [
    "BINARIZED_MNIST_URL",
    "CELEBA_OFFLINE_DIR",
    "DATASETS",
    "OMNIGLOT_PARTS",
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
