"""Held-out rate–distortion curves and active units."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import torch
from torch import Tensor

from mrvae._validate import check_data, check_integer, check_model, check_real, describe
from mrvae.hyper.gates import BetaRange
from mrvae.hyper.layers import beta_gates
from mrvae.models.base import VAE


def evaluate(model: VAE, data: Tensor, beta: float, *, batch_size: int = 1000, seed: int = 0) -> dict[str, float]:
    """Mean ``rate``, ``distortion`` and ``loss = D + beta R`` of ``model`` on ``data`` at ``beta``.

    One reparameterised sample per example, drawn from a forked generator seeded
    with ``seed``, so evaluation is repeatable and never disturbs training's RNG.

    Args:
        model: a :class:`~mrvae.VAE` (an MR-VAE is evaluated at ``beta``).
        data: ``(N, *data_shape)`` examples in the likelihood's support.
        beta: one KL weight > 0 (a number; for many, :func:`rate_distortion_curve`).
        batch_size: examples per forward pass.
        seed: seeds the posterior samples.
    """
    _check_inputs(model, data, batch_size, seed)
    return _evaluate(model, data, _check_beta(beta), batch_size, seed)


def _check_beta(beta: object) -> float:
    if isinstance(beta, (list, tuple)) or (isinstance(beta, Tensor) and beta.dim() > 0):
        raise TypeError(f"beta must be one number, got {describe(beta)}; for several β use "
                        f"rate_distortion_curve(model, data, betas=[...])")
    return check_real(beta, "beta", minimum=0.0, exclusive=True, example="1.0")


def _check_inputs(model: VAE, data: Tensor, batch_size: int, seed: int) -> None:
    check_model(model)
    check_data(data, model=model)
    model.likelihood.check_data(data)
    check_integer(batch_size, "batch_size", minimum=1, example=1000)
    check_integer(seed, "seed", minimum=0, example=0)


@torch.no_grad()
def _evaluate(model: VAE, data: Tensor, beta: float, batch_size: int, seed: int) -> dict[str, float]:
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
    """Evaluate an MR-VAE at many β: the given ``betas``, or ``n`` (the paper's 20) log-spaced β
    in ``beta_range``. Returns one :func:`evaluate` dict per β.

    Raises:
        ValueError: ``betas`` together with ``beta_range`` or ``n`` (one would be ignored), or a
            model without β gates (a β-VAE has one point; use :func:`evaluate`).
    """
    _check_inputs(model, data, batch_size, seed)
    if not beta_gates(model):
        raise ValueError(f"{type(model).__name__} has no β gates, so every β would read the same network and "
                         f"the curve would be flat; convert it to an MR-VAE and train it "
                         f"(mrvae.convert(model, mrvae.BetaRange(0.01, 10))), or evaluate a β-VAE at its own β "
                         f"with mrvae.evaluate(model, data, beta)")
    if betas is None:
        if beta_range is None:
            raise ValueError("give either betas=[...] or beta_range=BetaRange(a, b)")
        if not isinstance(beta_range, BetaRange):
            raise TypeError(f"beta_range must be a mrvae.BetaRange, got {describe(beta_range)}; pass "
                            f"beta_range=mrvae.BetaRange(0.01, 10)")
        betas = beta_range.grid(n).tolist()
    else:
        if beta_range is not None or n != 20:
            raise ValueError("give betas=[...] or beta_range=BetaRange(a, b) with n=..., not both: the curve "
                             "would silently ignore one of them")
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Iterable):
            raise TypeError(f"betas must be a list of numbers, got {describe(betas)}; pass e.g. betas=[0.1, 1, 10]")
        betas = [_check_beta(b) for b in betas]
        if not betas:
            raise ValueError("betas is empty; pass e.g. betas=[0.1, 1, 10]")
    return [_evaluate(model, data, float(b), batch_size, seed) for b in betas]


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
    """Number of latent dims with ``Cov_x(E_q[z_i|x]) > threshold`` (Burda et al. 2016).

    ``data (N, *data_shape)`` with ``N >= 2`` (a variance over examples); ``beta`` one KL weight.
    """
    _check_inputs(model, data, batch_size, 0)
    if data.shape[0] < 2:
        raise ValueError(f"active units are a variance over examples: pass at least 2, got {data.shape[0]}")
    beta = _check_beta(beta)
    threshold = check_real(threshold, "threshold", minimum=0.0, example="0.01")
    return int((posterior_mean_variance(model, data, beta, batch_size=batch_size) > threshold).sum())


def relative_gap(values: Sequence[float], optimum: Sequence[float]) -> list[float]:
    """``(value - optimum) / |optimum|`` elementwise."""
    if len(values) != len(optimum):
        raise ValueError(f"got {len(values)} values but {len(optimum)} optima")
    return [(v - o) / abs(o) for v, o in zip(values, optimum, strict=True)]
