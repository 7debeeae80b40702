"""Training: β schedules, the one loop (:func:`train`), batched β-VAE sweeps, the linear VAE's
exact-objective trainer, checkpoints and step timing."""

from mrvae.training.checkpoints import CheckpointError
from mrvae.training.config import DEFAULT_HYPER_LR_MULTIPLIER, NonFiniteLossError, TrainConfig, TrainResult
from mrvae.training.inputs import check_trainable
from mrvae.training.loop import train
from mrvae.training.optim import parameter_groups
from mrvae.training.population import train_population
from mrvae.training.schedules import AnnealedBeta, BetaSchedule, ConstantBeta, MultiRateBeta
from mrvae.training.sweep import SweepDivergedError, SweepResult, train_sweep

__all__ = [
    "DEFAULT_HYPER_LR_MULTIPLIER", "AnnealedBeta", "BetaSchedule", "CheckpointError", "ConstantBeta", "MultiRateBeta",
    "NonFiniteLossError", "SweepDivergedError", "SweepResult", "TrainConfig", "TrainResult", "check_trainable",
    "parameter_groups", "train", "train_population", "train_sweep",
]
