"""β during training: constant, annealed (KL warm-up) or sampled per example (Eq. 11).

A schedule is called as ``schedule(step, batch_size)`` and returns β per example, ``(B,)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from mrvae._validate import check_flag, check_integer, check_real
from mrvae.hyper.gates import BetaRange

__all__ = ["AnnealedBeta", "BetaSchedule", "ConstantBeta", "MultiRateBeta"]


def _beta(value: object, name: str) -> float:
    return check_real(value, name, minimum=0.0, exclusive=True, example="1.0")


@dataclass(frozen=True)
class ConstantBeta:
    """β-VAE with a fixed KL weight."""

    value: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _beta(self.value, "ConstantBeta.value"))

    def __call__(self, step: int, batch_size: int) -> Tensor:
        return torch.full((batch_size,), self.value)


@dataclass(frozen=True)
class AnnealedBeta:
    """β-VAE with KL annealing: β rises linearly to ``value`` over ``warmup_steps`` steps."""

    value: float
    warmup_steps: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", _beta(self.value, "AnnealedBeta.value"))
        object.__setattr__(self, "warmup_steps", check_integer(self.warmup_steps, "AnnealedBeta.warmup_steps",
                                                               minimum=1, example=1000))

    def __call__(self, step: int, batch_size: int) -> Tensor:
        return torch.full((batch_size,), self.value * min(1.0, (step + 1) / self.warmup_steps))


@dataclass(frozen=True)
class MultiRateBeta:
    """MR-VAE: ``log β ~ U[log a, log b]`` (Eq. 11), per example or, as in Algorithm 1, per batch."""

    low: float
    high: float
    per_example: bool = True

    def __post_init__(self) -> None:
        checked = BetaRange(self.low, self.high)  # same validation and messages
        object.__setattr__(self, "low", checked.low)
        object.__setattr__(self, "high", checked.high)
        object.__setattr__(self, "per_example", check_flag(self.per_example, "MultiRateBeta.per_example"))

    @property
    def range(self) -> BetaRange:
        return BetaRange(self.low, self.high)

    def __call__(self, step: int, batch_size: int) -> Tensor:
        if self.per_example:
            return self.range.sample(batch_size)
        return self.range.sample(1).expand(batch_size)


BetaSchedule = ConstantBeta | AnnealedBeta | MultiRateBeta
