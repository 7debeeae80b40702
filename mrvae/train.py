"""One training loop for β-VAEs and MR-VAEs (Algorithm 1).

Data are an in-memory tensor; batches are index slices of one permutation per
epoch, so the hot path has no per-sample Python. All randomness (shuffling, β
samples, reparameterisation noise) comes from torch's global generators, whose
states are checkpointed, so a resumed run equals an uninterrupted one on CPU.
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Union

import torch
from torch import Tensor, nn

from .hyper.gates import BetaRange
from .hyper.layers import beta_gates, hyper_parameters
from .model import VAE


@dataclass(frozen=True)
class ConstantBeta:
    """β-VAE with a fixed KL weight."""

    value: float

    def __post_init__(self) -> None:
        if not self.value > 0:
            raise ValueError(f"ConstantBeta needs value > 0, got {self.value}")

    def __call__(self, step: int, batch_size: int) -> Tensor:
        return torch.full((batch_size,), self.value)


@dataclass(frozen=True)
class AnnealedBeta:
    """β-VAE with KL annealing: β rises linearly to ``value`` over ``warmup_steps`` steps."""

    value: float
    warmup_steps: int

    def __post_init__(self) -> None:
        if not self.value > 0 or self.warmup_steps < 1:
            raise ValueError(
                f"AnnealedBeta needs value > 0 and warmup_steps >= 1, got {self.value}, {self.warmup_steps}"
            )

    def __call__(self, step: int, batch_size: int) -> Tensor:
        return torch.full((batch_size,), self.value * min(1.0, (step + 1) / self.warmup_steps))


@dataclass(frozen=True)
class MultiRateBeta:
    """MR-VAE: ``log β ~ U[log a, log b]`` (Eq. 11), per example or, as in Algorithm 1, per batch."""

    low: float
    high: float
    per_example: bool = True

    def __post_init__(self) -> None:
        BetaRange(self.low, self.high)  # same validation and messages

    @property
    def range(self) -> BetaRange:
        return BetaRange(self.low, self.high)

    def __call__(self, step: int, batch_size: int) -> Tensor:
        if self.per_example:
            return self.range.sample(batch_size)
        return self.range.sample(1).expand(batch_size)


BetaSchedule = Union[ConstantBeta, AnnealedBeta, MultiRateBeta]


#: Chosen by measurement (the book's "Learning the β response" study): with gates that start
#: β-independent (``init="open"``), a 30× faster learning rate for ``w`` and ``c`` lets them
#: learn the response within a thousand steps without hurting the final curve; 100× did.
DEFAULT_HYPER_LR_MULTIPLIER = 30.0


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings (Adam); β comes from a separate :data:`BetaSchedule`."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    lr_warmup_epochs: int = 0
    cosine_decay: bool = False
    log_lines: int = 5
    #: The gates' ``w`` and ``c`` train at ``lr * hyper_lr_multiplier`` (their own Adam group).
    hyper_lr_multiplier: float = DEFAULT_HYPER_LR_MULTIPLIER

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or not self.lr > 0:
            raise ValueError(f"TrainConfig needs epochs >= 1, batch_size >= 1 and lr > 0; got {self}")
        if not (math.isfinite(self.hyper_lr_multiplier) and self.hyper_lr_multiplier > 0):
            raise ValueError(f"TrainConfig.hyper_lr_multiplier must be a finite number > 0, "
                             f"got {self.hyper_lr_multiplier}")


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or inf; the model keeps its last finite parameters."""


@dataclass
class TrainResult:
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from_epoch: int = 0

    @property
    def final(self) -> dict[str, float]:
        return self.history[-1]


CHECKPOINT_NAME = "checkpoint.pt"


def _fingerprint(model: nn.Module, schedule: BetaSchedule, config: TrainConfig) -> str:
    shapes = {k: list(v.shape) for k, v in model.state_dict().items()}
    settings = dataclasses.asdict(config)
    settings.pop("epochs")  # a finished run may be extended
    settings.pop("log_lines")
    return json.dumps(
        {"model": type(model).__name__, "shapes": shapes, "schedule": [type(schedule).__name__,
         dataclasses.asdict(schedule)], "config": settings},
        sort_keys=True,
    )


def parameter_groups(model: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """Adam groups: the base weights at ``lr``, the gates at ``lr * hyper_lr_multiplier``."""
    hyper = hyper_parameters(model)
    hyper_ids = {id(p) for p in hyper}
    base = [p for p in model.parameters() if id(p) not in hyper_ids]
    groups: list[dict[str, Any]] = [{"params": base, "lr": config.lr}]
    if hyper:
        groups.append({"params": hyper, "lr": config.lr * config.hyper_lr_multiplier})
    return groups


def check_trainable(model: VAE, data: Tensor, beta: BetaSchedule) -> None:
    """Fail early, naming the fix, on a model that cannot learn from ``data`` with ``beta``."""
    if data.dim() < 2 or data.shape[0] == 0:
        raise ValueError(f"data must be a non-empty batch-first tensor, got shape {tuple(data.shape)}")
    expected = getattr(model, "data_shape", None)
    if expected is not None and tuple(data.shape[1:]) != tuple(expected):
        raise ValueError(
            f"data of shape {tuple(data.shape)} has examples of shape {tuple(data.shape[1:])}, but "
            f"{type(model).__name__} was built for data_shape={tuple(expected)}; reshape the data "
            f"(e.g. data.view(-1, {', '.join(map(str, expected))})) or build the model for this shape"
        )
    if isinstance(beta, MultiRateBeta) and not beta_gates(model):
        raise ValueError(
            f"MultiRateBeta trains an MR-VAE, but this {type(model).__name__} has no β gates, so it "
            f"would silently train one β-VAE on a mixture of β. Convert it first: "
            f"model = mrvae.convert(model, mrvae.BetaRange({beta.low:g}, {beta.high:g}))"
        )


def _lr_lambda(config: TrainConfig, steps_per_epoch: int) -> Callable[[int], float]:
    warmup = config.lr_warmup_epochs * steps_per_epoch
    total = config.epochs * steps_per_epoch

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        if config.cosine_decay:
            progress = (step - warmup) / max(1, total - warmup)
            return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        return 1.0

    return factor


def _rng_state() -> dict[str, Any]:
    state: dict[str, Any] = {"cpu": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["cpu"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _save_atomic(obj: dict[str, Any], path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)  # an interrupted save never clobbers the last good checkpoint


def _log_epochs(epochs: int, lines: int) -> set[int]:
    if lines <= 0:
        return set()
    return {1, epochs} | {max(1, round(i * epochs / lines)) for i in range(1, lines)}


def train(
    model: VAE,
    data: Tensor,
    beta: BetaSchedule,
    config: TrainConfig,
    *,
    checkpoint_dir: str | Path | None = None,
    transform: Callable[[Tensor], Tensor] | None = None,
    log: Callable[[str], None] = print,
    on_epoch: Callable[[int, Any], None] | None = None,
) -> TrainResult:
    """Train ``model`` with Adam on ``data`` and return per-epoch training means.

    Args:
        model: a :class:`~mrvae.VAE`; its device decides where training runs.
        data: ``(N, *data_shape)`` tensor (moved to the model's device once).
        beta: :class:`ConstantBeta`, :class:`AnnealedBeta` or :class:`MultiRateBeta`.
        config: optimiser and loop settings; ``config.seed`` seeds torch.
        checkpoint_dir: if given, a checkpoint is written there after every epoch and
            an existing one with matching settings is resumed from.
        transform: applied to each batch (e.g. dynamic binarisation); vectorised.
        log: receives at most ``config.log_lines`` progress lines.
        on_epoch: called as ``on_epoch(epoch, model)`` before a fresh run (epoch 0) and after
            each epoch trained (and checkpointed) in this call, e.g. to record a learning curve; it must not change
            the model or the random state (evaluate under ``torch.random.fork_rng``).

    Raises:
        NonFiniteLossError: the loss became NaN/inf; the model keeps its last finite state.
        ValueError: bad data for the likelihood, or a checkpoint from different settings.
    """
    check_trainable(model, data, beta)
    model.likelihood.check_data(data if transform is None else transform(data[:1024]))
    device = next(model.parameters()).device
    data = data.to(device)
    n = data.shape[0]
    steps_per_epoch = math.ceil(n / config.batch_size)

    torch.manual_seed(config.seed)
    optimizer = torch.optim.Adam(parameter_groups(model, config))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _lr_lambda(config, steps_per_epoch))
    result = TrainResult()
    fingerprint = _fingerprint(model, beta, config)
    path = Path(checkpoint_dir) / CHECKPOINT_NAME if checkpoint_dir is not None else None
    start_epoch = 0
    if path is not None and path.exists():
        ckpt = torch.load(path, map_location=device, weights_only=True)
        if ckpt["fingerprint"] != fingerprint:
            raise ValueError(
                f"{path} was written by a run with different settings; pass another "
                f"checkpoint_dir or delete that file to start afresh"
            )
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        _set_rng_state(ckpt["rng"])
        result.history = ckpt["history"]
        start_epoch = result.resumed_from_epoch = ckpt["epoch"]
        log(f"resumed from {path} at epoch {start_epoch}")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)

    if on_epoch is not None and start_epoch == 0:
        on_epoch(0, model)  # the untrained model, so a learning curve starts at step 0
    model.train()
    log_at = _log_epochs(config.epochs, config.log_lines)
    started = time.perf_counter()
    for epoch in range(start_epoch + 1, config.epochs + 1):
        epoch_start = time.perf_counter()
        totals = torch.zeros(3, dtype=torch.float64, device=device)
        perm = torch.randperm(n).to(device)
        for i in range(steps_per_epoch):
            step = (epoch - 1) * steps_per_epoch + i
            x = data[perm[i * config.batch_size : (i + 1) * config.batch_size]]
            if transform is not None:
                x = transform(x)
            out = model(x, beta(step, x.shape[0]).to(device))
            loss = out["loss"].mean()
            if not torch.isfinite(loss):
                where = f"; the last good checkpoint is {path}" if path is not None and path.exists() else ""
                raise NonFiniteLossError(
                    f"non-finite loss at epoch {epoch}, step {i} (lr={scheduler.get_last_lr()[0]:.3g}). "
                    f"The model keeps its last finite parameters{where}. Try a lower lr, check the "
                    f"data range for the likelihood, or a narrower β range."
                )
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                totals += torch.stack([out["loss"].sum(), out["rate"].sum(), out["distortion"].sum()]).double()
        means = (totals / n).tolist()
        record = {"epoch": float(epoch), "loss": means[0], "rate": means[1], "distortion": means[2],
                  "seconds": time.perf_counter() - epoch_start}
        result.history.append(record)
        if path is not None:
            _save_atomic(
                {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                 "scheduler": scheduler.state_dict(), "rng": _rng_state(), "epoch": epoch,
                 "history": result.history, "fingerprint": fingerprint},
                path,
            )
        if on_epoch is not None:
            on_epoch(epoch, model)
            model.train()
        if epoch in log_at:
            log(f"epoch {epoch}/{config.epochs}  loss {means[0]:.3f}  rate {means[1]:.3f}  "
                f"distortion {means[2]:.3f}  ({record['seconds']:.1f} s)")
    result.seconds = time.perf_counter() - started
    model.eval()
    return result
