"""Wall-clock cost of a training step, for overhead ratios (never asserted in unit tests)."""

from __future__ import annotations

import math
import time

import torch
from torch import Tensor

from mrvae.hyper.gates import BetaLike
from mrvae.models.base import VAE


def seconds_per_step(model: VAE, x: Tensor, beta: BetaLike, *, steps: int = 20, warmup: int = 3) -> float:
    """Median seconds of one Adam step (forward, backward, update) on the batch ``x``.

    Uses a throwaway optimizer and restores the weights afterwards, so timing
    leaves the model as it was.
    """
    state = {k: v.clone() for k, v in model.state_dict().items()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-12)
    cuda = x.is_cuda
    times = []
    for i in range(warmup + steps):
        if cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        loss = model(x, beta)["loss"].mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if cuda:
            torch.cuda.synchronize()
        if i >= warmup:
            times.append(time.perf_counter() - start)
    model.load_state_dict(state)
    return float(sorted(times)[len(times) // 2])


def overhead_ratio(multi_rate: VAE, plain: VAE, x: Tensor, beta_range: tuple[float, float], *, steps: int = 20) -> float:
    """Time per step of the MR-VAE (per-example β) over the β-VAE's (fixed β); interleaved runs."""
    low, high = beta_range
    gen = torch.Generator().manual_seed(0)
    betas = torch.exp(torch.empty(x.shape[0]).uniform_(math.log(low), math.log(high), generator=gen))
    ratios = []
    for _ in range(3):  # interleave so drift in machine load hits both alike
        t_mr = seconds_per_step(multi_rate, x, betas.to(x.device), steps=steps)
        t_plain = seconds_per_step(plain, x, 1.0, steps=steps)
        ratios.append(t_mr / t_plain)
    return float(sorted(ratios)[1])
