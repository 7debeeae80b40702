"""Downloads: fetch a dataset's files from their official sources, verify them, say what came.

A loader called with ``download=True`` fetches what is missing into ``root`` (default
``./data``); ``download=None`` (the loaders' default) asks :func:`downloads_enabled`, that is
the ``MRVAE_DOWNLOAD`` environment variable, which ``make book`` and ``make test`` set to 1.
Loaders look in every data root first, so on a machine that has the files (or the shared
offline copy) nothing is fetched.

Each file is streamed to ``<name>.part``, checked against its published md5 and size, and only
then renamed, so an interrupted or corrupt download never leaves a file that looks complete.
``MRVAE_DATA_MIRROR=<base URL>`` fetches every file from ``<base URL>/<relative path>``
instead of its official URLs (an institute mirror, or a local server in the tests).
"""

from __future__ import annotations

import hashlib
import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from mrvae.data.roots import DatasetNotFoundError

__all__ = ["DOWNLOAD_ENV_VAR", "MIRROR_ENV_VAR", "DownloadError", "Remote", "downloads_enabled", "fetch"]

DOWNLOAD_ENV_VAR = "MRVAE_DOWNLOAD"
MIRROR_ENV_VAR = "MRVAE_DATA_MIRROR"
#: Seconds to wait for a server before trying the next URL.
TIMEOUT = 60


@dataclass(frozen=True)
class Remote:
    """One file of a dataset: where it goes below the data root, and where it comes from.

    Args:
        path: relative path below the data root, e.g. ``"MNIST/raw/t10k-images-idx3-ubyte.gz"``.
        urls: official URLs, tried in order.
        md5: the publisher's md5, checked after the download (``None``: none published).
        size: size in bytes, checked too, and announced before the download when known.
    """

    path: str
    urls: tuple[str, ...]
    md5: str | None = None
    size: int | None = None


class DownloadError(DatasetNotFoundError):
    """A dataset is missing and could not be downloaded; the message says what to do instead."""


def downloads_enabled(download: bool | None = None) -> bool:
    """``download`` if given, else whether ``MRVAE_DOWNLOAD`` is ``1``/``true``/``yes``."""
    if download is not None:
        return bool(download)
    value = os.environ.get(DOWNLOAD_ENV_VAR, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ValueError(f"{DOWNLOAD_ENV_VAR}={value!r}: use 1 to allow downloads or 0 to forbid them")


def _sources(remote: Remote) -> tuple[str, ...]:
    mirror = os.environ.get(MIRROR_ENV_VAR)
    return (f"{mirror.rstrip('/')}/{remote.path}",) if mirror else remote.urls


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _download(url: str, dest: Path, remote: Remote) -> int:
    """Stream ``url`` into ``dest`` through ``dest.part``; returns the size. Raises on a bad file."""
    partial = dest.with_name(dest.name + ".part")
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT) as response, open(partial, "wb") as out:
            while chunk := response.read(1 << 20):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        if remote.size is not None and size != remote.size:
            raise ValueError(f"got {size:,} bytes, expected {remote.size:,}")
        if remote.md5 is not None and digest.hexdigest() != remote.md5:
            raise ValueError(f"md5 {digest.hexdigest()} differs from the published {remote.md5}")
        os.replace(partial, dest)
        return size
    finally:
        partial.unlink(missing_ok=True)


def fetch(name: str, remotes: Sequence[Remote], target: Path, *, manual: str,
          log: Callable[[str], None] = print) -> list[Path]:
    """Download every file of ``remotes`` below ``target`` that is not there yet.

    Returns the local paths, in order. A file already present is kept as it is (loaders verify
    what they read). Raises :class:`DownloadError` when a file cannot be fetched from any of its
    URLs, with each URL's failure and ``manual``, how to get the files by hand.
    """
    paths = []
    for remote in remotes:
        dest = target / remote.path
        paths.append(dest)
        if dest.is_file():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        announced = f" ({_megabytes(remote.size)})" if remote.size else ""
        failures = []
        for url in _sources(remote):
            log(f"{name}: downloading {remote.path}{announced} from {url}")
            try:
                size = _download(url, dest, remote)
            except (urllib.error.URLError, OSError, ValueError) as error:
                failures.append(f"  {url}: {getattr(error, 'reason', None) or error}")
                continue
            log(f"{name}: fetched {remote.path}, {_megabytes(size)}, into {target}")
            break
        else:
            raise DownloadError(
                f"{name} dataset not found, and downloading {remote.path} failed:\n" + "\n".join(failures)
                + f"\nGet the files by hand: {manual}"
            )
    return paths
