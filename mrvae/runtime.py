"""Run-time helpers shared by the notebooks: seeding, devices, profiles, timing."""

from __future__ import annotations

import random
import time
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
