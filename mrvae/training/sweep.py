"""Train a sweep of N β-VAEs as one batched model (the baselines of paper Sec. 5, Figure 5).

The paper's baseline is "retrain the network for each of 10 log-spaced β" (Eq. 1 once per β),
with a constant β and with KL annealing. Those N runs share architecture, data, optimiser
settings and, when started with the same seed, even the minibatch order and every random draw:
only β differs. :func:`train_sweep` exploits that. It stacks the N models' parameters along a
leading *model axis* (``torch.func.stack_module_state``), evaluates all of them at once with
``torch.vmap`` over ``torch.func.functional_call`` and updates them with one Adam. Adam is
elementwise, so one Adam over stacked ``(N, ...)`` tensors is N independent Adams with the same
hyper-parameters; the learning-rate schedule is the same for all models anyway. Batching pays
where one small model leaves the hardware idle (a GPU); on CPU the work is the same and a
sweep ran at 0.6-1x the speed of sequential runs (``scripts/benchmark_sweep.py``).

Equivalence with :func:`mrvae.train`. With ``noise="shared"`` (the default) the sweep consumes
torch's global generator exactly as one :func:`~mrvae.train` run does: one ``randperm`` per
epoch, then per step the ``transform`` draws and one ``(B, *latent)`` reparameterisation draw,
which every model uses. That is precisely what N sequential ``train(model_i, data, schedule_i,
config)`` calls with the same ``config.seed`` do, so the sweep returns the same models up to
floating-point reassociation in batched kernels (tests check 1e-5). Sharing the draws across
models is the "common random numbers" design: each model on its own sees i.i.d. noise, and the
models differ only by β. ``noise="independent"`` instead gives model ``i`` the ``i``-th slice of
a ``(N, B, *latent)`` draw; no set of :func:`~mrvae.train` calls reproduces that (see
``tests/test_sweep.py`` for the sequential reference it equals).
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NoReturn

import torch
import torch.distributed as dist
from torch import Tensor, nn
from torch.func import functional_call, stack_module_state

from mrvae.models.base import VAE
from mrvae.training.checkpoints import Checkpoint, fingerprint
from mrvae.training.config import NonFiniteLossError, TrainConfig, TrainResult
from mrvae.training.distributed import Replica
from mrvae.training.inputs import noise_shape
from mrvae.training.loop import ShuffledBatches, _quiet, fit
from mrvae.training.progress import progress_wanted
from mrvae.training.schedules import AnnealedBeta, ConstantBeta

__all__ = ["SweepDivergedError", "SweepResult", "SweepSchedule", "train_sweep"]

SweepSchedule = ConstantBeta | AnnealedBeta
NoiseMode = Literal["shared", "independent"]
CHECKPOINT_NAME = "sweep_checkpoint.pt"
_PREFIX = "vae."  # parameter names inside the _Objective wrapper


@dataclass
class SweepResult:
    """N trained β-VAEs and their training histories, index-aligned with ``schedules``.

    ``results[i].history`` has the per-epoch means of model ``i`` in the format of
    :class:`~mrvae.training.TrainResult`; its ``seconds`` entries are the whole sweep's epoch
    time, since the models are trained together.
    """

    models: list[VAE]
    schedules: list[SweepSchedule]
    results: list[TrainResult]
    seconds: float = 0.0
    resumed_from_epoch: int = 0

    @property
    def betas(self) -> list[float]:
        """The final β of each model (the annealing target for :class:`AnnealedBeta`)."""
        return [s.value for s in self.schedules]


class SweepDivergedError(NonFiniteLossError):
    """Some losses became NaN/inf; ``partial`` holds all models at their last finite state."""

    def __init__(self, message: str, diverged: list[int], partial: SweepResult) -> None:
        super().__init__(message)
        self.diverged = diverged
        self.partial = partial


class _Objective(nn.Module):
    """One VAE's Eq. 1 with the noise passed in, so vmap can share or split the draws."""

    def __init__(self, vae: VAE) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, x: Tensor, eps: Tensor, beta: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """``x (B, *data)``, ``eps (B, *latent)``, ``beta (B,)`` → loss, rate, distortion ``(B,)``."""
        out = self.vae._forward(x, beta, eps)
        return out["loss"], out["rate"], out["distortion"]


def _check_schedules(schedules: Sequence[SweepSchedule]) -> list[SweepSchedule]:
    if isinstance(schedules, (ConstantBeta, AnnealedBeta)) or not isinstance(schedules, Sequence):
        raise TypeError(
            "schedules must be a sequence of schedules, e.g. [ConstantBeta(b) for b in betas]"
        )
    if len(schedules) == 0:
        raise ValueError(
            "schedules is empty; pass one ConstantBeta/AnnealedBeta per β-VAE to train"
        )
    for i, schedule in enumerate(schedules):
        if not isinstance(schedule, (ConstantBeta, AnnealedBeta)):
            raise TypeError(
                f"schedules[{i}] is a {type(schedule).__name__}; a sweep trains β-VAEs, so each "
                f"schedule must be ConstantBeta or AnnealedBeta. Train an MR-VAE (MultiRateBeta) "
                f"with mrvae.train instead."
            )
    return list(schedules)


def _build_models(make_model: Callable[[], VAE], n: int, seed: int) -> list[VAE]:
    """``n`` models with independent inits drawn in sequence after ``torch.manual_seed(seed)``."""
    if not callable(make_model):
        raise TypeError("make_model must be a zero-argument callable returning a fresh mrvae.VAE")
    torch.manual_seed(seed)
    models = [make_model() for _ in range(n)]
    reference = models[0]
    if not isinstance(reference, VAE):
        raise TypeError(
            f"make_model() returned a {type(reference).__name__}; it must return an mrvae.VAE"
        )
    shapes = {k: v.shape for k, v in reference.state_dict().items()}
    for i, model in enumerate(models[1:], start=1):
        if model is reference or any(model is m for m in models[:i]):
            raise ValueError(
                "make_model() returned the same instance twice; it must build a new model per call"
            )
        if type(model) is not type(reference):
            raise ValueError(
                f"make_model() built a {type(model).__name__} and a {type(reference).__name__}; "
                f"a sweep needs one architecture"
            )
        other = {k: v.shape for k, v in model.state_dict().items()}
        if other != shapes:
            diff = min(k for k in shapes.keys() | other.keys() if shapes.get(k) != other.get(k))
            raise ValueError(
                f"make_model() built models with different shapes (model 0 vs {i} at {diff!r}: "
                f"{shapes.get(diff)} vs {other.get(diff)}); build one architecture every call"
            )
    for module in reference.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            raise ValueError(
                "train_sweep cannot vmap BatchNorm's in-place running-stat updates; train such "
                "models one by one with mrvae.train, or use GroupNorm/LayerNorm"
            )
    devices = {p.device for m in models for p in m.parameters()}
    if len(devices) != 1:
        raise ValueError(
            f"make_model() put parameters on several devices {sorted(map(str, devices))}"
        )
    return models


def _betas(
    schedules: list[SweepSchedule], step: int, batch_size: int, device: torch.device
) -> Tensor:
    """β of every model for this step: ``(N, B)``; each schedule evaluated as :func:`train` does."""
    return torch.stack([s(step, batch_size) for s in schedules]).to(device)


def _unstack_into(models: list[VAE], params: dict[str, Tensor], buffers: dict[str, Tensor]) -> None:
    """Copy slice ``i`` of every stacked tensor into ``models[i]`` and put it in eval mode."""
    stacked = {**params, **buffers}
    with torch.no_grad():
        for i, model in enumerate(models):
            model.load_state_dict({k[len(_PREFIX) :]: v[i] for k, v in stacked.items()})
            model.eval()


class _StackedModels:
    """N copies of one architecture as stacked ``(N, ...)`` tensors plus a vmapped objective."""

    def __init__(self, models: list[VAE], noise: NoiseMode) -> None:
        wrappers = [_Objective(m) for m in models]
        self.models = models
        self.params, self.buffers = stack_module_state(wrappers)  # leaves of shape (N, ...)
        # The skeleton only supplies code: functional_call swaps the stacked slices in.
        skeleton = copy.deepcopy(wrappers[0]).train()

        def per_model(
            p: dict[str, Tensor], b: dict[str, Tensor], x: Tensor, eps: Tensor, beta: Tensor
        ) -> tuple[Tensor, Tensor, Tensor]:
            return functional_call(skeleton, (p, b), (x, eps, beta))

        eps_dim = None if noise == "shared" else 0
        self._batched = torch.vmap(per_model, in_dims=(0, 0, None, eps_dim, 0))

    def __call__(self, x: Tensor, eps: Tensor, beta: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Loss, rate and distortion ``(N, B)`` of every model.

        ``x (B, *data)`` is shared; ``eps`` is ``(B, *latent)`` (shared) or ``(N, B, *latent)``;
        ``beta`` is ``(N, B)``.
        """
        return self._batched(self.params, self.buffers, x, eps, beta)

    def unstack(self) -> list[VAE]:
        """The N models as plain modules holding the current stacked values."""
        _unstack_into(self.models, self.params, self.buffers)
        return self.models


class _SweepTrainee:
    """The stacked models with their schedules and noise, as a :class:`~mrvae.training.loop.Trainee`."""

    def __init__(self, sweep: SweepResult, stacked: _StackedModels, noise: NoiseMode,
                 latent: tuple[torch.Size, torch.dtype], device: torch.device, rows: list[int], total: int) -> None:
        self.sweep, self.stacked, self.noise, self.latent, self.device = sweep, stacked, noise, latent, device
        self.rows, self.total = rows, total  # which of the whole sweep's models these are

    def parameter_groups(self, config: TrainConfig) -> list[dict[str, Any]]:
        return [{"params": list(self.stacked.params.values()), "lr": config.lr}]

    def losses(self, x: Tensor | None, step: int) -> tuple[Tensor, Tensor, Tensor]:
        assert x is not None
        batch, (latent_shape, latent_dtype) = x.shape[0], self.latent
        # Drawn exactly where VAE.forward's randn_like would be, so "shared" replays train.
        eps_shape = (batch,) if self.noise == "shared" else (self.total, batch)
        eps = torch.randn((*eps_shape, *latent_shape), dtype=latent_dtype, device=self.device)
        if self.noise == "independent" and len(self.rows) < self.total:
            eps = eps[self.rows]  # a rank's share of the sweep keeps its models' slices
        return self.stacked(x, eps, _betas(self.sweep.schedules, step, batch, self.device))

    def state(self) -> dict[str, Any]:
        return {k: v.detach() for k, v in self.stacked.params.items()}

    def load_state(self, state: dict[str, Any]) -> None:
        with torch.no_grad():
            for name, value in state.items():
                self.stacked.params[name].copy_(value)

    def diverged(self, finite: Tensor, where: str) -> NoReturn:
        _raise_diverged(self.sweep, self.stacked, finite, where, self.rows)


def train_sweep(
    make_model: Callable[[], VAE],
    data: Tensor,
    schedules: Sequence[SweepSchedule],
    config: TrainConfig,
    *,
    noise: NoiseMode = "shared",
    transform: Callable[[Tensor], Tensor] | None = None,
    checkpoint_dir: str | Path | None = None,
    log: Callable[[str], None] = print,
    progress: bool | None = None,
) -> SweepResult:
    """Train ``len(schedules)`` β-VAEs as one batched model; same results as one ``train`` each.

    The models are built as ``torch.manual_seed(config.seed); [make_model() for _ in schedules]``
    (independent inits, drawn in sequence), then trained with Adam on the same minibatches (one
    ``randperm`` per epoch, as :func:`mrvae.train` with the same seed), model ``i`` with
    ``schedules[i]``'s β(step) in Eq. 1. With ``noise="shared"`` this equals, model by model,
    building the models the same way and calling ``mrvae.train(models[i], data, schedules[i],
    config)`` for each ``i`` (see the module docstring; ``"independent"`` draws separate noise).

    Args:
        make_model: zero-argument callable returning a fresh plain :class:`~mrvae.VAE`; every call
            must build the same architecture. Its device decides where training runs. Models with
            BatchNorm or dropout cannot be vmapped this way (BatchNorm raises here, dropout in
            vmap).
        data: ``(n, *data_shape)`` tensor, moved to the models' device once.
        schedules: one :class:`ConstantBeta` or :class:`AnnealedBeta` per model.
        config: optimiser and loop settings shared by all models; ``config.seed`` seeds torch.
        noise: ``"shared"``: one ``(B, *latent)`` reparameterisation draw per step used by every
            model (equals sequential :func:`mrvae.train`); ``"independent"``: one
            ``(N, B, *latent)`` draw, a slice per model.
        transform: applied to each batch once (e.g. dynamic binarisation) and shared by all models,
            just as sequential runs with one seed would each draw the same binarisation.
        checkpoint_dir: if given, the whole sweep is checkpointed there after every epoch, and an
            existing checkpoint with matching settings is resumed from (exactly, on CPU).
        log: receives at most ``config.log_lines`` progress lines (mean loss per β).
        progress: show a progress bar; ``None`` shows one only when stderr is a terminal.

    Returns:
        :class:`SweepResult` with N ordinary modules (in eval mode, usable with
        :func:`mrvae.evaluate`) and per-model histories of per-epoch training means.

    Raises:
        SweepDivergedError: some model's loss became NaN/inf; the message names its β, and
            ``error.partial`` holds all models at their last finite parameters.
        ValueError / TypeError: bad schedules, data, models or checkpoint, naming the fix.
    """
    schedules = _check_schedules(schedules)
    if noise not in ("shared", "independent"):
        raise ValueError(f"noise must be 'shared' or 'independent', got {noise!r}")
    if not isinstance(data, Tensor) or data.dim() < 2 or data.shape[0] == 0:
        shape = tuple(data.shape) if isinstance(data, Tensor) else type(data).__name__
        raise ValueError(f"data must be a non-empty batch-first tensor, got {shape}")
    models = _build_models(make_model, len(schedules), config.seed)
    device = next(models[0].parameters()).device
    models[0].likelihood.check_data(data if transform is None else transform(data[:1024]))
    data = data.to(device)
    latent_shape, latent_dtype = noise_shape(models[0], data, "the models from make_model()")
    sweep = SweepResult(models, schedules, [TrainResult() for _ in models])
    replica = Replica.current()
    mine = replica.owns(len(models)) if replica is not None else list(range(len(models)))
    part = SweepResult([models[i] for i in mine], [schedules[i] for i in mine], [sweep.results[i] for i in mine])
    failure: SweepDivergedError | None = None
    if mine:
        name = CHECKPOINT_NAME if replica is None else f"sweep_checkpoint.rank{replica.rank}of{replica.world_size}.pt"
        checkpoint = Checkpoint(checkpoint_dir, name, fingerprint(models[0], part.schedules, config, data=data,
                                                                 transform=transform, noise=noise))
        stacked = _StackedModels(part.models, noise)
        try:
            done = fit(
                _SweepTrainee(part, stacked, noise, (latent_shape, latent_dtype), device, mine, len(models)),
                ShuffledBatches(data, config.batch_size, transform), config, checkpoint, device=device,
                histories=[result.history for result in part.results],
                log=log if replica is None or replica.is_main else _quiet,
                progress=progress_wanted(progress) and (replica is None or replica.is_main),
                describe=lambda last: "loss per β  " + "  ".join(
                    f"{s.value:.3g}: {h['loss']:.2f}" for s, h in zip(part.schedules, last, strict=True)),
            )
        except SweepDivergedError as error:
            if replica is None:
                raise
            failure = error
        else:
            stacked.unstack()
            sweep.seconds, sweep.resumed_from_epoch = done.seconds, done.resumed_from_epoch
            for result in part.results:
                result.seconds, result.resumed_from_epoch = done.seconds, done.resumed_from_epoch
    if replica is not None:
        _gather_sweep(sweep, mine, failure)
    return sweep


def _gather_sweep(sweep: SweepResult, mine: list[int], failure: SweepDivergedError | None) -> None:
    """Give every rank every trained model and history; raise everywhere if any rank diverged."""
    states = [{k: v.cpu() for k, v in sweep.models[i].state_dict().items()} for i in mine]  # any rank can load
    payload = (mine, states, [sweep.results[i].history for i in mine],
               str(failure) if failure is not None else None, [mine[i] for i in failure.diverged] if failure else [],
               sweep.seconds)
    # A rank that diverged stopped there; the others trained on, so error.partial mixes epochs.
    gathered: list[Any] = [None] * dist.get_world_size()
    dist.all_gather_object(gathered, payload)
    messages, diverged = [], []
    for rows, states, histories, message, bad, _ in gathered:
        for i, state, history in zip(rows, states, histories, strict=True):
            sweep.models[i].load_state_dict(state)  # copied onto the model's own device
            sweep.models[i].eval()
            sweep.results[i].history[:] = history
        if message is not None:
            messages.append(message)
            diverged.extend(bad)
    sweep.seconds = max(float(entry[-1]) for entry in gathered)
    for result in sweep.results:
        result.seconds = sweep.seconds
    if messages:
        raise SweepDivergedError(" / ".join(messages), sorted(diverged), sweep)



def _raise_diverged(sweep: SweepResult, stacked: _StackedModels, finite: Tensor, where: str,
                    rows: list[int]) -> NoReturn:
    """Hand back every model at its last finite state and name the β that diverged.

    ``sweep`` holds this process's models; ``rows`` are their indices in the whole sweep.
    """
    stacked.unstack()  # no update has used the non-finite loss yet
    diverged = (~finite).nonzero().flatten().tolist()
    which = ", ".join(
        f"#{rows[i]} ({type(sweep.schedules[i]).__name__}, β={sweep.schedules[i].value:.3g})"
        for i in diverged
    )
    raise SweepDivergedError(
        f"non-finite loss or gradient for model(s) {which} {where}. All models keep their last finite "
        f"parameters in error.partial. Try a lower lr, check the data range for the likelihood, "
        f"or drop those β from the sweep.",
        diverged,
        sweep,
    )
