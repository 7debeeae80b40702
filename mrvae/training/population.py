"""Training a linear VAE on its exact expected objective (Figure 4, Theorem 1).

The data enter only through their covariance (:func:`mrvae.models.linear.population_objective`),
so a "batch" is a draw of β, not of examples: each step averages the loss over
``betas_per_step`` draws from the schedule. The loop is :func:`mrvae.training.loop.fit`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, NoReturn

from torch import Tensor

from mrvae.models.linear import LinearVAE, population_objective
from mrvae.training.checkpoints import Checkpoint
from mrvae.training.config import NonFiniteLossError, TrainConfig
from mrvae.training.loop import OneModel, fit
from mrvae.training.schedules import BetaSchedule

__all__ = ["train_population", "trained_population"]


class _BetaDraws:
    """One step per "epoch", ``betas_per_step`` β per step; the data are the covariance."""

    steps_per_epoch = 1

    def __init__(self, betas_per_step: int) -> None:
        self.examples = betas_per_step

    def epoch(self) -> Iterator[None]:
        yield None


class _Population(OneModel):
    """The linear VAE on its exact expected objective; a step's "batch" is a draw of β."""

    def __init__(self, model: LinearVAE, covariance: Tensor, beta: BetaSchedule, betas_per_step: int) -> None:
        super().__init__(model, beta, covariance.device)
        self.covariance, self.betas_per_step = covariance, betas_per_step

    def losses(self, x: Tensor | None, step: int) -> tuple[Tensor, Tensor, Tensor]:
        assert isinstance(self.model, LinearVAE)
        out = population_objective(self.model, self.covariance, self.beta(step, self.betas_per_step))
        return out["loss"][None], out["rate"][None], out["distortion"][None]

    def diverged(self, finite: Tensor, where: str) -> NoReturn:
        raise NonFiniteLossError(f"non-finite loss or gradient {where}; the model keeps the parameters from before "
                                 f"this step. Lower the lr or check sigma2")


def train_population(
    model: LinearVAE, covariance: Tensor, beta: BetaSchedule, *, steps: int, lr: float, betas_per_step: int = 8,
    seed: int = 0, hyper_lr_multiplier: float = 1.0, log_lines: int = 5, log: Callable[[str], None] = print,
) -> list[dict[str, float]]:
    """Adam on the exact expected objective (Eq. 11 for an MR-VAE, Eq. 1 for a β-VAE).

    ``beta`` is a schedule (``MultiRateBeta``, ``ConstantBeta``, ``AnnealedBeta``); each step
    averages the loss over ``betas_per_step`` draws. The gates train at ``lr *
    hyper_lr_multiplier`` (1: every parameter shares ``lr``, as in the authors' code), the
    rest at ``lr``; both decay to 0 on a cosine. Returns the loss at every ``steps // 20``-th step
    and the last one, as ``{"step", "loss"}``.
    """
    if steps < 1 or not lr > 0:
        raise ValueError(f"need steps >= 1 and lr > 0, got steps={steps}, lr={lr}")
    config = TrainConfig(epochs=steps, batch_size=betas_per_step, lr=lr, seed=seed, cosine_decay=True,
                         log_lines=log_lines, hyper_lr_multiplier=hyper_lr_multiplier)
    covariance = covariance.to(model.data_mean.dtype)
    history: list[dict[str, float]] = []
    fit(_Population(model, covariance, beta, betas_per_step), _BetaDraws(betas_per_step), config,
               Checkpoint(None, "", ""), device=covariance.device, histories=[history], log=log,
               describe=lambda last: f"loss {last[0]['loss']:.4f}", unit="step")
    every = max(1, steps // 20)
    return [{"step": float(step), "loss": record["loss"]} for step, record in enumerate(history)
            if step % every == 0 or step == steps - 1]


def trained_population(model: LinearVAE, covariance: Tensor, beta: BetaSchedule, **options: Any) -> LinearVAE:
    """:func:`train_population` as a :func:`~mrvae.training.pool.run_jobs` job: trains ``model``
    and returns it (a worker's model reaches the parent as the job's result)."""
    train_population(model, covariance, beta, **options)
    return model
