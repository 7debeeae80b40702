"""Wall-clock cost of a training step, for overhead ratios (never asserted in unit tests)."""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from mrvae.hyper.gates import BetaLike
from mrvae.models.base import VAE
from mrvae.training.optim import adam


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class _Stepper:
    """One model's Adam steps on a fixed batch, timed one at a time; :meth:`restore` undoes them."""

    def __init__(self, model: VAE, x: Tensor, beta: BetaLike) -> None:
        self.model, self.x, self.beta = model, x, beta
        self.state = {k: v.clone() for k, v in model.state_dict().items()}
        self.optimizer = adam([{"params": list(model.parameters()), "lr": 1e-12}], x.device)

    def step(self) -> float:
        _synchronize(self.x.device)
        start = time.perf_counter()
        loss = self.model(self.x, self.beta)["loss"].mean()
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        _synchronize(self.x.device)
        return time.perf_counter() - start

    def restore(self) -> None:
        self.model.load_state_dict(self.state)


def seconds_per_step(model: VAE, x: Tensor, beta: BetaLike, *, steps: int = 20, warmup: int = 3) -> float:
    """Median seconds of one Adam step (forward, backward, update) on the batch ``x``.

    Uses a throwaway optimizer and restores the weights afterwards, so timing
    leaves the model as it was.
    """
    stepper = _Stepper(model, x, beta)
    times = [stepper.step() for _ in range(warmup + steps)][warmup:]
    stepper.restore()
    return statistics.median(times)


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """A distribution-free confidence interval for the median of ``values``: order statistics.

    With ``n`` independent draws, the ``k``-th smallest and ``k``-th largest value bracket the
    true median with probability ``1 - 2 P(Binomial(n, 1/2) < k)``; ``k`` is the largest rank
    that keeps this at least ``confidence`` (the whole range when ``n`` is too small for it).
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence!r}")
    ordered = sorted(values)
    n = len(ordered)
    if n == 0:
        raise ValueError("median_interval needs at least one value")
    # Whole numbers: 2 ** n overflows a float from n = 1024 pairs on.
    outcomes, below, k = 2 ** n, 0, 1  # below / outcomes = P(Binomial(n, 1/2) <= rank - 1)
    for rank in range(1, n // 2 + 1):
        below += math.comb(n, rank - 1)
        if 1 - 2 * below / outcomes < confidence:
            break
        k = rank
    return ordered[k - 1], ordered[n - k]


@dataclass(frozen=True)
class StepTimes:
    """Median seconds per step of an MR-VAE and a β-VAE, and the median of their ratios.

    ``ratio_quartiles`` and ``ratio_interval`` (95%, :func:`median_interval`) say how far one
    run can be trusted: pairs of steps vary by several per cent on a shared machine.
    """

    multi_rate: float
    plain: float
    ratio: float
    pairs: int = 0
    ratio_quartiles: tuple[float, float] = (math.nan, math.nan)
    ratio_interval: tuple[float, float] = (math.nan, math.nan)


def compare_step_times(multi_rate: VAE, plain: VAE, x: Tensor, beta_range: tuple[float, float], *,
                       steps: int = 20, warmup: int = 3, repeats: int = 3) -> StepTimes:
    """Time the MR-VAE (one β per example) and the β-VAE (fixed β) side by side.

    The two take turns step by step (in alternating order), so that drift in the machine's load
    hits both alike; ``ratio`` is the median over ``steps * repeats`` adjacent pairs of MR-VAE
    time over β-VAE time. Both models are restored afterwards.
    """
    low, high = beta_range
    gen = torch.Generator().manual_seed(0)
    betas = torch.exp(torch.empty(x.shape[0]).uniform_(math.log(low), math.log(high), generator=gen))
    pair = (_Stepper(multi_rate, x, betas.to(x.device)), _Stepper(plain, x, 1.0))
    for _ in range(warmup):
        for stepper in pair:
            stepper.step()
    times: list[tuple[float, float]] = []
    for i in range(steps * repeats):
        if i % 2:
            plain_time = pair[1].step()
            times.append((pair[0].step(), plain_time))
        else:
            times.append((pair[0].step(), pair[1].step()))
    for stepper in pair:
        stepper.restore()
    ratios = [mr / p for mr, p in times]
    quartiles = statistics.quantiles(ratios, n=4, method="inclusive") if len(ratios) > 1 else [ratios[0]] * 3
    return StepTimes(statistics.median(mr for mr, _ in times), statistics.median(p for _, p in times),
                     statistics.median(ratios), len(ratios), (quartiles[0], quartiles[2]), median_interval(ratios))


def overhead_ratio(
    multi_rate: VAE, plain: VAE, x: Tensor, beta_range: tuple[float, float], *, steps: int = 20,
) -> float:
    """Time per step of the MR-VAE (per-example β) over the β-VAE's (fixed β); interleaved runs."""
    return compare_step_times(multi_rate, plain, x, beta_range, steps=steps).ratio
