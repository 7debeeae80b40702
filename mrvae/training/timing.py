"""Wall-clock cost of a training step, for overhead ratios (never asserted in unit tests)."""

from __future__ import annotations

import math
import statistics
import time
from dataclasses import dataclass

import torch
from torch import Tensor

from mrvae.hyper.gates import BetaLike
from mrvae.models.base import VAE


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_step(model: VAE, x: Tensor, beta: BetaLike, *, steps: int = 20, warmup: int = 3) -> float:
    """Median seconds of one Adam step (forward, backward, update) on the batch ``x``.

    Uses a throwaway optimizer and restores the weights afterwards, so timing
    leaves the model as it was.
    """
    state = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-12)
    times = []
    for i in range(warmup + steps):
        _synchronize(x.device)
        start = time.perf_counter()
        loss = model(x, beta)["loss"].mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        _synchronize(x.device)
        if i >= warmup:
            times.append(time.perf_counter() - start)
    model.load_state_dict(state)
    return statistics.median(times)


@dataclass(frozen=True)
class StepTimes:
    """Median seconds per step of an MR-VAE and a β-VAE, and the median of their ratios."""

    multi_rate: float
    plain: float
    ratio: float


def compare_step_times(multi_rate: VAE, plain: VAE, x: Tensor, beta_range: tuple[float, float], *,
                       steps: int = 20, warmup: int = 3, repeats: int = 3) -> StepTimes:
    """Time the MR-VAE (one β per example) and the β-VAE (fixed β) side by side.

    The two alternate ``repeats`` times, so that drift in the machine's load hits both alike;
    ``ratio`` is the median over repeats of MR-VAE time over β-VAE time.
    """
    low, high = beta_range
    gen = torch.Generator().manual_seed(0)
    betas = torch.exp(torch.empty(x.shape[0]).uniform_(math.log(low), math.log(high), generator=gen))
    betas = betas.to(x.device)
    pairs = [(seconds_per_step(multi_rate, x, betas, steps=steps, warmup=warmup),
              seconds_per_step(plain, x, 1.0, steps=steps, warmup=warmup)) for _ in range(repeats)]
    return StepTimes(statistics.median(mr for mr, _ in pairs), statistics.median(p for _, p in pairs),
                     statistics.median(mr / p for mr, p in pairs))


def overhead_ratio(multi_rate: VAE, plain: VAE, x: Tensor, beta_range: tuple[float, float], *, steps: int = 20) -> float:
    """Time per step of the MR-VAE (per-example β) over the β-VAE's (fixed β); interleaved runs."""
    return compare_step_times(multi_rate, plain, x, beta_range, steps=steps).ratio
