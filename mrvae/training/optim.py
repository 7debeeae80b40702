"""The optimiser every trainer builds: Adam groups (gates at their own learning rate), the
learning-rate schedule, gradient clipping and the device-side non-finite check."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from mrvae.hyper.layers import hyper_parameters
from mrvae.training.config import TrainConfig

#: Steps between host reads of the non-finite flag on an accelerator. A read waits for the
#: device to finish, so it is rare; in between, a non-finite step and every step after it are
#: skipped on the device (fused Adam's ``found_inf``), so the parameters stay those from before
#: the first bad step. On a CPU the read costs nothing and happens every step.
ACCELERATOR_CHECK_EVERY = 50


def host_check_interval(device: torch.device, fused: bool = True) -> int:
    """Steps between host reads of the non-finite flag (see :data:`ACCELERATOR_CHECK_EVERY`).

    Every step without a fused optimiser: only a fused one can skip a bad step on the device.
    """
    return 1 if device.type == "cpu" or not fused else ACCELERATOR_CHECK_EVERY


#: Devices with a fused Adam: one kernel updates every parameter. On a CPU PyTorch's default
#: Adam loops over the parameters in Python, which an MR-VAE's many small gate tensors make
#: several per cent slower than the β-VAE's step; fused, both pay the same.
FUSED_ADAM_DEVICES = ("cpu", "cuda")


def adam(params: Any, device: torch.device, weight_decay: float = 0.0, eps: float = 1e-8) -> torch.optim.Adam:
    """Adam as every trainer here builds it: fused where the device has it (see
    :data:`FUSED_ADAM_DEVICES`), which also lets the device skip a non-finite step."""
    return torch.optim.Adam(params, fused=True if device.type in FUSED_ADAM_DEVICES else None,
                            weight_decay=weight_decay, eps=eps)


def make_optimizer(params: Any, config: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """The optimiser ``config`` names, over ``params`` (a list of parameter groups)."""
    if config.optimizer == "adamax":
        return torch.optim.Adamax(params, weight_decay=config.weight_decay, eps=config.eps)
    return adam(params, device, config.weight_decay, config.eps)


def gradients_finite(parameters: list[Tensor], models: int = 1) -> Tensor:
    """Whether each model's gradients are finite: ``(models,)`` bool, on the parameters' device.

    With ``models > 1`` every parameter is stacked along a leading model axis (a sweep). Reads
    one norm per tensor (a NaN or inf anywhere makes it non-finite), without a host sync.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.ones(models, dtype=torch.bool, device=parameters[0].device if parameters else None)
    if models == 1:
        return torch.stack(torch._foreach_norm(grads)).isfinite().all().reshape(1)
    return torch.stack([g.reshape(models, -1).norm(dim=1) for g in grads]).isfinite().all(0)


class _Divergence:
    """Which models' losses were non-finite, and the first such step, kept on the device.

    ``found_inf`` is the flag fused Adam reads to skip its update; it stays set after the first
    bad step, so nothing moves until the host sees the flag and raises.
    """

    def __init__(self, models: int, device: torch.device) -> None:
        self.bad = torch.zeros(models, dtype=torch.bool, device=device)
        self.first_step = torch.full((), -1, dtype=torch.int64, device=device)
        self.found_inf = torch.zeros((), dtype=torch.float32, device=device)

    def record(self, finite: Tensor, step: int) -> None:
        self.bad |= ~finite
        self.first_step.copy_(torch.where((self.first_step < 0) & ~finite.all(), step, self.first_step))
        self.found_inf.copy_(self.bad.any())

    def first(self) -> int | None:
        """The first bad step, read on the host, or None."""
        step = int(self.first_step)
        return None if step < 0 else step


def parameter_groups(model: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """Adam groups: the base weights at ``lr``, the gates at ``lr * hyper_lr_multiplier``."""
    hyper = hyper_parameters(model)
    hyper_ids = {id(p) for p in hyper}
    base = [p for p in model.parameters() if id(p) not in hyper_ids]
    groups: list[dict[str, Any]] = [{"params": base, "lr": config.lr}]
    if hyper:
        groups.append({"params": hyper, "lr": config.lr * config.hyper_lr_multiplier})
    return groups


class LearningRateFactor:
    """The learning rate's factor at each step: linear warm-up, then constant or cosine decay,
    times a scale that the plateau rule lowers (see :class:`TrainConfig`).

    ``torch.optim.lr_scheduler.LambdaLR`` checkpoints a callable object's ``__dict__``, so the
    plateau state (all plain numbers) resumes with the scheduler.
    """

    def __init__(self, config: TrainConfig, steps_per_epoch: int) -> None:
        self.configure(config, steps_per_epoch)
        self.scale, self.best, self.bad_epochs, self.cooldown_left = 1.0, math.inf, 0, 0

    def configure(self, config: TrainConfig, steps_per_epoch: int) -> None:
        """Take the schedule from ``config``, keeping the plateau state: after a checkpoint has
        restored both, a run extended to more epochs decays over its new length."""
        self.warmup = config.lr_warmup_epochs * steps_per_epoch
        self.total = config.epochs * steps_per_epoch
        self.cosine = config.cosine_decay
        self.patience, self.factor = config.lr_plateau_patience, config.lr_plateau_factor
        self.cooldown = config.lr_plateau_cooldown

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.scale * (step + 1) / self.warmup
        if self.cosine:
            progress = (step - self.warmup) / max(1, self.total - self.warmup)
            return self.scale * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        return self.scale

    def observe(self, validation_loss: float) -> bool:
        """Record an epoch's validation loss; returns whether the learning rate was lowered."""
        if self.patience == 0:
            return False
        if validation_loss < self.best:
            self.best, self.bad_epochs = validation_loss, 0
        elif self.cooldown_left > 0:
            self.cooldown_left -= 1
        else:
            self.bad_epochs += 1
        if self.bad_epochs < self.patience:
            return False
        self.scale *= self.factor
        self.bad_epochs, self.cooldown_left = 0, self.cooldown
        return True


def _gradient_clipper(optimizer: torch.optim.Optimizer, max_norm: float | None,
                      models: int) -> Callable[[], None] | None:
    """A call that clips the gradient of all the optimiser's parameters to ``max_norm``.

    One norm over every parameter is right for one model; a sweep stacks several models whose
    norms would mix, so it is refused there. No host sync: PyTorch scales by a clamped factor.
    """
    if max_norm is None:
        return None
    if models != 1:
        raise ValueError(f"TrainConfig.grad_clip_norm clips one model's gradient, but this run trains {models} "
                         "models at once (train_sweep); train them one by one with mrvae.train, or set "
                         "grad_clip_norm=None")
    parameters = [p for group in optimizer.param_groups for p in group["params"]]

    def clip() -> None:
        nn.utils.clip_grad_norm_(parameters, max_norm, foreach=True)

    return clip
