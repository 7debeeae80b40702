"""Figure 5's other model families as book experiments: an NVAE-style hierarchical VAE on the
binary image datasets and the LSTM text VAE on Yahoo Answers.

Each panel trains one MR-VAE with ``log β ~ U[log 0.01, log 10]`` and β-VAE baselines with
the same budget, as the paper does: 4 constant-β β-VAEs at ``logspace(-2, 1, 4)`` for the
hierarchical VAE, and 10 at ``logspace(-2, 1, 10)`` with a constant β and again with KL
annealing for the text VAE. :func:`evaluate_family_panel` then measures it as the conv and
ResNet panels are measured (:class:`~mrvae_companion.panel_result.PanelResult`). Trained models
are cached in ``run_dir``.

>>> exp = family_profile("quick").hierarchical[0]
>>> panel = fit_hierarchical_panel(exp, run_dir=Path("runs/demo"))
>>> result = evaluate_family_panel(panel)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

import torch
from torch import Tensor

from mrvae.data.text import BucketedBatches, TextData, load_yahoo, sequence_lengths
from mrvae.metrics.rate_distortion import evaluate
from mrvae.models.base import VAE
from mrvae.models.hierarchical import (
    PAPER_TRAINING,
    HierarchicalConfig,
    build_hierarchical_mr_vae,
    build_hierarchical_vae,
)
from mrvae.models.text import TextVAEConfig, build_text_mr_vae, build_text_vae
from mrvae.training import (
    DEFAULT_HYPER_LR_MULTIPLIER,
    AnnealedBeta,
    ConstantBeta,
    MultiRateBeta,
    TrainConfig,
    TrainResult,
    train,
)
from mrvae.training.pool import default_workers, discarding_result
from mrvae.training.schedules import BetaSchedule
from mrvae_companion.experiments import (
    BINARY_DATASETS,
    DATA_SHAPES,
    PAPER_BETA_RANGE,
    ExperimentData,
    baseline_betas,
    likelihood_for,
    load_experiment_data,
    spec_digest,
    sweep_model,
    train_config_from,
)
from mrvae_companion.panel_result import PanelResult
from mrvae_companion.profiles import lookup_profile
from mrvae_companion.runner import runner_for

__all__ = [
    "FAMILY_PROFILES", "FamilyPanel", "FamilyProfile", "HierarchicalExperiment", "TextExperiment",
    "evaluate_family_panel", "family_profile", "fit_hierarchical_panel", "fit_text_mr_vae", "fit_text_panel",
    "text_budget_study", "train_family_panels",
]

#: β-VAE baselines per family, as in the paper (Section 5.2).
HIERARCHICAL_BASELINES = 4
TEXT_BASELINES = 10


def _digest(settings: dict[str, Any]) -> str:
    settings.pop("hyper_lr_multiplier")  # an MR-VAE-only setting: the β-VAEs are shared across values
    return spec_digest(settings)


def _mr_vae_folder(exp: Any) -> str:
    """The MR-VAE's folder under ``exp.key``: named by a hash of every setting, its own included."""
    return f"mrvae_{spec_digest(dataclasses.asdict(exp))}"


@dataclass(frozen=True)
class HierarchicalExperiment:
    """One hierarchical-VAE panel: a binary dataset, a network and a training budget.

    Args:
        dataset: ``"binary_mnist"`` or ``"omniglot"`` (Bernoulli decoder, 28×28).
        network: ``"paper"`` (the authors' MNIST/Omniglot NVAE, :meth:`HierarchicalConfig.paper`)
            or ``"quick"`` (:meth:`HierarchicalConfig.quick`).
        channels: if set, the encoder's and decoder's channel count (both).
        train_images, test_images: fixed-seed subset sizes, ``None`` for the whole split.

    The other fields are :class:`~mrvae.training.TrainConfig`'s; the defaults are the authors'
    recipe (:data:`~mrvae.models.hierarchical.PAPER_TRAINING`: Adamax with ε = 1e-3, 400 epochs,
    batch 256, 5 warm-up epochs then cosine decay, weight decay 3e-4; lr 1e-2 from their sweep).
    """

    dataset: str
    network: Literal["paper", "quick"] = "paper"
    channels: int | None = None
    train_images: int | None = None
    test_images: int | None = None
    epochs: int = PAPER_TRAINING.epochs
    batch_size: int = PAPER_TRAINING.batch_size
    lr: float = 1e-2
    optimizer: Literal["adam", "adamax"] = "adamax"
    weight_decay: float = PAPER_TRAINING.weight_decay
    eps: float = PAPER_TRAINING.adamax_eps
    lr_warmup_epochs: int = PAPER_TRAINING.lr_warmup_epochs
    cosine_decay: bool = True
    seed: int = 0
    hyper_lr_multiplier: float = DEFAULT_HYPER_LR_MULTIPLIER

    def __post_init__(self) -> None:
        if self.dataset not in BINARY_DATASETS:
            raise ValueError(f"the hierarchical VAE panels use a binary dataset, one of {list(BINARY_DATASETS)}; "
                             f"got {self.dataset!r}")
        if self.network not in ("paper", "quick"):
            raise ValueError(f"network must be 'paper' or 'quick', got {self.network!r}")
        self.config()  # validates the network settings
        self.train_config()  # and the budget

    @property
    def tag(self) -> str:
        """The panel's name in legends and in ``metrics.response``, e.g. ``binary_mnist-nvae-quick``."""
        width = "" if self.channels is None else f"-c{self.channels}"
        return f"{self.dataset}-nvae-{self.network}{width}"

    @property
    def key(self) -> str:
        """``tag`` plus a hash of every setting: the run-directory name."""
        return f"{self.tag}-{_digest(dataclasses.asdict(self))}"

    def config(self) -> HierarchicalConfig:
        build = HierarchicalConfig.paper if self.network == "paper" else HierarchicalConfig.quick
        changes = {} if self.channels is None else {"encoder_channels": self.channels,
                                                     "decoder_channels": self.channels}
        return build(DATA_SHAPES[self.dataset], **changes)

    def train_config(self) -> TrainConfig:
        return train_config_from(self, log_lines=0)


@dataclass(frozen=True)
class TextExperiment:
    """The Yahoo panel: vocabulary and length limits, network sizes and a training budget.

    The defaults are the paper's (Appendix C; the authors' ``experiments/text`` sweep: Adam,
    batch 32, 100 epochs, lr from {3e-2, ..., 3e-4}, KL annealing over the first 25% of
    training, the learning rate halved when the validation loss has not improved for 2 epochs,
    with the authors' cooldown of 15 epochs, gradients clipped to norm 5). ``max_vocab``/``max_length``
    limit the vocabulary and truncate documents; ``test_documents`` is a fixed-seed subset of the test split
    (``None``: all 10,000).
    """

    max_vocab: int | None = None
    max_length: int | None = None
    embed_dim: int = 256
    hidden_dim: int = 256
    latent_dim: int = 32
    test_documents: int | None = None
    epochs: int = 100
    batch_size: int = 32
    lr: float = 1e-3
    lr_warmup_epochs: int = 0
    cosine_decay: bool = False
    lr_plateau_patience: int = 2
    lr_plateau_cooldown: int = 15
    grad_clip_norm: float | None = 5.0
    kl_warmup_fraction: float = 0.25
    seed: int = 0
    hyper_lr_multiplier: float = DEFAULT_HYPER_LR_MULTIPLIER

    def __post_init__(self) -> None:
        if not 0.0 < self.kl_warmup_fraction <= 1.0:
            raise ValueError(f"kl_warmup_fraction must lie in (0, 1], got {self.kl_warmup_fraction}")
        if self.test_documents is not None and self.test_documents < 2:
            raise ValueError(f"test_documents must be None (all) or >= 2, got {self.test_documents}")
        self.train_config()

    @property
    def tag(self) -> str:
        """``yahoo-lstm`` plus the network's size when it is not the paper's."""
        sizes = (self.embed_dim, self.hidden_dim, self.latent_dim)
        return "yahoo-lstm" if sizes == (256, 256, 32) else f"yahoo-lstm-e{sizes[0]}h{sizes[1]}z{sizes[2]}"

    @property
    def key(self) -> str:
        return f"{self.tag}-{_digest(dataclasses.asdict(self))}"

    def load_data(self) -> TextData:
        """Yahoo with this experiment's vocabulary and length limits (see :func:`load_yahoo`)."""
        return load_yahoo(max_vocab=self.max_vocab, max_length=self.max_length, seed=self.seed)

    def config(self, vocab_size: int) -> TextVAEConfig:
        return TextVAEConfig(vocab_size=vocab_size, embed_dim=self.embed_dim, hidden_dim=self.hidden_dim,
                             latent_dim=self.latent_dim)

    def train_config(self) -> TrainConfig:
        return train_config_from(self, log_lines=0)


@dataclass(frozen=True)
class FamilyProfile:
    """How big the other families' notebook runs: its hierarchical panels and its text panel."""

    hierarchical: tuple[HierarchicalExperiment, ...]
    text: TextExperiment | None
    #: Importance samples and test documents of the text metrics (He et al.: 500, all).
    iw_samples: int = 500
    text_metric_documents: int | None = None
    #: The text MR-VAE retrained alone at these multiples of the text budget (an empty tuple:
    #: no study), to show whether its rate at small β grows with training.
    text_budget_multipliers: tuple[int, ...] = ()
    #: Train each model on one CPU thread, one per core side by side (as ``ImageProfile.parallel``).
    parallel: bool = False
    #: The text panel's KL-annealed sweep trains every k-th β of its constant-β sweep (3: the
    #: decades 0.01, 0.1, 1 and 10, where the text metrics are read).
    text_annealed_every: int = 1

    def __post_init__(self) -> None:
        every = self.text_annealed_every
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"text_annealed_every must be an int >= 1, got {every!r}")

    def describe(self) -> dict[str, Any]:
        return {"hierarchical": [dataclasses.asdict(e) for e in self.hierarchical],
                "text": None if self.text is None else dataclasses.asdict(self.text),
                "iw_samples": self.iw_samples, "text_metric_documents": self.text_metric_documents,
                "text_budget_multipliers": list(self.text_budget_multipliers), "parallel": self.parallel,
                "text_annealed_every": self.text_annealed_every}


_QUICK_NVAE = {"network": "quick", "channels": 4, "train_images": 4800, "test_images": 1000, "epochs": 4,
               "batch_size": 64, "lr_warmup_epochs": 1}

#: ``quick``: CI on 2 CPU cores (each model about 300 steps). ``cpu``: the authors' hierarchical
#: network on the full binary-MNIST training set for one epoch (782 steps at batch 64; measured
#: 1.7 s per step on 2 cores, so about 2 hours for the panel's 5 models), and the paper's text
#: network with a 10k vocabulary for 2 epochs (564 steps at batch 32; 1.1 s per step, so about
#: 3.5 hours for 21 models). ``paper``: the paper's set-up (a GPU).
FAMILY_PROFILES: dict[str, FamilyProfile] = {
    # The hierarchical nets: 4 channels, groups [2, 2] of 4 channels; 4,800 images, batch 64, 4
    # epochs = 300 Adamax steps. The text net: embedding 32, hidden 64, 2,000 words, documents
    # cut to 30 words; batch 64, 2 epochs = 282 Adam steps at 3e-3.
    "quick": FamilyProfile(
        hierarchical=tuple(HierarchicalExperiment(d, **_QUICK_NVAE) for d in BINARY_DATASETS),  # type: ignore[arg-type]
        text=TextExperiment(max_vocab=2000, max_length=30, embed_dim=32, hidden_dim=64, test_documents=1000,
                            epochs=2, batch_size=64, lr=3e-3, cosine_decay=True, lr_plateau_patience=0),
        iw_samples=10, text_metric_documents=250, text_budget_multipliers=(1, 2, 4), parallel=True,
        text_annealed_every=3),
    "cpu": FamilyProfile(
        hierarchical=(HierarchicalExperiment("binary_mnist", epochs=1, batch_size=64, lr_warmup_epochs=0),),
        text=TextExperiment(max_vocab=10_000, epochs=2, cosine_decay=True, lr_plateau_patience=0),
        iw_samples=100, text_metric_documents=1000),
    "paper": FamilyProfile(
        hierarchical=tuple(HierarchicalExperiment(d) for d in BINARY_DATASETS),
        text=TextExperiment()),
}


def family_profile(name: str) -> FamilyProfile:
    """The :class:`FamilyProfile` called ``name``, with an error that lists the choices."""
    return lookup_profile(FAMILY_PROFILES, name)


@dataclass
class FamilyPanel:
    """A trained panel: its MR-VAE, β-VAE sweeps (``annealed`` None if the family has none) and test data."""

    tag: str
    test: Tensor
    mr_vae: VAE
    constant: dict[float, VAE]
    annealed: dict[float, VAE] | None
    source: str
    parameters: dict[str, int]
    mr_train_seconds: float
    extra: dict[str, Any] = field(default_factory=dict)


def _device(device: torch.device | str | None) -> torch.device:
    return torch.device(device) if device is not None else torch.device("cpu")


def _folder(run_dir: Path | None, key: str, name: str) -> Path | None:
    return None if run_dir is None else run_dir / key / name


def _fit_beta_vae(make: Callable[[], VAE], position: int, schedule: BetaSchedule, data: Tensor, config: TrainConfig,
                  folder: Path | None, **train_kwargs: Any) -> VAE:
    """The β-VAE at ``position`` of its sweep's β grid, initialised by
    :func:`~mrvae_companion.experiments.sweep_model` with the sweep's seed."""
    model = sweep_model(config.seed, make, position)
    checkpoint = None if folder is None else folder / f"beta_{schedule.value:.6g}"
    train(model, data, schedule, config, checkpoint_dir=checkpoint, log=lambda line: None, progress=False,
          **train_kwargs)
    return model


def _parameters(plain: VAE, gated: VAE) -> dict[str, int]:
    return {"beta_vae": sum(p.numel() for p in plain.parameters()),
            "mr_vae": sum(p.numel() for p in gated.parameters())}


def _hierarchical_mr_vae(exp: HierarchicalExperiment, data: ExperimentData, run_dir: Path | None,
                         device: torch.device | str | None, load_finished: bool = False) -> tuple[VAE, TrainResult]:
    mr_vae = sweep_model(exp.seed, lambda: build_hierarchical_mr_vae(exp.config(), likelihood_for(exp.dataset),
                                                                     PAPER_BETA_RANGE).to(_device(device)))
    result = train(mr_vae, data.train, MultiRateBeta(PAPER_BETA_RANGE.low, PAPER_BETA_RANGE.high), exp.train_config(),
                   checkpoint_dir=_folder(run_dir, exp.key, _mr_vae_folder(exp)), transform=data.transform,
                   log=lambda line: None, progress=False, load_finished=load_finished)
    return mr_vae, result


def _hierarchical_beta_vae(exp: HierarchicalExperiment, data: ExperimentData, beta: float, run_dir: Path | None,
                           device: torch.device | str | None, load_finished: bool = False) -> VAE:
    likelihood, target = likelihood_for(exp.dataset), _device(device)
    position = baseline_betas(HIERARCHICAL_BASELINES).index(beta)
    return _fit_beta_vae(lambda: build_hierarchical_vae(exp.config(), likelihood).to(target), position,
                         ConstantBeta(beta), data.train, exp.train_config(),
                         _folder(run_dir, exp.key, "beta_vaes_constant"), transform=data.transform,
                         load_finished=load_finished)


def _text_beta_vae(exp: TextExperiment, data: TextData, beta: float, annealed: bool, run_dir: Path | None,
                   device: torch.device | str | None, load_finished: bool = False) -> VAE:
    target = _device(device)
    train_data, model_config = data.train.to(target), exp.config(len(data.vocab))
    batches = BucketedBatches(train_data, exp.batch_size)
    warmup = max(1, round(exp.kl_warmup_fraction * exp.epochs * batches.steps_per_epoch))
    schedule = AnnealedBeta(beta, warmup) if annealed else ConstantBeta(beta)
    folder = _folder(run_dir, exp.key, "beta_vaes_annealed" if annealed else "beta_vaes_constant")
    position = baseline_betas(TEXT_BASELINES).index(beta)
    return _fit_beta_vae(lambda: build_text_vae(model_config).to(target), position, schedule, train_data,
                         exp.train_config(), folder, batches=batches, validation=data.valid.to(target),
                         load_finished=load_finished)


def _hierarchical_jobs(exp: HierarchicalExperiment, data: ExperimentData, run_dir: Path,
                       device: torch.device | str | None) -> list[Callable[[], None]]:
    return [partial(discarding_result, _hierarchical_mr_vae, exp, data, run_dir, device),
            *(partial(discarding_result, _hierarchical_beta_vae, exp, data, b, run_dir, device)
              for b in baseline_betas(HIERARCHICAL_BASELINES))]


def _text_sweeps(annealed_every: int) -> dict[bool, list[float]]:
    """The text panel's β-VAEs: ``{annealed: betas}``, the annealed sweep at every k-th β."""
    betas = baseline_betas(TEXT_BASELINES)
    return {False: betas, True: betas[::annealed_every]}


def _text_jobs(exp: TextExperiment, data: TextData, run_dir: Path, device: torch.device | str | None,
               annealed_every: int = 1) -> list[Callable[[], None]]:
    return [partial(discarding_result, fit_text_mr_vae, exp, data, run_dir=run_dir, device=device),
            *(partial(discarding_result, _text_beta_vae, exp, data, b, annealed, run_dir, device)
              for annealed, betas in _text_sweeps(annealed_every).items() for b in betas)]


def fit_hierarchical_panel(exp: HierarchicalExperiment, *, run_dir: Path | None = None,
                           device: torch.device | str | None = None, log: Callable[[str], None] = print,
                           load_finished: bool = False) -> FamilyPanel:
    """Train (or load from ``run_dir``) the MR-VAE and the 4 constant-β β-VAEs of one panel;
    ``load_finished`` loads the runs other processes finished there instead."""
    data = load_experiment_data(exp)
    mr_vae, result = _hierarchical_mr_vae(exp, data, run_dir, device, load_finished)
    betas = baseline_betas(HIERARCHICAL_BASELINES)
    constant = {b: _hierarchical_beta_vae(exp, data, b, run_dir, device, load_finished) for b in betas}
    seconds = sum(h["seconds"] for h in result.history)
    log(f"{exp.tag}: 1 MR-VAE and {len(constant)} β-VAEs ready (MR-VAE training took {seconds:.0f} s)")
    return FamilyPanel(exp.tag, data.test.to(_device(device)), mr_vae, constant, None, data.source,
                       _parameters(constant[betas[0]], mr_vae), seconds)


def _sorted_by_length(x: Tensor) -> Tensor:
    """Rows in order of length: evaluation batches then need little padding (means do not change)."""
    return x[torch.sort(sequence_lengths(x), stable=True).indices]


def fit_text_mr_vae(exp: TextExperiment, data: TextData, *, run_dir: Path | None = None,
                    device: torch.device | str | None = None, load_finished: bool = False) -> tuple[VAE, float]:
    """Train (or load from ``run_dir``) the Yahoo MR-VAE alone; returns it and its training seconds."""
    target, config = _device(device), exp.train_config()
    train_data = data.train.to(target)
    mr_vae = sweep_model(exp.seed, lambda: build_text_mr_vae(exp.config(len(data.vocab)), PAPER_BETA_RANGE).to(target))
    result = train(mr_vae, train_data, MultiRateBeta(PAPER_BETA_RANGE.low, PAPER_BETA_RANGE.high), config,
                   checkpoint_dir=_folder(run_dir, exp.key, _mr_vae_folder(exp)), log=lambda line: None, progress=False,
                   batches=BucketedBatches(train_data, exp.batch_size), validation=data.valid.to(target),
                   load_finished=load_finished)
    return mr_vae, sum(h["seconds"] for h in result.history)


def fit_text_panel(exp: TextExperiment, *, data: TextData | None = None, run_dir: Path | None = None,
                   device: torch.device | str | None = None, log: Callable[[str], None] = print,
                   annealed_every: int = 1, load_finished: bool = False) -> FamilyPanel:
    """Train (or load from ``run_dir``) the Yahoo MR-VAE and its 10 + 10 β-VAEs (constant β and
    KL annealing over ``exp.kl_warmup_fraction`` of training; the annealed ones at every
    ``annealed_every``-th β only), on bucketed batches."""
    data = data or exp.load_data()
    target = _device(device)
    mr_vae, seconds = fit_text_mr_vae(exp, data, run_dir=run_dir, device=target, load_finished=load_finished)
    betas = baseline_betas(TEXT_BASELINES)
    sweeps = {annealed: {b: _text_beta_vae(exp, data, b, annealed, run_dir, target, load_finished) for b in chosen}
              for annealed, chosen in _text_sweeps(annealed_every).items()}
    log(f"{exp.tag}: 1 MR-VAE and {sum(map(len, sweeps.values()))} β-VAEs ready (MR-VAE training took "
        f"{seconds:.0f} s)")
    test = data.test
    if exp.test_documents is not None and exp.test_documents < test.shape[0]:
        keep = torch.randperm(test.shape[0], generator=torch.Generator().manual_seed(exp.seed))[:exp.test_documents]
        test = test[keep.sort().values]
    return FamilyPanel(exp.tag, _sorted_by_length(test).to(target), mr_vae, sweeps[False], sweeps[True], data.source,
                       _parameters(sweeps[False][betas[0]], mr_vae), seconds,
                       extra={"vocabulary": len(data.vocab), "train_documents": int(data.train.shape[0])})


def train_family_panels(profile: FamilyProfile, *, text_data: TextData | None = None, run_dir: Path | None = None,
                        device: torch.device | str | None = None,
                        log: Callable[[str], None] = print) -> list[FamilyPanel]:
    """Every panel of ``profile`` (hierarchical ones, then the text one), trained or loaded from
    ``run_dir``. With ``profile.parallel`` on a CPU, all their models first train side by side,
    one thread each (:func:`~mrvae.training.pool.run_jobs`)."""
    if profile.text is not None:
        text_data = text_data or profile.text.load_data()

    def jobs(root: Path) -> list[Callable[[], None]]:
        todo = [job for exp in profile.hierarchical
                for job in _hierarchical_jobs(exp, load_experiment_data(exp), root, device)]
        if profile.text is not None:
            todo += _text_jobs(profile.text, text_data, root, device, profile.text_annealed_every)
        return todo

    def collect(root: Path | None, finished: bool) -> list[FamilyPanel]:
        panels = [fit_hierarchical_panel(exp, run_dir=root, device=device, log=log, load_finished=finished)
                  for exp in profile.hierarchical]
        if profile.text is not None:
            panels.append(fit_text_panel(profile.text, data=text_data, run_dir=root, device=device, log=log,
                                         annealed_every=profile.text_annealed_every, load_finished=finished))
        return panels

    return runner_for(default_workers() if profile.parallel else None, device).run(jobs, collect, run_dir=run_dir,
                                                                                  log=log)


#: Evaluation batch of the text panels: a text VAE's logits are ``(B, T, V)``, so a smaller
#: batch than the image panels' 1,000 keeps them in a few hundred MB.
TEXT_EVAL_BATCH = 250


def text_budget_study(panel: FamilyPanel, exp: TextExperiment, data: TextData, multipliers: Sequence[int], *,
                      beta: float = PAPER_BETA_RANGE.low, run_dir: Path | None = None,
                      device: torch.device | str | None = None) -> list[dict[str, float]]:
    """Does a longer run let the text MR-VAE reach the sweep's high-rate end?

    Retrains the panel's MR-VAE alone for ``exp.epochs × m`` epochs, each ``m`` in
    ``multipliers`` (1 reuses the panel's), and returns per budget its epochs, training
    seconds, and rate and distortion at ``beta`` on the panel's test documents, with its
    *coverage*: that rate over the constant-β β-VAE's at ``beta`` (trained for ``exp.epochs``).
    """
    if beta not in panel.constant:
        raise ValueError(f"beta {beta} is not one of the panel's β-VAEs {sorted(panel.constant)}")
    reference = evaluate(panel.constant[beta], panel.test, beta, batch_size=TEXT_EVAL_BATCH)["rate"]
    rows = []
    for multiplier in multipliers:
        if multiplier < 1:
            raise ValueError(f"budget multipliers must be integers >= 1, got {multiplier}")
        longer = dataclasses.replace(exp, epochs=exp.epochs * multiplier)
        if multiplier == 1:
            model, seconds = panel.mr_vae, panel.mr_train_seconds
        else:
            model, seconds = fit_text_mr_vae(longer, data, run_dir=run_dir, device=device)
        point = evaluate(model, panel.test, beta, batch_size=TEXT_EVAL_BATCH)
        rows.append({"epochs": float(longer.epochs), "train_seconds": seconds, "rate": point["rate"],
                     "distortion": point["distortion"], "coverage": point["rate"] / reference})
    return rows


def evaluate_family_panel(panel: FamilyPanel, *, seed: int = 0) -> PanelResult:
    """:meth:`~mrvae_companion.panel_result.PanelResult.evaluate` for a family panel: the MR-VAE's
    20-point curve, the per-β comparison with each sweep and the response metrics."""
    batch = 1000 if panel.test.is_floating_point() else TEXT_EVAL_BATCH
    return PanelResult.evaluate(panel.mr_vae, panel.constant, panel.annealed, panel.test, source=panel.source,
                                seed=seed, batch_size=batch)
