"""How a panel's models get trained: in this process, or side by side in worker processes.

Every panel describes its trainings twice over, as plain functions of a run folder:

- ``jobs(folder)``: one job per model, each training that model into its checkpoint under
  ``folder`` (what workers run);
- ``collect(folder, load_finished)``: builds the models in order and trains each, or with
  ``load_finished`` loads the finished run a worker left in its checkpoint
  (``mrvae.train(..., load_finished=True)``, which refuses to train anything itself).

A :class:`Runner` decides which to call. Both paths build every model the same way and train it
on one thread, so the models do not depend on the runner (tests compare them bit for bit).
Batched sweeps (:func:`mrvae.training.train_sweep`) and data parallelism (``torchrun``) are
chosen inside ``collect``: they run in this process.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

import torch

from mrvae._validate import check_integer
from mrvae.training.pool import cpu_workers, handoff_dir, run_jobs

__all__ = ["InProcess", "Runner", "SideBySide", "runner_for"]

T = TypeVar("T")

#: Jobs for a run folder: each trains one model into its checkpoint there.
Jobs = Callable[[Path], Sequence[Callable[[], None]]]
#: The models from a run folder (``None``: no caching), trained here or loaded finished.
Collect = Callable[[Path | None, bool], T]


class Runner(Protocol):
    """Trains a panel's models and returns what ``collect`` builds from them."""

    def run(self, jobs: Jobs, collect: Collect[T], *, run_dir: Path | None,
            log: Callable[[str], None] | None = None) -> T:
        """The models ``collect`` returns, every one trained (or resumed) under ``run_dir``."""


@dataclass(frozen=True)
class InProcess:
    """Train each model in turn, in this process."""

    def run(self, jobs: Jobs, collect: Collect[T], *, run_dir: Path | None,
            log: Callable[[str], None] | None = None) -> T:
        return collect(run_dir, False)


@dataclass(frozen=True)
class SideBySide:
    """Train ``workers`` models at a time, one thread each, in worker processes
    (:func:`mrvae.training.pool.run_jobs`), then load them. Without a ``run_dir`` the checkpoints
    that carry the models back live in a temporary folder, deleted afterwards."""

    workers: int

    def __post_init__(self) -> None:
        check_integer(self.workers, "workers", minimum=1)

    def run(self, jobs: Jobs, collect: Collect[T], *, run_dir: Path | None,
            log: Callable[[str], None] | None = None) -> T:
        with handoff_dir(run_dir, self.workers) as folder:
            started = time.perf_counter()
            todo = list(jobs(folder))
            run_jobs(todo, self.workers)
            if log is not None:
                log(f"trained {len(todo)} models, one thread each, {self.workers} at a time, in "
                    f"{time.perf_counter() - started:.0f} s")
            return collect(folder, True)


def runner_for(workers: int | None, device: torch.device | str | None = None) -> Runner:
    """:class:`SideBySide` with ``workers`` on a CPU; :class:`InProcess` without workers or on
    an accelerator (one GPU is better used by one process)."""
    workers = cpu_workers(workers, device)
    if workers is None:
        return InProcess()
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        raise ValueError("workers trains side by side on one machine's cores; under torchrun leave workers=None")
    return SideBySide(workers)
