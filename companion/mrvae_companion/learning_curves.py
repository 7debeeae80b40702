"""How fast an MR-VAE learns its β response: its gap to trained β-VAEs along training (the
book's *Learning the β response* chapter)."""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Literal

import torch

from mrvae.hyper.gates import BetaRange
from mrvae.metrics.rate_distortion import evaluate
from mrvae.models.base import VAE
from mrvae.models.benchmark import GatePlacement
from mrvae_companion.experiments import PAPER_BETA_RANGE, ExperimentData, ImageExperiment, fit_mr_vae, mr_vae_checkpoint
from mrvae_companion.runner import runner_for


def response_learning_curve(
    exp: ImageExperiment,
    data: ExperimentData,
    references: Mapping[float, VAE],
    *,
    placement: GatePlacement | None = None,
    beta_range: BetaRange = PAPER_BETA_RANGE,
    run_dir: Path | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    split: Literal["test", "validation"] = "test",
    load_finished: bool = False,
) -> tuple[VAE, list[dict[str, float]]]:
    """Train one MR-VAE and measure, before training and after every epoch, how far it has
    learned its β response: the rate span ``R(a)/R(b)`` and the mean relative gap in
    ``D + βR`` to ``references`` (trained β-VAEs keyed by β) on ``split``: the test images, or
    the validation images (``load_experiment_data(..., validation_images=...)``) where the
    curves decide a choice.

    Returns the model and one record per epoch (``epoch``, ``step``, ``rate_ratio``,
    ``mean_gap``). With ``run_dir`` the records are kept beside the checkpoint, so a finished
    run is loaded, not retrained. Evaluation forks the random state: the model trained is the
    one :func:`fit_mr_vae` trains. ``load_finished`` loads a run (and its records) another
    process finished under ``run_dir``.
    """
    placement = placement or GatePlacement()
    if split not in ("test", "validation"):
        raise ValueError(f"split must be 'test' or 'validation', got {split!r}")
    images = data.test if split == "test" else data.validation
    if images is None:
        raise ValueError("data has no validation images; load it with load_experiment_data(exp, validation_images=n)")
    steps_per_epoch = math.ceil(data.train.shape[0] / exp.batch_size)
    records: list[dict[str, float]] = []
    reference_loss: dict[float, float] = {}  # evaluated only if a curve is recorded, not when loaded

    def record(epoch: int, model: VAE) -> None:
        if not reference_loss:
            reference_loss.update({b: evaluate(m, images, b, seed=seed)["loss"]
                                   for b, m in sorted(references.items())})
        rates = [evaluate(model, images, b, seed=seed)["rate"] for b in (beta_range.low, beta_range.high)]
        gaps = [(evaluate(model, images, b, seed=seed)["loss"] - ref) / abs(ref)
                for b, ref in reference_loss.items()]
        records.append({"epoch": float(epoch), "step": float(epoch * steps_per_epoch),
                        "rate_ratio": rates[0] / max(rates[1], 1e-12), "mean_gap": statistics.fmean(gaps)})

    name = "learning_curve.json" if split == "test" else f"learning_curve_{split}.json"
    saved = mr_vae_checkpoint(exp, beta_range, placement, run_dir) / name if run_dir else None
    model, _ = fit_mr_vae(exp, data, beta_range=beta_range, placement=placement, run_dir=run_dir, device=device,
                          log=lambda line: None, on_epoch=record, load_finished=load_finished)
    if saved is not None:
        if records and records[0]["epoch"] == 0:
            saved.write_text(json.dumps(records))
        elif saved.exists():
            records = json.loads(saved.read_text())
    if not records or records[-1]["epoch"] != exp.epochs:
        raise RuntimeError(f"no complete learning curve for {exp.tag}; delete {saved.parent if saved else 'the run'} "
                           f"and run again")
    return model, records


def _learning_curve_job(exp: ImageExperiment, data: ExperimentData, references: Mapping[float, VAE],
                        placement: GatePlacement, run_dir: Path, device: torch.device | str | None, seed: int,
                        split: Literal["test", "validation"]) -> None:
    """A :func:`~mrvae.training.pool.run_jobs` job: one learning curve, kept beside its checkpoint."""
    response_learning_curve(exp, data, references, placement=placement, run_dir=run_dir, device=device, seed=seed,
                            split=split)


def response_learning_curves(
    variants: Sequence[tuple[ImageExperiment, GatePlacement]],
    data: ExperimentData,
    references: Mapping[float, VAE],
    *,
    run_dir: Path | None = None,
    device: torch.device | str | None = None,
    seed: int = 0,
    workers: int | None = None,
    split: Literal["test", "validation"] = "test",
) -> list[tuple[VAE, list[dict[str, float]]]]:
    """:func:`response_learning_curve` for each ``(experiment, placement)``, in order, scored on
    ``split``; with ``workers`` (CPU only), each trains on one thread, that many side by side."""
    return runner_for(workers, device).run(
        lambda root: [partial(_learning_curve_job, exp, data, references, placement, root, device, seed, split)
                      for exp, placement in dict.fromkeys(variants)],
        lambda root, finished: [response_learning_curve(exp, data, references, placement=placement, run_dir=root,
                                                        device=device, seed=seed, split=split, load_finished=finished)
                                for exp, placement in variants],
        run_dir=run_dir)
