"""Locating data roots and loading MNIST from its original idx files.

Datasets are looked up below a list of *data roots* (see :func:`data_roots`); the
``MRVAE_DATA`` environment variable overrides the defaults. Nothing here writes into a
data root except an explicit ``download=True``.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

__all__ = [
    "DATA_ENV_VAR",
    "MNIST_SPLITS",
    "DatasetNotFoundError",
    "data_roots",
    "find_dataset",
    "load_mnist",
    "mnist_files",
]

DATA_ENV_VAR = "MRVAE_DATA"

_PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = _PACKAGE_DIR.parent
# The read-only data copy that sits beside a checkout on development and CI machines.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

MNIST_SPLITS: dict[str, str] = {"train": "train", "test": "t10k"}
_IDX_IMAGES_MAGIC = 2051
_IDX_LABELS_MAGIC = 2049
_MNIST_HINT = (
    "On a machine with internet access, `mrvae.data.load_mnist(download=True)` downloads "
    "the four files into ./data using torchvision's official mirrors; or point "
    f"{DATA_ENV_VAR} at a directory that already holds them."
)
_HINTS: dict[str, str] = {"MNIST": _MNIST_HINT}


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not below any data root."""


def data_roots() -> list[Path]:
    """Directories searched for datasets, in order.

    ``[$MRVAE_DATA]`` if that variable is set, else ``./data``, ``<repo>/data`` and
    ``<repo>/../shared/data`` (duplicates removed, order kept).
    """
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return [Path(env).expanduser().resolve()]
    candidates = [Path.cwd() / "data", REPO_ROOT / "data", SHARED_DATA]
    roots: list[Path] = []
    for candidate in candidates:
        resolved = candidate.resolve()
        if resolved not in roots:
            roots.append(resolved)
    return roots


def _locate(
    required: Sequence[Sequence[str]],
    name: str,
    roots: Sequence[Path] | None = None,
    hint: str | None = None,
) -> tuple[Path, list[Path]]:
    """First root holding every required file; each entry lists acceptable variants.

    Returns the root and the chosen file per entry (the first variant that exists).
    """
    search = list(roots) if roots is not None else data_roots()
    for root in search:
        chosen: list[Path] = []
        for variants in required:
            found = next((root / v for v in variants if (root / v).is_file()), None)
            if found is None:
                break
            chosen.append(found)
        else:
            return root, chosen

    expected = "\n".join("  " + " or ".join(variants) for variants in required)
    searched = "\n".join(f"  {root}" for root in search) or "  (none)"
    override = (
        f"{DATA_ENV_VAR} is set, so only that directory was searched"
        if os.environ.get(DATA_ENV_VAR) and roots is None
        else f"set {DATA_ENV_VAR}=/path/to/data_root to search a directory of your choice"
    )
    how = hint or _HINTS.get(name) or f"put the files below one of the roots or set {DATA_ENV_VAR}."
    raise DatasetNotFoundError(
        f"{name} dataset not found.\n"
        f"Searched these data roots ({override}):\n{searched}\n"
        f"Expected all of these files below a single root:\n{expected}\n"
        f"How to get them: {how}"
    )


def find_dataset(
    relative_files: list[str],
    name: str,
    *,
    roots: Sequence[Path] | None = None,
    hint: str | None = None,
) -> Path:
    """Return the first data root that contains all ``relative_files``.

    Raises :class:`DatasetNotFoundError` naming the dataset, ``MRVAE_DATA``, every root
    searched, the expected files and how to obtain them.
    """
    root, _ = _locate([[f] for f in relative_files], name, roots, hint)
    return root


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


@functools.lru_cache(maxsize=64)
def _md5_of(path: str, mtime_ns: int, size: int) -> str:
    # mtime and size are part of the key so a replaced file is hashed again.
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check_md5(path: Path, expected: str | None, published_by: str = "the publisher") -> None:
    """Raise if ``path``'s md5 differs from ``expected`` (``None``: nothing to check).

    Hashes are cached per (path, mtime, size), so each file is read once per process.
    """
    if expected is None:
        return
    stat = path.stat()
    actual = _md5_of(str(path), stat.st_mtime_ns, stat.st_size)
    if actual != expected:
        raise ValueError(
            f"{path}: md5 {actual} does not match {published_by}'s published {expected}; the "
            "file is corrupt or not the original (delete it and download again; pass "
            "verify=False only for deliberately synthetic data)"
        )


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


def download_target(root: Path | str | None) -> Path:
    """Where a download goes: ``root`` (default ``./data``), never the read-only shared copy."""
    target = (Path(root).expanduser() if root is not None else Path.cwd() / "data").resolve()
    shared = SHARED_DATA.parent.resolve()
    if target == shared or shared in target.parents:
        raise PermissionError(
            f"refusing to download into the read-only shared folder {target}; pass "
            "root=<a writable directory> (default ./data)"
        )
    return target


def _download_mnist(root: Path | None) -> Path:
    target = download_target(root)
    from mrvae._compat import install_torchvision_shim

    install_torchvision_shim()
    from torchvision.datasets import MNIST

    # torchvision fetches all four files whatever `train` is.
    MNIST(root=str(target), download=True)
    return target


def load_mnist(
    split: str = "train",
    root: Path | None = None,
    download: bool = False,
    verify: bool = True,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load an MNIST split as ``(images, labels)``.

    ``images`` is float32 in [0, 1] of shape (N, 1, 28, 28), ``labels`` int64 of shape (N,).
    Files are ``MNIST/raw/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]`` below
    ``root`` or the first of :func:`data_roots` holding them. With ``verify``, gzipped
    files are checked against torchvision's md5s (once per file per process); raw files
    are only checked structurally. With ``download``, missing files are fetched into
    ``root`` (default ``./data``) by torchvision.

    Results are cached per process and shared between calls: treat them as read-only
    (``.clone()`` before modifying in place).
    """
    required = mnist_files(split)
    roots = [Path(root)] if root is not None else None
    try:
        _, (images_path, labels_path) = _locate(required, "MNIST", roots)
    except DatasetNotFoundError:
        if not download:
            raise
        target = _download_mnist(Path(root) if root is not None else None)
        _, (images_path, labels_path) = _locate(required, "MNIST", [target])
    if verify:
        _verify_md5(images_path)
        _verify_md5(labels_path)
    stats = (images_path.stat(), labels_path.stat())
    stamp = tuple(v for s in stats for v in (s.st_mtime_ns, s.st_size))
    return _load_mnist_cached(images_path.resolve(), labels_path.resolve(), stamp)
