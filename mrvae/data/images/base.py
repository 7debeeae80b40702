"""What every image loader returns (:class:`ImageData`), its subsets and transforms, and the
file helpers the loaders share."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import Tensor

from mrvae.data.roots import check_md5, data_roots

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
