"""Figure 8's models: Chen et al.'s MLP VAEs on dSprites, β-TCVAEs and MR-VAEs, trained side by side.

Every model of the panel is one :class:`TCVAERun` (a seed, a β or the MR-VAE's range, and a
budget multiplier) of one :class:`TCVAEExperiment`. :func:`fit_tcvae_models` trains the runs in
worker processes, one thread each (:func:`~mrvae.training.pool.run_jobs`), and loads them from
their checkpoints, so a model is the same floats whether it trained alone or beside others.

Seeding (:func:`~mrvae_companion.experiments.sweep_model`): a run's seed draws its initialisation
and its batch order. At one seed the β-TCVAEs are drawn in the order of the panel's β grid, each
from its own weights, and the MR-VAE first; all runs share the notebook's data subset.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import torch
from torch import Tensor

from mrvae.hyper.convert import convert
from mrvae.hyper.gates import BetaRange
from mrvae.models.base import VAE
from mrvae.models.tcvae import ChenMLPVAE
from mrvae.training import ConstantBeta, MultiRateBeta, TrainConfig, train
from mrvae.training.pool import discarding_result
from mrvae_companion.experiments import spec_digest, sweep_model
from mrvae_companion.runner import runner_for

__all__ = ["TCVAEExperiment", "TCVAERun", "fit_tcvae_models"]


@dataclass(frozen=True)
class TCVAEExperiment:
    """The settings every model of the panel shares.

    Attributes:
        dataset_size: ``N`` of the training images (the β-TCVAE's minibatch-weighted estimator needs it).
        latent_dim, hidden: the MLPs' latent size and hidden width (10 and 1,200 in the paper).
        epochs, batch_size, lr: one model's budget (:class:`~mrvae.training.TrainConfig`).
        beta_range: the MR-VAE's sample range of β.
        betas: the β-TCVAEs' grid, increasing; a run's β is one of them, and its place in the
            grid decides its initial weights.
    """

    dataset_size: int
    latent_dim: int
    hidden: int
    epochs: int
    batch_size: int
    lr: float
    beta_range: BetaRange
    betas: tuple[float, ...]

    def __post_init__(self) -> None:
        for name in ("dataset_size", "latent_dim", "hidden", "epochs", "batch_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(self.beta_range, BetaRange):
            raise TypeError(f"beta_range must be a BetaRange, e.g. BetaRange(0.1, 10.0), got {self.beta_range!r}")
        betas = self.betas
        if (not isinstance(betas, tuple) or not betas or not all(isinstance(b, float) and b > 0 for b in betas)
                or list(betas) != sorted(set(betas))):
            raise ValueError(f"betas must be a tuple of increasing positive floats, e.g. "
                             f"tuple(beta_range.grid(5).tolist()), got {betas!r}")

    @property
    def key(self) -> str:
        """The panel's run folder: a hash of every setting, so other settings never meet these runs."""
        return f"tcvae-{spec_digest(dataclasses.asdict(self))}"


@dataclass(frozen=True)
class TCVAERun:
    """One model: a β-TCVAE at ``beta``, or the MR-VAE (``beta=None``), at ``budget`` times the epochs."""

    seed: int
    beta: float | None = None
    budget: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.budget, bool) or not isinstance(self.budget, int) or self.budget < 1:
            raise ValueError(f"budget must be a positive int (a multiple of the epochs), got {self.budget!r}")
        if self.beta is not None and not float(self.beta) > 0:
            raise ValueError(f"beta must be positive (or None for the MR-VAE), got {self.beta!r}")

    @property
    def name(self) -> str:
        """The run's checkpoint folder: ``mr_vae_seed0``, ``mr_vae_seed0_x4``, ``tcvae_seed1_beta0.1``."""
        base = "mr_vae" if self.beta is None else "tcvae"
        name = f"{base}_seed{self.seed}" + ("" if self.beta is None else f"_beta{self.beta:.4g}")
        return name + (f"_x{self.budget}" if self.budget > 1 else "")


def _fit(exp: TCVAEExperiment, images: Tensor, run: TCVAERun, run_dir: Path | None,
         device: torch.device | str | None, load_finished: bool = False) -> VAE:
    target = torch.device(device) if device is not None else torch.device("cpu")
    position = 0 if run.beta is None else exp.betas.index(run.beta)
    model: VAE = sweep_model(run.seed, lambda: ChenMLPVAE(dataset_size=exp.dataset_size, latent_dim=exp.latent_dim,
                                                         hidden=exp.hidden).to(target), position)
    if run.beta is None:
        model = convert(model, exp.beta_range)
        schedule = MultiRateBeta(exp.beta_range.low, exp.beta_range.high)
    else:
        schedule = ConstantBeta(float(run.beta))
    config = TrainConfig(epochs=exp.epochs * run.budget, batch_size=exp.batch_size, lr=exp.lr, seed=run.seed,
                         log_lines=0)
    train(model, images, schedule, config, checkpoint_dir=None if run_dir is None else run_dir / exp.key / run.name,
          log=lambda line: None, progress=False, load_finished=load_finished)
    return model


def fit_tcvae_models(exp: TCVAEExperiment, images: Tensor, runs: Sequence[TCVAERun], *, run_dir: Path | None,
                     device: torch.device | str | None = None, workers: int | None = None) -> list[VAE]:
    """Train (or load from ``run_dir``) every run of ``runs``; the models, in order.

    Args:
        exp: the panel's shared settings.
        images: training images, ``(N, 1, 64, 64)`` in [0, 1], ``N == exp.dataset_size``.
        runs: the models to train; a run listed twice is trained once.
        run_dir: where each run's checkpoint lives (``run_dir / exp.key / run.name``); ``None`` trains
            without caching.
        workers: on a CPU, how many runs train side by side, one thread each; ``None`` trains
            them in turn in this process.
    """
    if images.ndim != 4 or images.shape[0] != exp.dataset_size:
        raise ValueError(f"images must be (N, C, H, W) with N = dataset_size = {exp.dataset_size}, "
                         f"got shape {tuple(images.shape)}")
    if not runs:
        raise ValueError("runs is empty: pass at least one TCVAERun")
    outside = sorted({run.beta for run in runs if run.beta is not None and run.beta not in exp.betas})
    if outside:
        raise ValueError(f"runs at β {outside} are not on the panel's grid {list(exp.betas)}: pass β from "
                         f"TCVAEExperiment.betas (their place in the grid decides their initial weights)")
    return runner_for(workers, device).run(
        lambda root: [partial(discarding_result, _fit, exp, images, run, root, device) for run in dict.fromkeys(runs)],
        lambda root, finished: [_fit(exp, images, run, root, device, finished) for run in runs],
        run_dir=run_dir)
