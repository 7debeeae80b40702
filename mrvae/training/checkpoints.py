"""Checkpoints that resume a run exactly, and refuse to resume a different one.

A checkpoint holds the trained state, the optimiser and learning-rate schedule, torch's
random generators and the per-epoch history, plus a *fingerprint* of the settings that
wrote it. Resuming under other settings (another network, schedule, learning rate or
checkpoint format) raises and names the fix, instead of silently mixing two runs.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn

__all__ = ["Checkpoint", "CheckpointError", "fingerprint", "read_checkpoint"]

#: Bumped when the file layout changes, so older files are refused with a clear message.
FORMAT = 2


def fingerprint(model: nn.Module, schedules: list[Any], config: Any, **extra: Any) -> str:
    """The settings a checkpoint must match to be resumed (all but the epoch count)."""
    settings = dataclasses.asdict(config)
    settings.pop("epochs")  # a finished run may be extended
    settings.pop("log_lines")
    return json.dumps(
        {"format": FORMAT, "model": type(model).__name__,
         "shapes": {k: list(v.shape) for k, v in model.state_dict().items()},
         "schedules": [[type(s).__name__, dataclasses.asdict(s)] for s in schedules],
         "config": settings, **extra},
        sort_keys=True,
    )


class CheckpointError(ValueError):
    """A checkpoint file that cannot be resumed: corrupt, truncated, empty, not ours, or written by
    a run with other settings. The message names the file and how to start afresh."""


#: What every checkpoint this package writes holds.
_KEYS = frozenset({"state", "optimizer", "scheduler", "rng", "epoch", "histories", "fingerprint"})


def read_checkpoint(path: str | Path, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint file written by this package, or raise :class:`CheckpointError`.

    Loads with ``weights_only=True``: a file that needs arbitrary unpickling is not one of
    ours, and is refused rather than executed.
    """
    path = Path(path)
    fix = f"delete {_shown(path)} (or pass another checkpoint_dir / --run-dir) to start afresh"
    if path.is_dir():
        raise CheckpointError(f"{_shown(path)} is a folder, not a checkpoint file; {fix}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{_shown(path)} is empty, not a usable checkpoint (a run killed while writing "
                              f"it?); {fix}")
    try:
        ckpt = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises many types for a bad file; all mean the same
        if isinstance(error, pickle.UnpicklingError) and "weights_only" in str(error).lower().replace(" ", "_"):
            # torch's own hint here is to load with weights_only=False, which would run the file's code
            reason = "it holds Python objects that only an unsafe full unpickling would load"
        else:
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            reason = f"{type(error).__name__}: {reason[:117] + '...' if len(reason) > 120 else reason}"
        raise CheckpointError(f"{_shown(path)} is not a usable checkpoint: it is corrupt, truncated or not "
                              f"written by mrvae ({reason}); {fix}") from error
    if not isinstance(ckpt, dict) or not _KEYS <= set(ckpt):
        found = sorted(ckpt) if isinstance(ckpt, dict) else type(ckpt).__name__
        raise CheckpointError(f"{_shown(path)} is not an mrvae training checkpoint (it holds {found}, not "
                              f"{sorted(_KEYS)}); {fix}")
    return ckpt


def _rng_state() -> dict[str, Any]:
    # Only the current GPU's generator: under DDP each rank draws on its own device, in step
    # with rank 0's, so rank 0's state restores every rank (and a run on fewer GPUs).
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def _shown(path: Path) -> str:
    """``path`` relative to the working directory where it can be: progress lines that reach a
    notebook's output (and the book) then carry no machine paths."""
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


class Checkpoint:
    """``directory/name`` (or nothing when ``directory`` is ``None``), written after every epoch."""

    def __init__(self, directory: str | Path | None, name: str, fingerprint: str) -> None:
        self.path = Path(directory) / name if directory is not None else None
        self.fingerprint = fingerprint

    def where(self) -> str:
        """A clause for error messages naming the last good checkpoint, if there is one."""
        if self.path is not None and self.path.exists():
            return f"; the last good checkpoint is {self.path}"
        return ""

    def resume(self, load_state: Callable[[dict[str, Any]], None], optimizer: torch.optim.Optimizer,
               scheduler: torch.optim.lr_scheduler.LRScheduler, device: torch.device,
               log: Callable[[str], None]) -> tuple[int, list[list[dict[str, float]]] | None]:
        """Load a matching checkpoint: ``(last finished epoch, histories)``, or ``(0, None)``."""
        if self.path is None:
            return 0, None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            return 0, None
        ckpt = read_checkpoint(self.path, map_location=device)
        if ckpt.get("fingerprint") != self.fingerprint:
            raise CheckpointError(
                f"{self.path} was written by a run with different settings (or an older version of "
                f"mrvae); pass another checkpoint_dir (--run-dir on the command line) or delete that "
                f"file to start afresh"
            )
        load_state(ckpt["state"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        _set_rng_state(ckpt["rng"])
        log(f"resumed from {_shown(self.path)} at epoch {ckpt['epoch']}")
        return int(ckpt["epoch"]), ckpt["histories"]

    def save(self, state: dict[str, Any], optimizer: torch.optim.Optimizer,
             scheduler: torch.optim.lr_scheduler.LRScheduler, epoch: int,
             histories: list[list[dict[str, float]]]) -> None:
        if self.path is None:
            return
        payload = {"state": state, "optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict(),
                   "rng": _rng_state(), "epoch": epoch, "histories": histories, "fingerprint": self.fingerprint}
        tmp = self.path.with_suffix(".tmp")
        torch.save(payload, tmp)
        os.replace(tmp, self.path)  # an interrupted save never clobbers the last good checkpoint
