"""The training loop: every model in the package trains through :func:`fit`.

:func:`train` fits one β-VAE or MR-VAE (Algorithm 1); :func:`mrvae.training.train_sweep`
fits N β-VAEs at once and :func:`mrvae.training.train_population` a linear VAE on its exact
expected objective. They differ only in what a step computes (a *trainee*) and where its
batches come from; seeding, Adam groups, learning-rate schedule, non-finite checks,
checkpoints, histories and logging are this module's, once.

Data are an in-memory tensor; batches are index slices of one permutation per epoch, so the
hot path has no per-sample Python. All randomness (shuffling, β samples, reparameterisation
noise) comes from torch's global generators, whose states are checkpointed, so a resumed run
equals an uninterrupted one on CPU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, NoReturn, Protocol

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from mrvae._validate import check_data, check_flag, check_integer, check_model, check_real, describe
from mrvae.hyper.gates import BetaRange, trusted_betas
from mrvae.hyper.layers import beta_context, beta_gates, hyper_parameters
from mrvae.metrics.rate_distortion import _evaluate
from mrvae.models.base import VAE
from mrvae.training.checkpoints import Checkpoint, fingerprint
from mrvae.training.distributed import Replica, agree_on_start, all_ranks_finite, sum_over_ranks
from mrvae.training.pool import check_collected
from mrvae.training.progress import Progress, progress_wanted
from mrvae.training.schedules import AnnealedBeta, BetaSchedule, ConstantBeta, MultiRateBeta

#: Chosen by measurement (the book's "Learning the β response" study): with gates that start
#: β-independent (``init="open"``), a 30× faster learning rate for ``w`` and ``c`` lets them
#: learn the response within a thousand steps without hurting the final curve; 100× did.
DEFAULT_HYPER_LR_MULTIPLIER = 30.0


#: Optimisers :func:`fit` can build: Adam for the paper's image, linear and text models,
#: Adamax for its NVAE-style hierarchical VAEs (Vahdat & Kautz 2020).
OPTIMIZERS: tuple[str, ...] = ("adam", "adamax")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings; β comes from a separate :data:`BetaSchedule`."""

    epochs: int = 10
    batch_size: int = 128
    lr: float = 1e-3
    seed: int = 0
    lr_warmup_epochs: int = 0
    cosine_decay: bool = False
    log_lines: int = 5
    #: The gates' ``w`` and ``c`` train at ``lr * hyper_lr_multiplier`` (their own Adam group).
    hyper_lr_multiplier: float = DEFAULT_HYPER_LR_MULTIPLIER
    #: ``"adam"`` or ``"adamax"`` (:data:`OPTIMIZERS`).
    optimizer: Literal["adam", "adamax"] = "adam"
    #: L2 penalty coefficient added to the gradients (PyTorch's ``weight_decay``) of every parameter.
    weight_decay: float = 0.0
    #: The optimiser's ε (PyTorch's default for Adam and Adamax; NVAE's Adamax uses 1e-3).
    eps: float = 1e-8
    #: With ``n > 0``, multiply the learning rate by ``lr_plateau_factor`` once the validation
    #: loss has not improved for ``n`` epochs in a row (the text VAE's recipe, Appendix C); then
    #: wait ``lr_plateau_cooldown`` epochs before counting again. Needs ``validation=`` data.
    lr_plateau_patience: int = 0
    lr_plateau_factor: float = 0.5
    lr_plateau_cooldown: int = 0
    #: With a value, rescale each step's gradient to at most this global L2 norm (the authors'
    #: text VAE clips at 5.0, as LSTM training commonly does). ``None``: no clipping.
    grad_clip_norm: float | None = None

    def __post_init__(self) -> None:
        # Numbers may arrive as numpy or 0-d torch scalars: stored as Python numbers, so that
        # checkpoint fingerprints and JSON provenance read the same whatever the caller passed.
        def store(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        for name, minimum in (("epochs", 1), ("batch_size", 1), ("seed", 0), ("lr_warmup_epochs", 0),
                              ("log_lines", 0), ("lr_plateau_patience", 0), ("lr_plateau_cooldown", 0)):
            store(name, check_integer(getattr(self, name), f"TrainConfig.{name}", minimum=minimum))
        store("lr", check_real(self.lr, "TrainConfig.lr", minimum=0.0, exclusive=True, example="1e-3"))
        store("cosine_decay", check_flag(self.cosine_decay, "TrainConfig.cosine_decay"))
        store("hyper_lr_multiplier", check_real(self.hyper_lr_multiplier, "TrainConfig.hyper_lr_multiplier",
                                                minimum=0.0, exclusive=True, example="30"))
        if not isinstance(self.optimizer, str) or self.optimizer not in OPTIMIZERS:
            raise ValueError(f"TrainConfig.optimizer must be one of {list(OPTIMIZERS)}, got {self.optimizer!r}")
        store("weight_decay", check_real(self.weight_decay, "TrainConfig.weight_decay", minimum=0.0))
        store("eps", check_real(self.eps, "TrainConfig.eps", minimum=0.0, exclusive=True, example="1e-8"))
        store("lr_plateau_factor", check_real(self.lr_plateau_factor, "TrainConfig.lr_plateau_factor",
                                              minimum=0.0, exclusive=True, maximum=1.0, below=True, example="0.5"))
        if self.grad_clip_norm is not None:
            store("grad_clip_norm", check_real(self.grad_clip_norm, "TrainConfig.grad_clip_norm", minimum=0.0,
                                               exclusive=True, example="5.0 (or None: no clipping)"))


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or inf; the model keeps its last finite parameters."""


@dataclass
class TrainResult:
    history: list[dict[str, float]] = field(default_factory=list)
    seconds: float = 0.0
    resumed_from_epoch: int = 0

    @property
    def final(self) -> dict[str, float]:
        return self.history[-1]


CHECKPOINT_NAME = "checkpoint.pt"

#: Steps between host reads of the non-finite flag on an accelerator. A read waits for the
#: device to finish, so it is rare; in between, a non-finite step and every step after it are
#: skipped on the device (fused Adam's ``found_inf``), so the parameters stay those from before
#: the first bad step. On a CPU the read costs nothing and happens every step.
ACCELERATOR_CHECK_EVERY = 50


def host_check_interval(device: torch.device, fused: bool = True) -> int:
    """Steps between host reads of the non-finite flag (see :data:`ACCELERATOR_CHECK_EVERY`).

    Every step without a fused optimiser: only a fused one can skip a bad step on the device.
    """
    return 1 if device.type == "cpu" or not fused else ACCELERATOR_CHECK_EVERY


#: Devices with a fused Adam: one kernel updates every parameter. On a CPU PyTorch's default
#: Adam loops over the parameters in Python, which an MR-VAE's many small gate tensors make
#: several per cent slower than the β-VAE's step; fused, both pay the same.
FUSED_ADAM_DEVICES = ("cpu", "cuda")


def adam(params: Any, device: torch.device, weight_decay: float = 0.0, eps: float = 1e-8) -> torch.optim.Adam:
    """Adam as every trainer here builds it: fused where the device has it (see
    :data:`FUSED_ADAM_DEVICES`), which also lets the device skip a non-finite step."""
    return torch.optim.Adam(params, fused=True if device.type in FUSED_ADAM_DEVICES else None,
                            weight_decay=weight_decay, eps=eps)


def make_optimizer(params: Any, config: TrainConfig, device: torch.device) -> torch.optim.Optimizer:
    """The optimiser ``config`` names, over ``params`` (a list of parameter groups)."""
    if config.optimizer == "adamax":
        return torch.optim.Adamax(params, weight_decay=config.weight_decay, eps=config.eps)
    return adam(params, device, config.weight_decay, config.eps)


def gradients_finite(parameters: list[Tensor], models: int = 1) -> Tensor:
    """Whether each model's gradients are finite: ``(models,)`` bool, on the parameters' device.

    With ``models > 1`` every parameter is stacked along a leading model axis (a sweep). Reads
    one norm per tensor (a NaN or inf anywhere makes it non-finite), without a host sync.
    """
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return torch.ones(models, dtype=torch.bool, device=parameters[0].device if parameters else None)
    if models == 1:
        return torch.stack(torch._foreach_norm(grads)).isfinite().all().reshape(1)
    return torch.stack([g.reshape(models, -1).norm(dim=1) for g in grads]).isfinite().all(0)


class _Divergence:
    """Which models' losses were non-finite, and the first such step, kept on the device.

    ``found_inf`` is the flag fused Adam reads to skip its update; it stays set after the first
    bad step, so nothing moves until the host sees the flag and raises.
    """

    def __init__(self, models: int, device: torch.device) -> None:
        self.bad = torch.zeros(models, dtype=torch.bool, device=device)
        self.first_step = torch.full((), -1, dtype=torch.int64, device=device)
        self.found_inf = torch.zeros((), dtype=torch.float32, device=device)

    def record(self, finite: Tensor, step: int) -> None:
        self.bad |= ~finite
        self.first_step.copy_(torch.where((self.first_step < 0) & ~finite.all(), step, self.first_step))
        self.found_inf.copy_(self.bad.any())

    def first(self) -> int | None:
        """The first bad step, read on the host, or None."""
        step = int(self.first_step)
        return None if step < 0 else step


def parameter_groups(model: nn.Module, config: TrainConfig) -> list[dict[str, Any]]:
    """Adam groups: the base weights at ``lr``, the gates at ``lr * hyper_lr_multiplier``."""
    hyper = hyper_parameters(model)
    hyper_ids = {id(p) for p in hyper}
    base = [p for p in model.parameters() if id(p) not in hyper_ids]
    groups: list[dict[str, Any]] = [{"params": base, "lr": config.lr}]
    if hyper:
        groups.append({"params": hyper, "lr": config.lr * config.hyper_lr_multiplier})
    return groups


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


class LearningRateFactor:
    """The learning rate's factor at each step: linear warm-up, then constant or cosine decay,
    times a scale that the plateau rule lowers (see :class:`TrainConfig`).

    ``torch.optim.lr_scheduler.LambdaLR`` checkpoints a callable object's ``__dict__``, so the
    plateau state (all plain numbers) resumes with the scheduler.
    """

    def __init__(self, config: TrainConfig, steps_per_epoch: int) -> None:
        self.configure(config, steps_per_epoch)
        self.scale, self.best, self.bad_epochs, self.cooldown_left = 1.0, math.inf, 0, 0

    def configure(self, config: TrainConfig, steps_per_epoch: int) -> None:
        """Take the schedule from ``config``, keeping the plateau state: after a checkpoint has
        restored both, a run extended to more epochs decays over its new length."""
        self.warmup = config.lr_warmup_epochs * steps_per_epoch
        self.total = config.epochs * steps_per_epoch
        self.cosine = config.cosine_decay
        self.patience, self.factor = config.lr_plateau_patience, config.lr_plateau_factor
        self.cooldown = config.lr_plateau_cooldown

    def __call__(self, step: int) -> float:
        if step < self.warmup:
            return self.scale * (step + 1) / self.warmup
        if self.cosine:
            progress = (step - self.warmup) / max(1, self.total - self.warmup)
            return self.scale * 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
        return self.scale

    def observe(self, validation_loss: float) -> bool:
        """Record an epoch's validation loss; returns whether the learning rate was lowered."""
        if self.patience == 0:
            return False
        if validation_loss < self.best:
            self.best, self.bad_epochs = validation_loss, 0
        elif self.cooldown_left > 0:
            self.cooldown_left -= 1
        else:
            self.bad_epochs += 1
        if self.bad_epochs < self.patience:
            return False
        self.scale *= self.factor
        self.bad_epochs, self.cooldown_left = 0, self.cooldown
        return True


def _log_epochs(epochs: int, lines: int) -> set[int]:
    if lines <= 0:
        return set()
    return {1, epochs} | {max(1, round(i * epochs / lines)) for i in range(1, lines)}


class Trainee(Protocol):
    """What :func:`fit` trains: ``M`` models updated as one (``M = 1`` but for a sweep)."""

    def parameter_groups(self, config: TrainConfig) -> list[dict[str, Any]]:
        """Adam parameter groups."""

    def losses(self, x: Tensor | None, step: int) -> tuple[Tensor, Tensor, Tensor]:
        """Per-example ``loss, rate, distortion`` of every model on batch ``x``: each ``(M, B)``."""

    def state(self) -> dict[str, Any]:
        """What a checkpoint stores to restore the models."""

    def load_state(self, state: dict[str, Any]) -> None:
        """Restore from :meth:`state`."""

    def diverged(self, finite: Tensor, where: str) -> NoReturn:
        """Raise for models whose loss is not finite (``finite (M,)``); ``where`` locates the step."""


class Batches(Protocol):
    """Where a trainee's batches come from; ``examples`` per epoch average the history."""

    examples: int
    steps_per_epoch: int

    def epoch(self) -> Iterator[Tensor | None]:
        """This epoch's batches, in order."""


class ShuffledBatches:
    """Minibatches of an in-memory tensor: one ``randperm`` per epoch, then index slices."""

    def __init__(self, data: Tensor, batch_size: int, transform: Callable[[Tensor], Tensor] | None = None) -> None:
        self.data, self.batch_size, self.transform = data, batch_size, transform
        self.examples = data.shape[0]
        self.steps_per_epoch = math.ceil(self.examples / batch_size)

    def epoch(self) -> Iterator[Tensor]:
        perm = torch.randperm(self.examples).to(self.data.device)
        for i in range(self.steps_per_epoch):
            x = self.data[perm[i * self.batch_size : (i + 1) * self.batch_size]]
            yield x if self.transform is None else self.transform(x)


@dataclass
class FitResult:
    """The time this call trained, and the epoch it resumed from (0 for a fresh run)."""

    seconds: float
    resumed_from_epoch: int


def fit(
    trainee: Trainee,
    batches: Batches,
    config: TrainConfig,
    checkpoint: Checkpoint,
    *,
    device: torch.device,
    histories: list[list[dict[str, float]]],
    describe: Callable[[list[dict[str, float]]], str],
    log: Callable[[str], None] = print,
    on_epoch: Callable[[int], None] | None = None,
    unit: str = "epoch",
    replica: Replica | None = None,
    progress: bool = False,
    validate: Callable[[int], float] | None = None,
) -> FitResult:
    """Adam on ``trainee`` for ``config.epochs`` epochs of ``batches``; resumes ``checkpoint``.

    ``histories`` holds one list per model; each epoch appends that model's training means
    (``epoch``, ``loss``, ``rate``, ``distortion``, ``seconds``), in place, so a caller that
    catches a divergence still has them.

    ``describe`` turns the latest history entry of every model into a progress line;
    ``on_epoch(epoch)`` runs before a fresh run (epoch 0) and after each epoch trained here;
    ``unit`` names an epoch in progress lines (a population "epoch" is one step).

    Under data parallelism (``replica``), ``batches`` yields the global batch on every rank and
    the trainee computes its shard; the objective is scaled so that the gradients DDP averages
    are those of the global batch, histories are summed over ranks, and only rank 0 logs,
    checkpoints and calls ``on_epoch``. ``progress`` shows a bar (:mod:`.progress`) on rank 0.
    ``validate(step)``, after each epoch, returns the validation loss that the plateau rule of
    ``config`` watches (every rank computes the same value, so all lower the rate together).
    """
    if config.lr_plateau_patience and validate is None:
        raise ValueError("TrainConfig.lr_plateau_patience > 0 lowers the learning rate on a validation loss: "
                         "pass validation data (mrvae.train(..., validation=x_valid))")
    main = replica is None or replica.is_main
    if not main:
        log, on_epoch = _quiet, None
    torch.manual_seed(config.seed)
    optimizer = make_optimizer(trainee.parameter_groups(config), config, device)
    fused = bool(optimizer.param_groups[0].get("fused"))
    lr_factor = LearningRateFactor(config, batches.steps_per_epoch)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_factor)
    start_epoch, restored = checkpoint.resume(trainee.load_state, optimizer, scheduler, device, log)
    check_collected(start_epoch, config.epochs, checkpoint.path)
    lr_factor.configure(config, batches.steps_per_epoch)
    for group in optimizer.param_groups:  # a checkpoint from another device carries its own choice
        if "fused" in group:
            group["fused"] = fused
        group["foreach"] = None
    if replica is not None:
        agree_on_start(start_epoch, checkpoint, device)
    for history, saved in zip(histories, restored or [], strict=restored is not None):
        history[:] = saved
    if on_epoch is not None and start_epoch == 0:
        on_epoch(0)
    bar = Progress(config.epochs * batches.steps_per_epoch, start_epoch * batches.steps_per_epoch,
                   enabled=progress and main)
    started = time.perf_counter()
    try:
        with trusted_betas():  # β comes from a validated schedule; see trusted_betas
            _epochs(trainee, batches, config, checkpoint, optimizer, scheduler, histories, start_epoch, device=device,
                    describe=describe, log=log, on_epoch=on_epoch, unit=unit, replica=replica, bar=bar,
                    validate=validate)
    finally:
        bar.close()
    if replica is not None:
        torch.distributed.barrier()  # the last checkpoint is on disk before any rank returns
    return FitResult(time.perf_counter() - started, start_epoch)


def _gradient_clipper(optimizer: torch.optim.Optimizer, max_norm: float | None,
                      models: int) -> Callable[[], None] | None:
    """A call that clips the gradient of all the optimiser's parameters to ``max_norm``.

    One norm over every parameter is right for one model; a sweep stacks several models whose
    norms would mix, so it is refused there. No host sync: PyTorch scales by a clamped factor.
    """
    if max_norm is None:
        return None
    if models != 1:
        raise ValueError(f"TrainConfig.grad_clip_norm clips one model's gradient, but this run trains {models} "
                         "models at once (train_sweep); train them one by one with mrvae.train, or set "
                         "grad_clip_norm=None")
    parameters = [p for group in optimizer.param_groups for p in group["params"]]

    def clip() -> None:
        nn.utils.clip_grad_norm_(parameters, max_norm, foreach=True)

    return clip


def _epochs(trainee: Trainee, batches: Batches, config: TrainConfig, checkpoint: Checkpoint,
            optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler,
            histories: list[list[dict[str, float]]], start_epoch: int, *, device: torch.device,
            describe: Callable[[list[dict[str, float]]], str], log: Callable[[str], None],
            on_epoch: Callable[[int], None] | None, unit: str, replica: Replica | None, bar: Progress,
            validate: Callable[[int], float] | None) -> None:
    main = replica is None or replica.is_main
    log_at = _log_epochs(config.epochs, config.log_lines)
    check_every = host_check_interval(device, bool(optimizer.param_groups[0].get("fused")))
    divergence = _Divergence(len(histories), device)
    if check_every > 1:
        optimizer.found_inf = divergence.found_inf  # type: ignore[attr-defined]
    lr_at: LearningRateFactor = scheduler.lr_lambdas[0]  # type: ignore[attr-defined]
    clip = _gradient_clipper(optimizer, config.grad_clip_norm, len(histories))
    parameters = [p for group in optimizer.param_groups for p in group["params"]]

    def where(step: int) -> str:
        epoch, i = divmod(step, batches.steps_per_epoch)
        step_in_epoch = f", step {i}" if batches.steps_per_epoch > 1 else ""
        return f"at {unit} {epoch + 1}{step_in_epoch} (lr={config.lr * lr_at(step):.3g}){checkpoint.where()}"

    for epoch in range(start_epoch + 1, config.epochs + 1):
        epoch_start = time.perf_counter()
        totals = torch.zeros(len(histories), 3, dtype=torch.float64, device=device)
        for i, x in enumerate(batches.epoch()):
            step = (epoch - 1) * batches.steps_per_epoch + i
            loss, rate, distortion = trainee.losses(x, step)
            if replica is None:
                per_model_loss = loss.mean(dim=1)  # (M,)
            else:  # DDP averages over ranks: this rank's sum over the global batch size, times W
                assert x is not None
                per_model_loss = loss.sum(dim=1) * (replica.world_size / x.shape[0])
            finite = all_ranks_finite(torch.isfinite(per_model_loss), replica)
            if check_every == 1:
                if not bool(finite.all()):
                    trainee.diverged(finite, where(step))
            else:
                divergence.record(finite, step)
            optimizer.zero_grad(set_to_none=True)
            # Model m's parameters only enter term m, so the sum's gradient is M separate ones.
            per_model_loss.sum().backward()
            # A finite loss can still give a non-finite gradient (e.g. at a gate's edge); refusing
            # that step too is what keeps the promise that a diverged model holds finite parameters.
            gradients_ok = gradients_finite(parameters, len(histories))
            if check_every == 1:
                if not bool(gradients_ok.all()):
                    trainee.diverged(gradients_ok, where(step) + ", in the gradient")
            else:
                divergence.record(gradients_ok, step)
            if clip is not None:
                clip()
            optimizer.step()
            scheduler.step()
            with torch.no_grad():
                totals += torch.stack([loss.sum(1), rate.sum(1), distortion.sum(1)], 1).double()
            bar.step()
            if check_every > 1 and ((i + 1) % check_every == 0 or i + 1 == batches.steps_per_epoch):
                first = divergence.first()
                if first is not None:
                    trainee.diverged(~divergence.bad, where(first))
        sum_over_ranks(totals, replica)
        seconds = time.perf_counter() - epoch_start
        for history, (loss_mean, rate_mean, distortion_mean) in zip(
                histories, (totals / batches.examples).tolist(), strict=True):
            history.append({"epoch": float(epoch), "loss": loss_mean, "rate": rate_mean,
                            "distortion": distortion_mean, "seconds": seconds})
        bar.epoch([h[-1] for h in histories])
        if validate is not None and lr_at.observe(validate(epoch * batches.steps_per_epoch)):
            log(f"{unit} {epoch}: validation loss has not improved for {config.lr_plateau_patience} "
                f"{unit}s; learning rate x{config.lr_plateau_factor:g}")
        if main:
            checkpoint.save(trainee.state(), optimizer, scheduler, epoch, histories)
        if on_epoch is not None:
            on_epoch(epoch)
        if epoch in log_at:
            log(f"{unit} {epoch}/{config.epochs}  {describe([h[-1] for h in histories])}  ({seconds:.1f} s)")


def _quiet(line: str) -> None:
    del line


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


class OneModel:
    """A single VAE: ``model(x, β)`` with β from the schedule, as :class:`Trainee`.

    With a ``replica`` the model runs inside ``DistributedDataParallel`` on this rank's shard of
    each global batch, with β and noise drawn for the global batch (see
    :mod:`mrvae.training.distributed`).
    """

    def __init__(self, model: VAE, beta: BetaSchedule, device: torch.device, replica: Replica | None = None,
                 noise: tuple[torch.Size, torch.dtype] | None = None) -> None:
        self.model, self.beta, self.device, self.replica, self.noise = model, beta, device, replica, noise
        self.forward: nn.Module = model
        if replica is not None:
            if noise is None:
                raise ValueError("a data-parallel OneModel needs the noise shape (see noise_shape)")
            self.forward = DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None)

    def parameter_groups(self, config: TrainConfig) -> list[dict[str, Any]]:
        return parameter_groups(self.model, config)

    def losses(self, x: Tensor | None, step: int) -> tuple[Tensor, Tensor, Tensor]:
        assert x is not None
        beta = self.beta(step, x.shape[0]).to(self.device)
        if self.replica is None:
            out = self.model(x, beta)
        else:
            assert self.noise is not None
            shape, dtype = self.noise
            # The single-process forward draws exactly this right after β; each rank keeps its slice.
            noise = torch.randn((x.shape[0], *shape), dtype=dtype, device=self.device)
            part = self.replica.shard(x.shape[0])
            out = self.forward(x[part], beta[part], noise=noise[part])
        return out["loss"][None], out["rate"][None], out["distortion"][None]

    def state(self) -> dict[str, Any]:
        return self.model.state_dict()

    def load_state(self, state: dict[str, Any]) -> None:
        self.model.load_state_dict(state)

    def diverged(self, finite: Tensor, where: str) -> NoReturn:
        raise NonFiniteLossError(
            f"non-finite loss or gradient {where}. The model keeps the parameters of the last step whose loss and "
            f"gradient were finite (this step was not applied). Try a lower lr, "
            f"check the data range for the likelihood, or a narrower β range."
        )


#: β values (log-spaced over its range) at which an MR-VAE's validation loss is averaged.
VALIDATION_BETAS = 5


def _validation_loss(model: VAE, data: Tensor, beta: BetaSchedule, config: TrainConfig) -> Callable[[int], float]:
    """``step -> `` the mean validation loss at the β the schedule trains at then."""

    def loss(step: int) -> float:
        if isinstance(beta, MultiRateBeta):
            betas = BetaRange(beta.low, beta.high).grid(VALIDATION_BETAS).tolist()
        else:
            betas = [float(beta(step, 1)[0])]
        # train() checked the validation data once; the private evaluation does not re-read them every epoch.
        total = sum(_evaluate(model, data, b, config.batch_size, config.seed)["loss"] for b in betas)
        return total / len(betas)

    return loss


def train(
    model: VAE,
    data: Tensor,
    beta: BetaSchedule,
    config: TrainConfig,
    *,
    checkpoint_dir: str | Path | None = None,
    transform: Callable[[Tensor], Tensor] | None = None,
    log: Callable[[str], None] = print,
    on_epoch: Callable[[int, Any], None] | None = None,
    sync_batchnorm: bool = False,
    progress: bool | None = None,
    batches: Batches | None = None,
    validation: Tensor | None = None,
) -> TrainResult:
    """Train ``model`` on ``data`` and return per-epoch training means.

    Under ``torchrun`` (after :func:`mrvae.training.distributed.init_from_env`) this is
    data-parallel and equals the single-process run; see :mod:`mrvae.training.distributed`.

    Args:
        model: a :class:`~mrvae.VAE`; its device decides where training runs.
        data: ``(N, *data_shape)`` tensor (moved to the model's device once).
        beta: :class:`ConstantBeta`, :class:`AnnealedBeta` or :class:`MultiRateBeta`.
        config: optimiser and loop settings; ``config.seed`` seeds torch.
        checkpoint_dir: if given, a checkpoint is written there after every epoch and
            an existing one with matching settings is resumed from.
        transform: applied to each batch (e.g. dynamic binarisation); vectorised.
        log: receives at most ``config.log_lines`` progress lines.
        on_epoch: called as ``on_epoch(epoch, model)`` before a fresh run (epoch 0) and after
            each epoch trained (and checkpointed) in this call, e.g. to record a learning curve;
            it must not change the model or the random state (evaluate under
            ``torch.random.fork_rng``).
        sync_batchnorm: under data parallelism, compute BatchNorm statistics over the global
            batch (``torch.nn.SyncBatchNorm``, CUDA only) instead of per rank; this replaces the
            model's BatchNorm layers in place.
        progress: show a progress bar; ``None`` shows one only when stderr is a terminal.
        batches: where the minibatches come from, if not shuffled slices of ``data`` (e.g.
            :class:`mrvae.data.text.BucketedBatches`, which groups sentences of similar length);
            its batches must lie on the model's device. ``data`` is still used for the checks.
        validation: held-out examples whose loss the plateau rule watches
            (``config.lr_plateau_patience``): at the schedule's β, or for an MR-VAE the mean over
            :data:`VALIDATION_BETAS` log-spaced β of its range; evaluated on a forked random state.

    Raises:
        NonFiniteLossError: the loss became NaN/inf; the model keeps its last finite state.
        ValueError: bad data for the likelihood, or a checkpoint from different settings.
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(f"config must be a mrvae.TrainConfig, got {describe(config)}; pass e.g. "
                        f"mrvae.TrainConfig(epochs=10, lr=1e-3)")
    if transform is not None and not callable(transform):
        raise TypeError(f"transform must be a function of a batch, or None, got {describe(transform)}")
    check_trainable(model, data, beta)
    if validation is not None:
        check_data(validation, "validation", model=model)
        model.likelihood.check_data(validation)
    model.likelihood.check_data(data if transform is None else transform(data[:1024]))
    device = next(model.parameters()).device
    settings = fingerprint(model, [beta], config, data=data, transform=transform, validation=validation)
    checkpoint = Checkpoint(checkpoint_dir, CHECKPOINT_NAME, settings)
    replica = Replica.current()
    noise = None
    if replica is not None:
        check_data_parallel(model)
        noise = noise_shape(model, data[:2].to(device))
        if sync_batchnorm:
            if device.type != "cuda":
                raise ValueError("sync_batchnorm=True needs CUDA (torch.nn.SyncBatchNorm); on CPU ranks keep "
                                 "per-rank BatchNorm statistics, so pass sync_batchnorm=False")
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)

    def after_epoch(epoch: int) -> None:
        if on_epoch is not None:
            on_epoch(epoch, model)
        model.train()

    model.train()
    result = TrainResult()
    if batches is None:
        batches = ShuffledBatches(data.to(device), config.batch_size, transform)
    elif replica is not None:
        raise ValueError("custom batches= are not sharded across ranks; train without torchrun, or pass data only")
    validate = None
    if config.lr_plateau_patience:
        if validation is None:
            raise ValueError("TrainConfig.lr_plateau_patience > 0 lowers the learning rate on a validation loss: "
                             "pass validation data, mrvae.train(..., validation=x_valid)")
        validate = _validation_loss(model, validation.to(device), beta, config)
    done = fit(OneModel(model, beta, device, replica, noise), batches, config, checkpoint, device=device,
               histories=[result.history], log=log, on_epoch=after_epoch, replica=replica, validate=validate,
               progress=progress_wanted(progress),
               describe=lambda last: (f"loss {last[0]['loss']:.3f}  rate {last[0]['rate']:.3f}  "
                                      f"distortion {last[0]['distortion']:.3f}"))
    model.eval()
    result.seconds, result.resumed_from_epoch = done.seconds, done.resumed_from_epoch
    return result
