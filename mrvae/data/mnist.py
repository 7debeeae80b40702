"""MNIST from its original idx files (LeCun et al., 1998), as in-memory tensors."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np
import torch

from mrvae.data.fetch import Remote, downloads_enabled, fetch
from mrvae.data.roots import DatasetNotFoundError, _locate, check_md5, download_target

__all__ = ["MNIST_SPLITS", "load_mnist", "mnist_files"]

MNIST_SPLITS: dict[str, str] = {"train": "train", "test": "t10k"}
_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049


def _check_split(split: str) -> str:
    if split not in MNIST_SPLITS:
        valid = ", ".join(repr(s) for s in MNIST_SPLITS)
        raise ValueError(f"unknown MNIST split {split!r}; valid splits: {valid}")
    return MNIST_SPLITS[split]


def mnist_files(split: str) -> list[tuple[str, str]]:
    """Relative paths (gzipped, raw) of the images and labels idx files of ``split``."""
    prefix = _check_split(split)
    names = [f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"]
    return [(f"MNIST/raw/{n}.gz", f"MNIST/raw/{n}") for n in names]


def _read_idx(path: Path, expected_magic: int) -> np.ndarray:
    """Parse an idx file (gzipped or raw) of unsigned bytes into an array of its shape."""
    data = path.read_bytes()
    if data[:2] == b"\x1f\x8b":  # sniff instead of trusting the suffix
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise ValueError(f"{path}: corrupt gzip stream ({exc})") from exc
    if len(data) < 4:
        raise ValueError(f"{path}: too short to be an idx file ({len(data)} bytes)")
    magic = int.from_bytes(data[:4], "big")
    if magic != expected_magic:
        raise ValueError(
            f"{path}: bad idx magic number {magic} (0x{magic:08x}), expected {expected_magic} "
            f"(0x{expected_magic:08x}); is this the right file, and uncorrupted?"
        )
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise ValueError(f"{path}: truncated idx header")
    shape = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    expected_size = int(np.prod(shape, dtype=np.int64))
    if len(data) - header != expected_size:
        raise ValueError(
            f"{path}: idx header announces shape {shape} ({expected_size} bytes) but the file "
            f"holds {len(data) - header} data bytes"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape)


@functools.lru_cache(maxsize=1)
def _mnist_md5s() -> dict[str, str]:
    """Published md5 per MNIST file name, from torchvision (imported lazily)."""
    from mrvae._compat import install_torchvision_shim

    install_torchvision_shim()
    from torchvision.datasets import MNIST

    return {filename: md5 for filename, md5 in MNIST.resources}


def _verify_md5(path: Path) -> None:
    """Check a gzipped MNIST file against torchvision's md5 (raw files have none)."""
    check_md5(path, _mnist_md5s().get(path.name), "torchvision")


@functools.lru_cache(maxsize=4)
def _load_mnist_cached(
    images_path: Path, labels_path: Path, stamp: tuple[int, ...]
) -> tuple[torch.Tensor, torch.Tensor]:
    del stamp  # only part of the cache key
    images = _read_idx(images_path, _IDX_IMAGES_MAGIC)
    labels = _read_idx(labels_path, _IDX_LABELS_MAGIC)
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise ValueError(f"{images_path}: expected images of shape (N, 28, 28), got {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(
            f"{labels_path}: expected {images.shape[0]} labels, got array of shape {labels.shape}"
        )
    if labels.size and labels.max() > 9:
        raise ValueError(f"{labels_path}: labels must lie in 0..9, found {int(labels.max())}")
    x = torch.from_numpy(images.astype(np.float32)).div_(255.0).unsqueeze(1)
    y = torch.from_numpy(labels.astype(np.int64))
    return x, y


#: torchvision's mirrors of the original files, in its order of preference.
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")


def mnist_remotes(split: str) -> list[Remote]:
    """The gzipped idx files of ``split`` with their mirrors and published md5s."""
    md5s = _mnist_md5s()
    return [Remote(gz, tuple(m + Path(gz).name for m in MNIST_MIRRORS), md5s.get(Path(gz).name))
            for gz, _ in mnist_files(split)]


def _download_mnist(root: Path | None, split: str) -> Path:
    target = download_target(root)
    fetch("MNIST", mnist_remotes(split), target,
          manual=f"copy the four files of {MNIST_MIRRORS[0]} into {target}/MNIST/raw/")
    return target


def load_mnist(
    split: str = "train",
    root: Path | None = None,
    download: bool | None = None,
    verify: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load an MNIST split as ``(images, labels)``.

    ``images`` is float32 in [0, 1] of shape (N, 1, 28, 28), ``labels`` int64 of shape (N,).
    Files are ``MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` below
    ``root`` or the first of :func:`data_roots` holding them. With ``verify``, gzipped
    files are checked against torchvision's md5s (once per file per process); raw files
    are only checked structurally. With ``download`` (default: the ``MRVAE_DOWNLOAD``
    variable, see :mod:`mrvae.data.fetch`), missing files are fetched into ``root`` (default
    ``./data``) from torchvision's mirrors.

    Results are cached per process and shared between calls: treat them as read-only
    (``.clone()`` before modifying in place).
    """
    required = mnist_files(split)
    roots = [Path(root)] if root is not None else None
    try:
        _, (images_path, labels_path) = _locate(required, "MNIST", roots)
    except DatasetNotFoundError:
        if not downloads_enabled(download):
            raise
        target = _download_mnist(Path(root) if root is not None else None, split)
        _, (images_path, labels_path) = _locate(required, "MNIST", [target])
    if verify:
        _verify_md5(images_path)
        _verify_md5(labels_path)
    stats = (images_path.stat(), labels_path.stat())
    stamp = tuple(v for s in stats for v in (s.st_mtime_ns, s.st_size))
    return _load_mnist_cached(images_path.resolve(), labels_path.resolve(), stamp)
