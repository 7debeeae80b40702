"""Data roots: where datasets are looked up, checked and downloaded to.

Datasets are looked up below a list of *data roots* (see :func:`data_roots`); the
``MRVAE_DATA`` environment variable overrides the defaults. Nothing here writes into a
data root except an explicit ``download=True``.
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

__all__ = ["DATA_ENV_VAR", "DatasetNotFoundError", "check_md5", "data_roots", "download_target", "find_dataset"]

DATA_ENV_VAR = "MRVAE_DATA"

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = _PACKAGE_DIR.parent
# The read-only data copy that sits beside a checkout on development and CI machines.
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"

_MNIST_HINT = (
    "On a machine with internet access, `mrvae.data.load_mnist(download=True)` downloads "
    "the four files into ./data using torchvision's official mirrors; or point "
    f"{DATA_ENV_VAR} at a directory that already holds them."
)
_HINTS: dict[str, str] = {"MNIST": _MNIST_HINT}


def checkout_root() -> Path | None:
    """The source checkout this package runs from (``pyproject.toml`` beside it), else ``None``.

    An installed package (e.g. in ``site-packages``) has none, so nothing is looked up or
    written beside it: data, figures and caches then depend only on the working directory
    and the ``MRVAE_*`` variables.
    """
    return REPO_ROOT if (REPO_ROOT / "pyproject.toml").is_file() and (REPO_ROOT / "mrvae").is_dir() else None


class DatasetNotFoundError(FileNotFoundError):
    """A dataset's files are not below any data root."""


def data_roots() -> list[Path]:
    """Directories searched for datasets, in order.

    ``[$MRVAE_DATA]`` if that variable is set, else ``./data`` and, in a source checkout,
    ``<checkout>/data`` and ``<checkout>/../shared/data`` (duplicates removed, order kept).
    """
    env = os.environ.get(DATA_ENV_VAR)
    if env:
        return [Path(env).expanduser().resolve()]
    candidates = [Path.cwd() / "data"]
    checkout = checkout_root()
    if checkout is not None:
        candidates += [checkout / "data", checkout.parent / "shared" / "data"]
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


