"""Checkpoints that resume a run exactly, and refuse to resume a different one.

A checkpoint holds the trained state, the optimiser and learning-rate schedule, torch's
random generators and the per-epoch history, plus a *fingerprint* of everything that decides
what the run trains (:func:`fingerprint`): the architecture, every gate's function, range,
placement and initialisation, the objective and likelihood, the β schedule, the
:class:`~mrvae.TrainConfig` and a checksum of the data. Resuming under anything else raises a
:class:`CheckpointError` that lists each differing field, saved and current, and how to start
afresh, instead of silently mixing two runs. So a resumed run is the run it claims to continue,
and the book's model cache (which resumes finished runs) can never reuse a model trained with
other settings.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from mrvae.hyper.layers import BetaGate, Gated

__all__ = ["Checkpoint", "CheckpointError", "data_fingerprint", "fingerprint", "fingerprint_differences",
           "read_checkpoint"]

#: Bumped when the file layout or the fingerprint's fields change, so older files are refused
#: with a clear message. 3: the fingerprint records every gate, the objective and the data.
FORMAT = 3

#: How many evenly spaced rows of the data the fingerprint's checksum reads: enough that
#: another dataset, subset, order or preprocessing shows, cheap enough for any size.
CHECKSUM_ROWS = 64


def fingerprint(model: nn.Module, schedules: list[Any], config: Any, *, data: Tensor | None = None,
                transform: Callable[..., Any] | None = None, validation: Tensor | None = None,
                **extra: Any) -> str:
    """Everything that decides what a run trains, as sorted JSON: a checkpoint resumes only
    under an equal fingerprint (all but the epoch count, which a finished run may extend).

    Sections (each compared on its own by :func:`fingerprint_differences`):

    * ``architecture``: the model's class, every submodule with its settings, and every
      parameter's and buffer's shape;
    * ``gates``: each :class:`~mrvae.hyper.layers.BetaGate` by name (its placement) with its
      function, initialisation, feature dimension, hypernetwork and β range (to 6 significant
      digits: the buffers are float32), and whether its layer fuses the ReLU;
    * ``objective``: the model's class and settings (e.g. the β-TCVAE's estimator) and its
      likelihood;
    * ``schedules`` and ``config`` (the :class:`~mrvae.TrainConfig` but ``epochs`` and
      ``log_lines``);
    * ``data`` and ``validation``: shape, dtype and a checksum of :data:`CHECKSUM_ROWS` fixed
      rows (:func:`data_fingerprint`), and the batch transform's name.
    """
    settings = dataclasses.asdict(config)
    settings.pop("epochs")  # a finished run may be extended
    settings.pop("log_lines")
    record = {
        "format": FORMAT,
        "architecture": _architecture(model),
        "gates": _gates(model),
        "objective": _objective(model),
        "schedules": [[type(s).__name__, dataclasses.asdict(s)] for s in schedules],
        "config": settings,
        "data": None if data is None else {**data_fingerprint(data), "transform": _callable_name(transform)},
        "validation": None if validation is None else data_fingerprint(validation),
        **extra,
    }
    return json.dumps(record, sort_keys=True, default=repr)


def data_fingerprint(data: Tensor) -> dict[str, Any]:
    """``{"shape", "dtype", "checksum"}`` of a batch-first tensor: the SHA-256 of the bytes of
    :data:`CHECKSUM_ROWS` evenly spaced rows (all rows of a smaller tensor), first 16 hex digits.

    Reads those rows only, so it costs the same for any dataset size.
    """
    rows = data
    if data.dim() > 0 and data.shape[0] > CHECKSUM_ROWS:
        rows = data[torch.linspace(0, data.shape[0] - 1, CHECKSUM_ROWS, device=data.device).long()]
    raw = rows.detach().to("cpu").contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
    return {"shape": list(data.shape), "dtype": str(data.dtype).removeprefix("torch."),
            "checksum": hashlib.sha256(raw).hexdigest()[:16]}


def fingerprint_differences(saved: str, current: str) -> list[str]:
    """The fields in which two fingerprints differ, each as ``"field: saved -> current"``."""
    old, new = _parse(saved), _parse(current)
    if old.get("format") != new.get("format"):
        return [f"format: {old.get('format', 'unknown')} -> {new.get('format')} (written by "
                f"{'an older' if isinstance(old.get('format'), int) and old['format'] < FORMAT else 'another'} "
                f"version of mrvae, which recorded other settings)"]
    flat_old, flat_new = _flatten(old), _flatten(new)
    keys = sorted(flat_old.keys() | flat_new.keys())
    return [f"{key}: {_shown_value(flat_old, key)} -> {_shown_value(flat_new, key)}"
            for key in keys if flat_old.get(key, _ABSENT) != flat_new.get(key, _ABSENT)]


_ABSENT = object()


def _parse(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return {}
    return value if isinstance(value, dict) else {}


def _flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``{"a.b": leaf}``; module names (which hold dots) in brackets."""
    if not isinstance(value, dict) or not value:
        return {prefix: value}
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}[{key}]" if "." in key or prefix.endswith(("modules", "gates", "shapes")) else (
            f"{prefix}.{key}" if prefix else key)
        flat.update(_flatten(item, name))
    return flat


def _shown_value(flat: dict[str, Any], key: str) -> str:
    if key not in flat:
        return "(absent)"
    text = json.dumps(flat[key], sort_keys=True)
    return text if len(text) <= 100 else text[:97] + "..."


def _architecture(model: nn.Module) -> dict[str, Any]:
    return {
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "modules": {name or "(model)": f"{type(m).__name__}({m.extra_repr()})"
                    for name, m in model.named_modules() if not isinstance(m, BetaGate)},
        "shapes": {k: list(v.shape) for k, v in model.state_dict().items()},
    }


def _gates(model: nn.Module) -> dict[str, Any]:
    fused = {f"{name}.gate": m.relu for name, m in model.named_modules() if isinstance(m, Gated)}
    gates = {}
    for name, gate in model.named_modules():
        if isinstance(gate, BetaGate):
            low, high = gate.beta_range.low, gate.beta_range.high
            gates[name] = {"function": gate.gate, "init": gate.init, "dim": gate.dim,
                           "hypernetwork": gate.hypernetwork, "hidden": gate.hidden,
                           "beta_range": [float(f"{low:.6g}"), float(f"{high:.6g}")],
                           "fused_relu": fused.get(name, False)}
    return gates


def _objective(model: nn.Module) -> dict[str, Any]:
    likelihood = getattr(model, "likelihood", None)
    return {
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "settings": model.extra_repr(),
        "likelihood": dataclasses.asdict(likelihood) if dataclasses.is_dataclass(likelihood) else repr(likelihood),
    }


def _callable_name(function: Callable[..., Any] | None) -> str | None:
    if function is None:
        return None
    inner = getattr(function, "func", function)  # functools.partial
    return f"{getattr(inner, '__module__', '')}.{getattr(inner, '__qualname__', type(inner).__qualname__)}"


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


def _refusal(path: Path, saved: str, current: str, shown: int = 12) -> str:
    """Why ``path`` cannot be resumed: each differing field, saved and current, and the fix."""
    differences = fingerprint_differences(saved, current) or ["(the settings differ in a way not itemised)"]
    listed = "\n  ".join(differences[:shown])
    more = f"\n  ... and {len(differences) - shown} more" if len(differences) > shown else ""
    return (f"{_shown(path)} was written by a run with different settings, so resuming it would not continue "
            f"that run; {len(differences)} field(s) differ (saved -> now):\n  {listed}{more}\n"
            f"To start afresh, pass another checkpoint_dir (--run-dir on the command line) or delete that file; "
            f"to continue the saved run, use its settings")


class Checkpoint:
    """``directory/name`` (or nothing when ``directory`` is ``None``), written after every epoch.

    With ``load_finished``, the checkpoint must hold a finished run, which is loaded and never
    trained further: how a model trained in another process (:mod:`mrvae.training.pool`) comes
    back. Training it again here, on other threads, would give other floats, so a missing or
    unfinished file is an error, not a fresh start.
    """

    def __init__(self, directory: str | Path | None, name: str, fingerprint: str, *,
                 load_finished: bool = False) -> None:
        if load_finished and directory is None:
            raise ValueError("load_finished=True loads a model another process trained from its checkpoint: "
                             "pass the checkpoint_dir it was trained into")
        self.path = Path(directory) / name if directory is not None else None
        self.fingerprint = fingerprint
        self.load_finished = load_finished

    def check_finished(self, epoch: int, epochs: int) -> None:
        """Raise :class:`CheckpointError` if a ``load_finished`` checkpoint stops at ``epoch < epochs``."""
        if self.load_finished and epoch < epochs:
            state = "does not exist" if epoch == 0 and not self.path.exists() else f"stops at epoch {epoch} of {epochs}"
            raise CheckpointError(
                f"{_shown(self.path)} should hold a finished run (another process trained it) but {state}: "
                f"that process failed, or the file was removed or overwritten; delete {_shown(self.path.parent)} "
                f"and run again")

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
            raise CheckpointError(_refusal(self.path, str(ckpt.get("fingerprint")), self.fingerprint))
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
