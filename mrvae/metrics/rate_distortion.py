"""Held-out rate–distortion curves and active units."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from mrvae.hyper.gates import BetaRange
from mrvae.models.base import VAE


@torch.no_grad()
def evaluate(model: VAE, data: Tensor, beta: float, *, batch_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """Mean ``rate``, ``distortion`` and ``loss = D + beta R`` of ``model`` on ``data`` at ``beta``.

    One reparameterised sample per example, drawn from a forked generator seeded
    with ``seed``, so evaluation is repeatable and never disturbs training's RNG.
    """
    if not beta > 0:
        raise ValueError(f"beta must be > 0, got {beta}")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    totals = torch.zeros(3, dtype=torch.float64)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        for start in range(0, data.shape[0], batch_size):
            x = data[start : start + batch_size].to(device)
            out = model(x, beta)
            totals += torch.stack([out["rate"].sum(), out["distortion"].sum(), out["loss"].sum()]).double().cpu()
    model.train(was_training)
    rate, distortion, loss = (totals / data.shape[0]).tolist()
    return {"beta": float(beta), "rate": rate, "distortion": distortion, "loss": loss}


def rate_distortion_curve(
    model: VAE, data: Tensor, betas: Iterable[float] | None = None, *, beta_range: BetaRange | None = None,
    n: int = 20, batch_size: int = 1000, seed: int = 0,
) -> list[dict[str, float]]:
    """Evaluate an MR-VAE at many β: by default ``n`` (the paper's 20) log-spaced β in ``beta_range``."""
    if betas is None:
        if beta_range is None:
            raise ValueError("give either betas=[...] or beta_range=BetaRange(a, b)")
        betas = beta_range.grid(n).tolist()
    return [evaluate(model, data, float(b), batch_size=batch_size, seed=seed) for b in betas]


@torch.no_grad()
def posterior_mean_variance(model: VAE, data: Tensor, beta: float, *, batch_size: int = 1000) -> Tensor:
    """``Cov_x(E_q[z_i|x])`` for each latent dim ``i``: ``(latent,)``."""
    device = next(model.parameters()).device
    means = torch.cat(
        [model.encode_mean(data[s : s + batch_size].to(device), beta).cpu()
         for s in range(0, data.shape[0], batch_size)]
    ).double()
    return means.var(dim=0, unbiased=False)


def active_units(model: VAE, data: Tensor, beta: float, *, threshold: float = 0.01, batch_size: int = 1000) -> int:
    """Number of latent dims with ``Cov_x(E_q[z_i|x]) > threshold`` (Burda et al. 2016)."""
    return int((posterior_mean_variance(model, data, beta, batch_size=batch_size) > threshold).sum())


def relative_gap(values: Sequence[float], optimum: Sequence[float]) -> list[float]:
    """``(value - optimum) / |optimum|`` elementwise."""
    if len(values) != len(optimum):
        raise ValueError(f"got {len(values)} values but {len(optimum)} optima")
    return [(v - o) / abs(o) for v, o in zip(values, optimum, strict=True)]
