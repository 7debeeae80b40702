"""The image experiments of Section 5.2 as reusable pieces: data, models, training, comparison.

One :class:`ImageExperiment` names a dataset, an architecture and a training budget. The
notebooks of Figures 1, 5, 6, 7 and Section 5.3 call the same functions, and trained models
are cached (``run_dir``), so a figure that needs the models of another trains nothing twice:

>>> exp = ImageExperiment("binary_mnist", "resnet", width=0.125, train_images=2000, epochs=3)
>>> data = load_experiment_data(exp)
>>> mr_vae, _ = fit_mr_vae(exp, data, run_dir=Path("runs/demo"))
>>> beta_vaes = fit_beta_vaes(exp, data, baseline_betas(), annealed=False, run_dir=Path("runs/demo"))
>>> rows = compare_at_betas(mr_vae, beta_vaes, data.test)
"""


from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, Literal, TypeVar

import torch
from torch import Tensor

from mrvae.data.images import dynamic_binarize, held_out, load_dataset, subset
from mrvae.hyper.gates import BetaRange
from mrvae.models.base import VAE
from mrvae.models.benchmark import ArchitectureConfig, GatePlacement, build_mr_vae, build_vae
from mrvae.models.objective import Likelihood
from mrvae.training import (
    DEFAULT_HYPER_LR_MULTIPLIER,
    AnnealedBeta,
    ConstantBeta,
    MultiRateBeta,
    TrainConfig,
    TrainResult,
    train,
)
from mrvae.training.loop import _quiet
from mrvae.training.sweep import train_sweep
from mrvae_companion.runner import InProcess, Runner, runner_for

__all__ = [
    "BINARY_DATASETS", "DATA_SHAPES", "PAPER_BETA_RANGE", "ExperimentData", "ImageExperiment", "baseline_betas",
    "beta_vae_jobs", "fit_beta_vaes", "fit_mr_vae", "fit_mr_vaes", "fit_mr_vaes_on_panels", "likelihood_for",
    "load_experiment_data", "mr_vae_checkpoint", "mr_vae_job", "spec_digest", "sweep_model", "train_config_from",
]

M = TypeVar("M", bound=torch.nn.Module)

#: Image shape of every dataset of Figure 5.
DATA_SHAPES: dict[str, tuple[int, int, int]] = {
    "binary_mnist": (1, 28, 28), "omniglot": (1, 28, 28), "cifar10": (3, 32, 32),
    "svhn": (3, 32, 32), "celeba64": (3, 64, 64),
}
BINARY_DATASETS = ("binary_mnist", "omniglot")
#: The range [a, b] the paper samples β from for images (Section 5.2).
PAPER_BETA_RANGE = BetaRange(0.01, 10.0)
#: The authors' latent sizes where they differ from the data shape's default (SVHN: 32).
PAPER_LATENT_BY_DATASET: dict[str, int] = {"svhn": 32}
#: Gaussian decoder variance for RGB data: distortion = ½‖x − mean‖²/σ² = summed squared error.
RGB_SIGMA2 = 0.5


def likelihood_for(dataset: str) -> Likelihood:
    """Bernoulli for the binary datasets; for RGB a Gaussian whose distortion is the summed
    squared error (σ² = 1/2, constant dropped), as in the authors' code."""
    _check_dataset(dataset)
    if dataset in BINARY_DATASETS:
        return Likelihood("bernoulli")
    return Likelihood("gaussian", sigma2=RGB_SIGMA2)


def baseline_betas(n: int = 10, beta_range: BetaRange = PAPER_BETA_RANGE) -> list[float]:
    """The β-VAE sweep: ``n`` log-spaced β in the range, ``logspace(-2, 1, 10)`` by default."""
    return beta_range.grid(n).tolist()


def _check_dataset(dataset: str) -> None:
    if dataset not in DATA_SHAPES:
        raise ValueError(f"unknown dataset {dataset!r}; choose one of {sorted(DATA_SHAPES)}")


def train_config_from(experiment: Any, **fixed: Any) -> TrainConfig:
    """The :class:`~mrvae.training.TrainConfig` of an experiment dataclass: every field the two
    share by name (``epochs``, ``lr``, ``optimizer``, ...), plus ``fixed`` settings."""
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    shared = {f.name: getattr(experiment, f.name) for f in dataclasses.fields(experiment) if f.name in names}
    return TrainConfig(**shared, **fixed)


@dataclass(frozen=True)
class ImageExperiment:
    """A dataset, an architecture and one training budget, shared by the MR-VAE and β-VAEs.

    The defaults are the paper's: full width, 200 epochs, batch 128, Adam at 1e-3 with a
    10-epoch linear warm-up then cosine decay.

    Args:
        dataset: a key of :data:`DATA_SHAPES`.
        kind: ``"conv"`` or ``"resnet"``.
        width: channel multiplier of :class:`~mrvae.models.benchmark.ArchitectureConfig`.
        latent_dim: ``None`` for the paper's size.
        train_images, test_images: fixed-seed subset sizes, ``None`` for the whole split.
        kl_warmup_fraction: the annealed β-VAEs raise β linearly over this fraction of
            all training steps.
        hyper_lr_multiplier: the MR-VAE's gates train at ``lr`` times this (an MR-VAE-only
            setting: it is not part of :attr:`key`, so the β-VAEs are shared across values).
    """

    dataset: str
    kind: Literal["conv", "resnet"]
    width: float = 1.0
    latent_dim: int | None = None
    train_images: int | None = None
    test_images: int | None = None
    epochs: int = 200
    batch_size: int = 128
    lr: float = 1e-3
    lr_warmup_epochs: int = 10
    cosine_decay: bool = True
    kl_warmup_fraction: float = 0.1
    seed: int = 0
    hyper_lr_multiplier: float = DEFAULT_HYPER_LR_MULTIPLIER

    def __post_init__(self) -> None:
        _check_dataset(self.dataset)
        if not 0.0 < self.kl_warmup_fraction <= 1.0:
            raise ValueError(f"kl_warmup_fraction must lie in (0, 1], got {self.kl_warmup_fraction}")
        for name in ("train_images", "test_images"):
            value = getattr(self, name)
            if value is not None and value < 2:
                raise ValueError(f"{name} must be None (whole split) or >= 2, got {value}")
        self.architecture()  # validates kind, width and latent_dim
        self.train_config()  # and epochs, batch_size, lr, ...: before any data are loaded

    @property
    def tag(self) -> str:
        """A short name for legends, e.g. ``binary_mnist-resnet-w0.125``."""
        return f"{self.dataset}-{self.kind}-w{self.width:g}"

    @property
    def key(self) -> str:
        """``tag`` plus a hash of every setting: the run-directory name, so a model trained
        with other settings (e.g. another subset size) is never resumed by mistake."""
        settings = dataclasses.asdict(self)
        settings.pop("hyper_lr_multiplier")  # the β-VAEs have no gates: their runs are shared
        return f"{self.tag}-{spec_digest(settings)}"

    def architecture(self) -> ArchitectureConfig:
        latent = self.latent_dim if self.latent_dim is not None else PAPER_LATENT_BY_DATASET.get(self.dataset)
        return ArchitectureConfig(self.kind, DATA_SHAPES[self.dataset], latent, self.width)

    def train_config(self) -> TrainConfig:
        return train_config_from(self, log_lines=2)

    def steps(self, train_size: int) -> int:
        """Adam steps per model on ``train_size`` images: epochs × batches per epoch."""
        return self.epochs * math.ceil(train_size / self.batch_size)

    def kl_warmup_steps(self, train_size: int) -> int:
        return max(1, round(self.kl_warmup_fraction * self.steps(train_size)))


@dataclass(frozen=True)
class ExperimentData:
    """Train and test tensors of one experiment, and where they came from.

    ``validation``: images of the training split outside ``train`` (where asked for), to make
    choices on, so that the test images score the chosen setting once.
    """

    train: Tensor
    test: Tensor
    transform: Callable[[Tensor], Tensor] | None
    source: str
    validation: Tensor | None = None


def load_experiment_data(exp: ImageExperiment | Any, validation_images: int = 0) -> ExperimentData:
    """Load the experiment's splits (subsets if asked), test set fixed, train augmentation set.

    ``validation_images`` > 0 also holds out that many training-split images that the training
    subset leaves out (:func:`~mrvae.data.images.held_out`; Omniglot's binarised once, with the
    experiment's seed), as :attr:`ExperimentData.validation`.

    ``exp`` is an :class:`ImageExperiment` or any experiment with its ``dataset``,
    ``train_images``, ``test_images`` and ``seed`` (e.g. a hierarchical-VAE panel's).

    Omniglot's training images stay grey and are re-binarised every batch
    (:func:`~mrvae.data.images.dynamic_binarize`); its test set is binarised once.
    Raises :class:`~mrvae.data.DatasetNotFoundError` (with how to get the files) if absent.
    """
    if isinstance(validation_images, bool) or not isinstance(validation_images, int) or validation_images < 0:
        raise ValueError(f"validation_images must be an int >= 0, got {validation_images!r}")
    full_train = load_dataset(exp.dataset, "train")
    test_data = load_dataset(exp.dataset, "test")
    splits = (("train_images", "training", len(full_train)), ("test_images", "test", len(test_data)))
    for field_name, split, size in splits:
        asked = getattr(exp, field_name)
        if asked is not None and asked > size:  # would silently use the whole split and record the number asked
            raise ValueError(f"{exp.dataset}: {field_name}={asked} exceeds the {split} split's {size:,} images; pass "
                             f"{field_name} <= {size} or None for the whole split (command line: "
                             f"--{field_name.replace('_', '-')})")
    train_data = full_train
    if exp.train_images is not None and exp.train_images < len(full_train):
        train_data = subset(full_train, exp.train_images, seed=exp.seed)
    if exp.test_images is not None and exp.test_images < len(test_data):
        test_data = subset(test_data, exp.test_images, seed=exp.seed)
    transform = dynamic_binarize if exp.dataset == "omniglot" else None
    source = f"train: {train_data.source} | test: {test_data.source}"
    validation = None
    if validation_images:
        if len(train_data) == len(full_train):
            raise ValueError(f"{exp.dataset}: the experiment trains on the whole training split, so no image is left "
                             f"to validate on; set train_images below {len(full_train)} or pass validation_images=0")
        held = held_out(full_train, len(train_data), validation_images, seed=exp.seed)
        validation = held.images
        if exp.dataset == "omniglot":  # like its test set: binarised once
            validation = dynamic_binarize(validation, torch.Generator().manual_seed(exp.seed))
        source += f" | validation: {held.source}"
    return ExperimentData(train_data.images, test_data.images, transform, source, validation)


def _device(device: torch.device | str | None) -> torch.device:
    return torch.device(device) if device is not None else torch.device("cpu")


def sweep_model(seed: int, build: Callable[[], M], position: int = 0) -> M:
    """The model at ``position`` of a sweep, initialised by the book's one seeding rule.

    ``torch.manual_seed(seed)``, then the sweep's models are drawn in the order of its whole β
    grid: each β-VAE starts from its own weights, as separate runs with their own seeds would,
    and a model is the same whether or not the others are trained. Training then reseeds with
    the same seed (:attr:`~mrvae.training.TrainConfig.seed`), so every model of a sweep sees the
    same batches and noise. An MR-VAE is drawn at position 0, so where its gates are added to
    the built network (:func:`mrvae.convert`) it starts from the first β-VAE's weights.
    """
    if isinstance(position, bool) or not isinstance(position, int) or position < 0:
        raise ValueError(f"position must be an int >= 0 (the model's place in its sweep's β grid), got {position!r}")
    torch.manual_seed(seed)
    for _ in range(position):
        build()
    return build()


def spec_digest(spec: Any) -> str:
    """8 hex digits of a hash of ``spec`` (JSON-able: dicts, lists, numbers, strings), for folder names."""
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:8]


def mr_vae_checkpoint(exp: ImageExperiment, beta_range: BetaRange, placement: GatePlacement, run_dir: Path) -> Path:
    """The folder :func:`fit_mr_vae` checkpoints one MR-VAE variant in: the β range and gates for
    people, then a hash of every setting of the variant, so two variants never share a folder
    (where they did, the checkpoint's fingerprint would refuse the second instead of training it)."""
    spec = {"beta_range": [beta_range.low, beta_range.high], "placement": dataclasses.asdict(placement),
            "hyper_lr_multiplier": exp.hyper_lr_multiplier}
    readable = f"{beta_range.low:g}-{beta_range.high:g}_{placement.encoder_gate}-{placement.decoder_gate}"
    return run_dir / exp.key / f"mrvae_{readable}_{spec_digest(spec)}"


def fit_mr_vae(
    exp: ImageExperiment,
    data: ExperimentData,
    *,
    beta_range: BetaRange = PAPER_BETA_RANGE,
    placement: GatePlacement | None = None,
    run_dir: Path | None = None,
    device: torch.device | str | None = None,
    log: Callable[[str], None] = print,
    on_epoch: Callable[[int, VAE], None] | None = None,
    progress: bool | None = None,
    sync_batchnorm: bool = False,
    load_finished: bool = False,
) -> tuple[VAE, TrainResult]:
    """Train (or resume from ``run_dir``) one MR-VAE with ``log β ~ U[log a, log b]`` per example.

    ``on_epoch(epoch, model)`` runs after every epoch trained here (see :func:`mrvae.train`);
    ``load_finished`` loads the run another process finished under ``run_dir`` instead.
    """
    placement = placement or GatePlacement()
    model = sweep_model(exp.seed, lambda: build_mr_vae(exp.architecture(), likelihood_for(exp.dataset), beta_range,
                                                       placement).to(_device(device)))
    checkpoint = mr_vae_checkpoint(exp, beta_range, placement, run_dir) if run_dir is not None else None
    result = train(model, data.train, MultiRateBeta(beta_range.low, beta_range.high), exp.train_config(),
                   checkpoint_dir=checkpoint, transform=data.transform, log=log, on_epoch=on_epoch, progress=progress,
                   sync_batchnorm=sync_batchnorm, load_finished=load_finished)
    return model, result


def _local_runner(workers: int | None, device: torch.device | str | None, sync_batchnorm: bool) -> Runner:
    runner = runner_for(workers, device)
    if sync_batchnorm and not isinstance(runner, InProcess):
        raise ValueError("workers trains side by side on one machine's cores; with sync_batchnorm "
                         "(under torchrun) leave workers=None")
    return runner


def fit_beta_vaes(
    exp: ImageExperiment,
    data: ExperimentData,
    betas: list[float],
    *,
    annealed: bool,
    batched: bool = False,
    run_dir: Path | None = None,
    device: torch.device | str | None = None,
    log: Callable[[str], None] = print,
    progress: bool | None = None,
    sync_batchnorm: bool = False,
    workers: int | None = None,
    members: Sequence[int] | None = None,
    load_finished: bool = False,
) -> dict[float, VAE]:
    """Train (or resume from ``run_dir``) one β-VAE per β; returns ``{β: model}``.

    ``members``: train only these positions of ``betas`` (default: all); a member is the same
    model, and finds the same checkpoint, whether or not the others are trained.

    Each model starts from its own weights, drawn after seeding with ``exp.seed`` in the order of
    ``betas``, and trains with that seed's batches and noise (:func:`sweep_model`, the book's one
    seeding rule). ``batched=True`` trains them as one vmapped model
    (:func:`mrvae.training.sweep.train_sweep`), which gives the same models (tested) and pays off on a
    GPU; on a CPU, sequential runs were faster for conv nets (``scripts/benchmark_sweep.py``).
    ``workers`` (CPU only) trains each model on one thread, that many side by side
    (:func:`mrvae.training.pool.run_jobs`); the models then do not depend on ``workers``.
    ``annealed`` gives each a linear KL warm-up over ``exp.kl_warmup_fraction`` of training.
    ``load_finished`` loads the runs other processes finished under ``run_dir`` instead.
    """
    if not betas:
        raise ValueError("betas is empty; pass e.g. baseline_betas()")
    chosen = _members(betas, members)
    if batched and len(chosen) != len(betas):
        raise ValueError("a batched sweep trains every member; pass members=None or batched=False")
    if batched and (load_finished or workers is not None):
        raise ValueError("a batched sweep trains as one model in this process; pass batched=False to train "
                         "with workers or to load runs other processes finished")
    if batched:
        folder = _beta_vae_folder(exp, run_dir, annealed) if run_dir is not None else None
        schedules = _beta_schedules(exp, data, betas, annealed)
        arch, likelihood, target = exp.architecture(), likelihood_for(exp.dataset), _device(device)
        result = train_sweep(lambda: build_vae(arch, likelihood).to(target), data.train, schedules,
                             exp.train_config(), transform=data.transform, checkpoint_dir=folder, log=log,
                             progress=progress)
        return dict(zip(betas, result.models, strict=True))
    runner = _local_runner(workers, device, sync_batchnorm)
    models = runner.run(
        lambda root: beta_vae_jobs(exp, data, betas, annealed=annealed, run_dir=root, device=device, members=chosen),
        lambda root, finished: _train_beta_vaes(exp, data, betas, annealed, root, device, chosen, progress=progress,
                                                sync_batchnorm=sync_batchnorm,
                                                load_finished=finished or load_finished),
        run_dir=run_dir)
    log(f"trained {len(chosen)} β-VAEs ({'annealed' if annealed else 'constant'} β) on {exp.tag}")
    return dict(zip((betas[i] for i in chosen), models, strict=True))


def _members(betas: Sequence[float], members: Sequence[int] | None) -> list[int]:
    """The positions of ``betas`` to train, checked: distinct, in range, in order."""
    if members is None:
        return list(range(len(betas)))
    chosen = sorted(set(members))
    if not chosen or len(chosen) != len(members) or chosen[0] < 0 or chosen[-1] >= len(betas):
        raise ValueError(f"members must be distinct positions in range(len(betas)) = range({len(betas)}), "
                         f"got {list(members)}")
    return chosen


def _beta_vae_folder(exp: ImageExperiment, run_dir: Path, annealed: bool) -> Path:
    return run_dir / exp.key / ("beta_vaes_annealed" if annealed else "beta_vaes_constant")


def _beta_schedules(exp: ImageExperiment, data: ExperimentData, betas: Sequence[float],
                    annealed: bool) -> list[AnnealedBeta | ConstantBeta]:
    warmup = exp.kl_warmup_steps(data.train.shape[0])
    return [AnnealedBeta(b, warmup) if annealed else ConstantBeta(b) for b in betas]


def _train_beta_vaes(exp: ImageExperiment, data: ExperimentData, betas: Sequence[float], annealed: bool,
                     run_dir: Path | None, device: torch.device | str | None, indices: Iterable[int], *,
                     progress: bool | None = None, sync_batchnorm: bool = False,
                     load_finished: bool = False) -> list[VAE]:
    """The sweep's models at the positions ``indices``, in that order, each trained (or loaded
    from its checkpoint under ``run_dir``)."""
    schedules = _beta_schedules(exp, data, betas, annealed)
    arch, likelihood, target = exp.architecture(), likelihood_for(exp.dataset), _device(device)
    folder = _beta_vae_folder(exp, run_dir, annealed) if run_dir is not None else None
    models = []
    for index in indices:
        model = sweep_model(exp.seed, lambda: build_vae(arch, likelihood).to(target), index)
        checkpoint = folder / f"beta_{schedules[index].value:.6g}" if folder is not None else None
        train(model, data.train, schedules[index], exp.train_config(), checkpoint_dir=checkpoint,
              transform=data.transform, log=_quiet, progress=progress, sync_batchnorm=sync_batchnorm,
              load_finished=load_finished)
        models.append(model)
    return models


def _beta_vae_job(exp: ImageExperiment, data: ExperimentData, betas: Sequence[float], annealed: bool,
                  run_dir: Path, device: torch.device | str | None, index: int) -> None:
    """A :func:`~mrvae.training.pool.run_jobs` job: train one β-VAE of a sweep into its checkpoint."""
    _train_beta_vaes(exp, data, betas, annealed, run_dir, device, [index], progress=False)


def _mr_vae_job(exp: ImageExperiment, data: ExperimentData, beta_range: BetaRange, placement: GatePlacement,
                run_dir: Path, device: torch.device | str | None) -> None:
    """A :func:`~mrvae.training.pool.run_jobs` job: train one MR-VAE into its checkpoint."""
    fit_mr_vae(exp, data, beta_range=beta_range, placement=placement, run_dir=run_dir, device=device, log=_quiet,
               progress=False)


def beta_vae_jobs(exp: ImageExperiment, data: ExperimentData, betas: Sequence[float], *, annealed: bool,
                  run_dir: Path, device: torch.device | str | None = None,
                  members: Sequence[int] | None = None) -> list[Callable[[], None]]:
    """A sweep's trainings (its ``members``, default all) as :func:`~mrvae.training.pool.run_jobs`
    jobs, one per β, each into its checkpoint under ``run_dir``; :func:`fit_beta_vaes` then loads them."""
    return [partial(_beta_vae_job, exp, data, betas, annealed, run_dir, device, i) for i in _members(betas, members)]


def mr_vae_job(exp: ImageExperiment, data: ExperimentData, beta_range: BetaRange = PAPER_BETA_RANGE,
               placement: GatePlacement | None = None, *, run_dir: Path,
               device: torch.device | str | None = None) -> Callable[[], None]:
    """One MR-VAE's training as a :func:`~mrvae.training.pool.run_jobs` job, into its checkpoint
    under ``run_dir``; :func:`fit_mr_vae` then loads it."""
    return partial(_mr_vae_job, exp, data, beta_range, placement or GatePlacement(), run_dir, device)


def fit_mr_vaes(
    exp: ImageExperiment,
    data: ExperimentData,
    variants: Sequence[tuple[BetaRange, GatePlacement | None]],
    *,
    run_dir: Path | None = None,
    device: torch.device | str | None = None,
    workers: int | None = None,
) -> list[VAE]:
    """:func:`fit_mr_vae` for each ``(beta_range, placement)``, in order; with ``workers`` (CPU
    only), each trains on one thread, that many side by side. A variant listed twice is
    trained once (``None`` is the default placement, so it is the same variant as ``GatePlacement()``)."""
    return fit_mr_vaes_on_panels([(exp, data)], variants, run_dir=run_dir, device=device, workers=workers)[0]


def fit_mr_vaes_on_panels(
    panels: Sequence[tuple[ImageExperiment, ExperimentData]],
    variants: Sequence[tuple[BetaRange, GatePlacement | None]],
    *,
    run_dir: Path | None = None,
    device: torch.device | str | None = None,
    workers: int | None = None,
) -> list[list[VAE]]:
    """:func:`fit_mr_vaes` on each ``(experiment, data)`` panel (e.g. one panel at several seeds),
    all trained side by side in one pool: no core waits for one panel's last model before the
    next panel's start. Returns one list of models per panel, in ``variants`` order."""
    variants = [(r, p or GatePlacement()) for r, p in variants]
    return _local_runner(workers, device, False).run(
        lambda root: [mr_vae_job(exp, data, r, p, run_dir=root, device=device)
                      for exp, data in panels for r, p in dict.fromkeys(variants)],
        lambda root, finished: [[fit_mr_vae(exp, data, beta_range=r, placement=p, run_dir=root, device=device,
                                            log=_quiet, load_finished=finished)[0]
                                 for r, p in variants] for exp, data in panels],
        run_dir=run_dir)


#: Positions of :func:`baseline_betas` a sweep trains; ``None`` for all.
Members = list[int] | None

_28 = ("binary_mnist", "omniglot")


