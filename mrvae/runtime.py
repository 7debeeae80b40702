"""Run-time helpers shared by the notebooks: seeding, devices, profiles, timing."""

from __future__ import annotations

import functools
import hashlib
import os
import random
import time
from pathlib import Path
from typing import Any, Mapping

import numpy as np
import torch


def seed_everything(seed: int, threads: int | None = 2) -> None:
    """Seed Python, NumPy and torch, and fix torch's CPU thread count.

    CPU kernels may sum in a different order with a different thread count, so
    results are reproducible on machines of one kind only with ``threads`` fixed.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)


def pick_device(requested: str = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; otherwise exactly what was asked."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but no GPU is visible; use device='cpu' or 'auto'")
    return device


def select_profile(profiles: Mapping[str, Mapping[str, Any]], name: str) -> dict[str, Any]:
    """The settings of profile ``name`` (e.g. ``quick`` or ``paper``), with a clear error."""
    if name not in profiles:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(profiles)} "
                         f"(papermill: -p profile quick)")
    return dict(profiles[name])


class Stopwatch:
    """Wall time of a block: ``with Stopwatch() as t: ...; t.seconds``."""

    def __enter__(self) -> "Stopwatch":
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


RUN_DIR_ENV_VAR = "MRVAE_RUN_DIR"
_PACKAGE_DIR = Path(__file__).resolve().parent


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """First 10 hex digits of a hash over the ``mrvae`` package's source files.

    Part of every run directory, so checkpoints written by other code are never
    resumed: change the package and the next run trains afresh.
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def run_root() -> Path:
    """Where trained models are cached: ``$MRVAE_RUN_DIR``, else ``<checkout>/runs``.

    A checkout is recognised by the ``pyproject.toml`` beside the package; an installed
    package falls back to ``./runs``. Notebooks executed from different working
    directories (papermill, nbval) therefore share one cache in a checkout.
    """
    env = os.environ.get(RUN_DIR_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    checkout = _PACKAGE_DIR.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "runs"
    return Path.cwd() / "runs"


def run_directory(profile: str, *parts: str) -> Path:
    """``run_root()/<profile>/<source_digest()>/<parts...>`` (not created)."""
    return run_root().joinpath(profile, source_digest(), *parts)
