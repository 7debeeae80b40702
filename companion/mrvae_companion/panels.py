"""Train every panel of a profile at once (one pool of side-by-side jobs), then load them back."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from mrvae.data import DatasetNotFoundError
from mrvae.models.base import VAE
from mrvae.training.loop import _quiet
from mrvae_companion.experiments import (
    ExperimentData,
    ImageExperiment,
    Members,
    baseline_betas,
    beta_vae_jobs,
    fit_beta_vaes,
    fit_mr_vae,
    load_experiment_data,
    mr_vae_job,
)
from mrvae_companion.profiles import ImageProfile
from mrvae_companion.runner import runner_for


@dataclass
class TrainedModels:
    """Everything one (dataset, architecture) panel needs: data, MR-VAE and its β-VAE sweeps."""

    experiment: ImageExperiment
    data: ExperimentData
    mr_vae: VAE
    constant: dict[float, VAE]
    #: None where the profile trains no KL-annealed sweep for this panel (:attr:`ImageProfile.annealed_sweeps`).
    annealed: dict[float, VAE] | None
    mr_train_seconds: float
    #: The panel trained again at other seeds (seed → its models, constant-β sweep only), where
    #: :func:`train_image_experiments` was asked for them.
    replicates: dict[int, TrainedModels] = field(default_factory=dict)


def train_image_experiments(
    profile: ImageProfile,
    kinds: tuple[Literal["conv", "resnet"], ...] = ("conv", "resnet"),
    *,
    datasets: tuple[str, ...] | None = None,
    seed: int = 0,
    replicates: bool = False,
    run_dir: Path | None = None,
    device: torch.device | str | None = None,
    log: Callable[[str], None] = print,
) -> tuple[dict[tuple[str, str], TrainedModels], dict[str, str]]:
    """Train (or load from ``run_dir``) the MR-VAE and both β-VAE sweeps of every panel.

    With ``replicates``, the headline panel (if asked for) is also trained at seeds ``seed + 1``
    to ``seed + profile.headline_seeds - 1`` (MR-VAE and constant-β sweep, each seed its own
    data subsets), in the same pool, and returned in its :attr:`TrainedModels.replicates`.

    Returns the trained panels keyed by ``(dataset, kind)`` and, for datasets whose files are
    missing, the first line of the :class:`~mrvae.data.DatasetNotFoundError` (never a fake panel).
    """
    panels: dict[tuple[str, str], TrainedModels] = {}
    not_run: dict[str, str] = {}
    order = list(dict.fromkeys(datasets or profile.datasets))  # a panel listed twice would train twice at once
    kinds = tuple(dict.fromkeys(kinds))
    if profile.headline[0] in order:  # Figure 1's panel first: it is the one to look at early
        order.insert(0, order.pop(order.index(profile.headline[0])))
    # (experiment, data, which annealed members or False for none, which constant-β members): the
    # panels, then the headline's replicates.
    experiments: list[tuple[ImageExperiment, ExperimentData, Members | Literal[False], Members]] = []
    for dataset in order:
        try:
            data = load_experiment_data(profile.experiment(dataset, kinds[0], seed))
        except DatasetNotFoundError as error:
            not_run[dataset] = str(error).splitlines()[0]
            log(f"{dataset}: not run ({not_run[dataset]})")
            continue
        for kind in sorted(kinds, key=lambda k: k != profile.headline[1]):
            exp = profile.experiment(dataset, kind, seed)
            annealed = profile.annealed_members() if profile.trains_annealed(exp) else False
            experiments.append((exp, data, annealed, profile.sweep_members(exp)))
    main_panels = len(experiments)
    if replicates and any((e.dataset, e.kind) == profile.headline for e, *_ in experiments):
        for extra in range(seed + 1, seed + profile.headline_seeds):
            exp = profile.experiment(*profile.headline, extra)
            experiments.append((exp, load_experiment_data(exp), False, profile.replicate_members()))
    loaded = runner_for(profile.workers, device).run(
        lambda root: [job for exp, data, annealed, members in experiments
                      for job in _panel_jobs(exp, data, root, device, annealed=annealed, members=members)],
        lambda root, finished: [_load_panel(exp, data, annealed, profile, root, device, log, members,
                                            load_finished=finished)
                                for exp, data, annealed, members in experiments],
        run_dir=run_dir, log=log)
    for trained in loaded[:main_panels]:
        panels[(trained.experiment.dataset, trained.experiment.kind)] = trained
    for trained in loaded[main_panels:]:
        panels[profile.headline].replicates[trained.experiment.seed] = trained
    return panels, not_run


def _load_panel(exp: ImageExperiment, data: ExperimentData, annealed: Members | Literal[False],
                profile: ImageProfile, run_dir: Path | None, device: torch.device | str | None,
                log: Callable[[str], None], members: Members = None, *, load_finished: bool = False) -> TrainedModels:
    started = time.perf_counter()
    mr_vae, result = fit_mr_vae(exp, data, run_dir=run_dir, device=device, log=_quiet, load_finished=load_finished)
    chosen = {False: members, **({} if annealed is False else {True: annealed})}
    sweeps = {schedule: fit_beta_vaes(exp, data, baseline_betas(), annealed=schedule,
                                      batched=profile.batched and which is None, run_dir=run_dir, device=device,
                                      log=_quiet, members=which, load_finished=load_finished)
              for schedule, which in chosen.items()}
    mr_seconds = sum(h["seconds"] for h in result.history)
    log(f"{exp.tag} (seed {exp.seed}): {1 + sum(map(len, sweeps.values()))} models ready in "
        f"{time.perf_counter() - started:.0f} s (MR-VAE training took {mr_seconds:.0f} s)")
    return TrainedModels(exp, data, mr_vae, sweeps[False], sweeps.get(True), mr_seconds)


def _panel_jobs(exp: ImageExperiment, data: ExperimentData, run_dir: Path, device: torch.device | str | None, *,
                annealed: Members | Literal[False] = None, members: Members = None) -> list[Callable[[], None]]:
    """The trainings of one panel as :func:`~mrvae.training.pool.run_jobs` jobs, MR-VAE first: the
    MR-VAE, the constant-β sweep (its ``members``, default all) and, unless ``annealed`` is
    False, the KL-annealed sweep (those members; default all): 21 in all."""
    return [mr_vae_job(exp, data, run_dir=run_dir, device=device),
            *beta_vae_jobs(exp, data, baseline_betas(), annealed=False, run_dir=run_dir, device=device,
                           members=members),
            *(beta_vae_jobs(exp, data, baseline_betas(), annealed=True, run_dir=run_dir, device=device,
                            members=annealed) if annealed is not False else [])]
