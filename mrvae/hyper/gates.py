"""Gate functions and the β range an MR-VAE is trained on (paper Eq. 6–8).

Every gated layer scales its pre-activation by ``g(w * nu + c)`` where ``nu`` is
the standardised log KL weight (Appendix C, "Normalizations")::

    nu = sqrt(3) * (log(beta) - m) / h

with ``m`` and ``h`` the midpoint and half-width of ``[log a, log b]``. For
``log(beta) ~ U[log a, log b]`` this gives ``nu`` mean 0 and standard deviation 1.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from mrvae._validate import check_integer, check_real

GateName = Literal["sigmoid", "sqrt", "film"]
BetaLike = float | Tensor


def sigmoid_gate(x: Tensor) -> Tensor:
    """Encoder gate of Eq. 7, ``1 / (1 + exp(-x))``."""
    return torch.sigmoid(x)


def sqrt_gate(x: Tensor) -> Tensor:
    """Decoder gate of Eq. 7, ``sqrt(ReLU(1 - exp(x)))``, finite everywhere.

    The gate is exactly 0 for ``x >= 0``. Its derivative, ``-exp(x) / (2 g(x))``,
    diverges as ``x -> 0-``; computed naively, ``0 * inf`` then makes NaN
    gradients at and beyond the edge. Clamping ``x`` to ``<= 0`` (so ``exp``
    never overflows) and routing the zero region through a ``where`` whose
    untaken branch has a safe operand keeps both value and gradient finite.
    """
    one_minus_exp = -torch.expm1(torch.clamp(x, max=0.0))
    open_gate = one_minus_exp > 0
    safe = torch.where(open_gate, one_minus_exp, torch.ones_like(one_minus_exp))
    return torch.where(open_gate, torch.sqrt(safe), torch.zeros_like(one_minus_exp))


def film_modulation(x: Tensor) -> Tensor:
    """The ``"film"`` modulation's output map is the identity: its hypernetwork's outputs are
    used as they are, half as a per-feature scale and half as a shift (Perez et al. 2018),
    ``y -> y * scale(nu) + shift(nu)`` (the paper's Appendix D, Figure 9)."""
    return x


GATES: dict[str, Callable[[Tensor], Tensor]] = {"sigmoid": sigmoid_gate, "sqrt": sqrt_gate,
                                                "film": film_modulation}
#: Gates that modulate by a scale and a shift, so that a gate has ``2 * features`` outputs.
SCALE_AND_SHIFT: frozenset[str] = frozenset({"film"})

#: Gate bias of the ``"open"`` initialisation: the gate starts open (about 0.88 and 0.93)
#: without saturating, so a converted network starts close to the original one. FiLM starts
#: as the identity: scale 1 (its shift's bias is 0).
OPEN_GATE_BIAS: dict[str, float] = {"sigmoid": 2.0, "sqrt": -2.0, "film": 1.0}
#: Gate bias (with ``w = 0``) that makes a gate exactly 1.0 in float64: a constant,
#: β-independent factor. Theorem 1's construction leaves the factors it does not gate so.
CONSTANT_GATE_BIAS: dict[str, float] = {"sigmoid": 50.0, "sqrt": -50.0}


def gate_function(name: str) -> Callable[[Tensor], Tensor]:
    """Look up a gate by name, with an error listing the valid names."""
    if name not in GATES:
        raise ValueError(f"unknown gate {name!r}; choose one of {sorted(GATES)}")
    return GATES[name]


@dataclass(frozen=True)
class BetaRange:
    """The range ``[a, b]`` that ``log(beta) ~ U[log a, log b]`` is drawn from (Eq. 11).

    Args:
        low: ``a``, strictly positive.
        high: ``b``, strictly greater than ``a``.
    """

    low: float
    high: float

    def __post_init__(self) -> None:
        for name in ("low", "high"):  # numpy and 0-d torch scalars are stored as Python floats
            object.__setattr__(self, name, check_real(getattr(self, name), f"BetaRange.{name}",
                                                      example="0.01" if name == "low" else "10"))
        if self.low <= 0:
            raise ValueError(
                f"BetaRange.low must be > 0 because the hypernetwork takes log(beta); "
                f"got low={self.low}. Use e.g. BetaRange(0.01, 10)."
            )
        if self.low >= self.high:
            raise ValueError(
                f"BetaRange needs low < high, got low={self.low}, high={self.high}. "
                f"Swap them or widen the range, e.g. BetaRange(0.01, 10)."
            )

    def matches(self, other: BetaRange) -> bool:
        """Whether ``other`` is this range up to the float32 precision a gate stores it at
        (its log-midpoint and half-width buffers): equal within 1e-5, relative."""
        return (math.isclose(self.low, other.low, rel_tol=1e-5)
                and math.isclose(self.high, other.high, rel_tol=1e-5))

    @property
    def log_mid(self) -> float:
        """``m``: midpoint of ``[log a, log b]``."""
        return 0.5 * (math.log(self.low) + math.log(self.high))

    @property
    def log_half_width(self) -> float:
        """``h``: half-width of ``[log a, log b]``."""
        return 0.5 * (math.log(self.high) - math.log(self.low))

    def standardize(self, beta: Tensor) -> Tensor:
        """``nu = sqrt(3) (log beta - m) / h``; any shape in, same shape out."""
        return math.sqrt(3.0) * (torch.log(beta) - self.log_mid) / self.log_half_width

    def sample(
        self, n: int, *, generator: torch.Generator | None = None, device: torch.device | str = "cpu"
    ) -> Tensor:
        """Draw ``n`` values with ``log(beta) ~ U[log a, log b]``; shape ``(n,)``."""
        u = torch.rand(n, generator=generator, device=device, dtype=torch.float32)
        return torch.exp(math.log(self.low) + 2.0 * self.log_half_width * u)

    def grid(self, n: int = 20) -> Tensor:
        """``n`` log-spaced values from ``a`` to ``b`` inclusive (the paper evaluates 20)."""
        n = check_integer(n, "n", example=20)
        if n < 2:
            raise ValueError(f"a β grid needs at least 2 points, got n={n}; pass e.g. n=20")
        return torch.logspace(math.log10(self.low), math.log10(self.high), n, dtype=torch.float64)


_CHECK_ACCELERATOR_VALUES: ContextVar[bool] = ContextVar("mrvae_check_accelerator_betas", default=True)


@contextmanager
def trusted_betas() -> Iterator[None]:
    """Inside, :func:`as_beta_batch` does not check the values of β held on an accelerator.

    Reading the check's result waits for the device, once per forward pass. The training loop
    draws β from a validated :class:`BetaRange` and watches the loss for non-finite values, so
    it skips the check; shapes and types are still checked, and CPU tensors always are.
    """
    token = _CHECK_ACCELERATOR_VALUES.set(False)
    try:
        yield
    finally:
        _CHECK_ACCELERATOR_VALUES.reset(token)


def as_beta_batch(beta: BetaLike, batch_size: int, *, device: torch.device | None = None) -> Tensor:
    """Validate ``beta`` and return it as a float tensor of shape ``(batch_size,)``.

    Accepts a Python number, a 0-d tensor (shared by the batch) or a tensor of
    shape ``(batch_size,)`` (one β per example). Values must be finite and ``> 0``
    (unchecked on an accelerator inside :func:`trusted_betas`).
    """
    if isinstance(beta, (int, float)):
        beta_tensor = torch.full((batch_size,), float(beta), device=device)
    elif isinstance(beta, Tensor):
        if beta.dim() == 0:
            beta_tensor = beta.reshape(1).expand(batch_size)
        elif beta.shape == (batch_size,):
            beta_tensor = beta
        else:
            raise ValueError(
                f"beta must be a scalar or have shape (batch,) = ({batch_size},), got "
                f"shape {tuple(beta.shape)}. Pass one β per example, e.g. beta.reshape(-1)."
            )
        if not beta_tensor.is_floating_point():
            beta_tensor = beta_tensor.float()
        if device is not None:
            beta_tensor = beta_tensor.to(device)
    else:
        raise ValueError(f"beta must be a number or a tensor, got {type(beta).__name__}")
    if beta_tensor.device.type != "cpu" and not _CHECK_ACCELERATOR_VALUES.get():
        return beta_tensor
    if not bool(torch.all(torch.isfinite(beta_tensor) & (beta_tensor > 0))):
        bad = beta_tensor[~(torch.isfinite(beta_tensor) & (beta_tensor > 0))][:3].tolist()
        raise ValueError(f"beta must be finite and > 0 (the gates take log beta); got {bad}")
    return beta_tensor
