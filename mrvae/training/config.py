"""What :func:`mrvae.train` is asked to do (:class:`TrainConfig`) and what it returns."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from mrvae._validate import check_flag, check_integer, check_real

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
