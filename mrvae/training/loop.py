"""The training loop: every model in the package trains through :func:`fit`.

:func:`train` fits one β-VAE or MR-VAE (Algorithm 1); :func:`mrvae.training.train_sweep`
fits N β-VAEs at once and :func:`mrvae.training.train_population` a linear VAE on its exact
expected objective. They differ only in what a step computes (a *trainee*) and where its
batches come from; seeding, non-finite checks, checkpoints, histories and logging are this
module's, once, and the optimiser and its schedule :mod:`mrvae.training.optim`'s. The settings
are :class:`~mrvae.training.config.TrainConfig`; :mod:`mrvae.training.inputs` checks what a
trainer is given.

Data are an in-memory tensor; batches are index slices of one permutation per epoch, so the
hot path has no per-sample Python. All randomness (shuffling, β samples, reparameterisation
noise) comes from torch's global generators, whose states are checkpointed, so a resumed run
equals an uninterrupted one on CPU.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, Protocol

import torch
from torch import Tensor, nn
from torch.nn.parallel import DistributedDataParallel

from mrvae._validate import check_data, describe
from mrvae.hyper.gates import BetaRange, trusted_betas
from mrvae.metrics.rate_distortion import _evaluate
from mrvae.models.base import VAE
from mrvae.training.checkpoints import Checkpoint, fingerprint
from mrvae.training.config import NonFiniteLossError, TrainConfig, TrainResult
from mrvae.training.distributed import Replica, agree_on_start, all_ranks_finite, sum_over_ranks
from mrvae.training.inputs import check_data_parallel, check_trainable, noise_shape
from mrvae.training.optim import (
    LearningRateFactor,
    _Divergence,
    _gradient_clipper,
    gradients_finite,
    host_check_interval,
    make_optimizer,
    parameter_groups,
)
from mrvae.training.progress import Progress, progress_wanted
from mrvae.training.schedules import BetaSchedule, MultiRateBeta

CHECKPOINT_NAME = "checkpoint.pt"


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
    checkpoint.check_finished(start_epoch, config.epochs)
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
    load_finished: bool = False,
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
        load_finished: load the finished run in ``checkpoint_dir`` (trained by another process,
            e.g. :func:`mrvae.training.pool.run_jobs`) and train nothing.

    Raises:
        NonFiniteLossError: the loss became NaN/inf; the model keeps its last finite state.
        ValueError: bad data for the likelihood, or a checkpoint from different settings.
        CheckpointError: with ``load_finished``, no finished run in ``checkpoint_dir``.
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
    checkpoint = Checkpoint(checkpoint_dir, CHECKPOINT_NAME, settings, load_finished=load_finished)
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
