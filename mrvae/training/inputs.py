"""Checks of what a trainer is given (model, data, β schedule), each failing early with an
error that names the fix."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from mrvae._validate import check_data, check_model, describe
from mrvae.hyper.gates import BetaRange
from mrvae.hyper.layers import beta_context, beta_gates
from mrvae.models.base import VAE
from mrvae.training.schedules import AnnealedBeta, BetaSchedule, ConstantBeta, MultiRateBeta


def check_schedule(beta: Any, model: VAE | None = None) -> BetaSchedule:
    """``beta`` if it is a β schedule that ``model`` can train with, else an error naming the fix."""
    if isinstance(beta, BetaRange):
        raise TypeError(f"beta must be a schedule, got the range {beta}; an MR-VAE samples it with "
                        f"mrvae.MultiRateBeta({beta.low:g}, {beta.high:g})")
    if not isinstance(beta, (ConstantBeta, AnnealedBeta, MultiRateBeta)):
        raise TypeError(f"beta must be a schedule, got {describe(beta)}; pass mrvae.ConstantBeta(1.0) for a "
                        f"β-VAE, mrvae.AnnealedBeta(1.0, warmup_steps=...) for KL annealing or "
                        f"mrvae.MultiRateBeta(0.01, 10) for an MR-VAE")
    if model is None or not isinstance(beta, MultiRateBeta):
        return beta
    gates = beta_gates(model)
    if not gates:
        raise ValueError(
            f"MultiRateBeta trains an MR-VAE, but this {type(model).__name__} has no β gates, so it "
            f"would silently train one β-VAE on a mixture of β. Convert it first: "
            f"model = mrvae.convert(model, mrvae.BetaRange({beta.low:g}, {beta.high:g}))"
        )
    ranges = [g.beta_range for g in gates]
    if not all(r.matches(beta.range) for r in ranges):
        shown = ", ".join(dict.fromkeys(f"[{r.low:.3g}, {r.high:.3g}]" for r in ranges))
        raise ValueError(
            f"MultiRateBeta({beta.low:g}, {beta.high:g}) samples β outside the range the gates were converted "
            f"with ({shown}), so their input standardisation would not match what they see; pass "
            f"MultiRateBeta({ranges[0].low:.3g}, {ranges[0].high:.3g}), or convert a fresh model with "
            f"BetaRange({beta.low:g}, {beta.high:g})"
        )
    return beta


def check_trainable(model: VAE, data: Tensor, beta: BetaSchedule) -> None:
    """Fail early, naming the fix, on a model that cannot learn from ``data`` with ``beta``."""
    check_model(model)
    check_data(data, model=model)
    expected = getattr(model, "data_shape", None)
    if expected is not None and tuple(data.shape[1:]) != tuple(expected):
        raise ValueError(
            f"data of shape {tuple(data.shape)} has examples of shape {tuple(data.shape[1:])}, but "
            f"{type(model).__name__} was built for data_shape={tuple(expected)}; reshape the data "
            f"(e.g. data.view(-1, {', '.join(map(str, expected))})) or build the model for this shape"
        )
    check_schedule(beta, model)


def noise_shape(model: VAE, data: Tensor, who: str = "the model") -> tuple[torch.Size, torch.dtype]:
    """Shape ``(*latent)`` and dtype of one example's noise; also checks data and model agree.

    Probes the encoder and decoder on two examples in eval mode, so BatchNorm statistics and
    the random state are left as they were.
    """
    x, was_training = data[:2], model.training
    model.eval()
    try:
        # Any valid β will do for a probe; gated (MR-VAE) layers need one.
        with torch.no_grad(), beta_context(model, torch.ones(x.shape[0], device=x.device)):
            mu, _ = model.encode(x)
            output = model.decode(mu)
    except RuntimeError as error:
        raise ValueError(
            f"{who} cannot encode data of shape {tuple(data.shape)} ({error}); build the model "
            f"for data_shape={tuple(data.shape[1:])}"
        ) from error
    finally:
        model.train(was_training)
    if output.shape != x.shape:
        raise ValueError(
            f"decoder output shape {tuple(output.shape[1:])} does not match the data's "
            f"{tuple(x.shape[1:])}; build the model for data_shape={tuple(data.shape[1:])}"
        )
    return mu.shape[1:], mu.dtype


def check_data_parallel(model: VAE) -> None:
    """Refuse, naming the fix, models whose data-parallel run would not equal one process."""
    if not model.examples_independent:
        raise ValueError(
            f"{type(model).__name__}'s objective couples the examples of a batch (e.g. the β-TCVAE's "
            f"total-correlation estimate), so a rank's shard would change it; train it in one process "
            f"(without torchrun), or spread independent runs over the ranks yourself"
        )
    if any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in model.modules()):
        raise ValueError(
            f"{type(model).__name__} has dropout, whose random draws depend on each rank's shard and "
            f"would desynchronise the ranks' shared random stream; set p=0 or train in one process"
        )
