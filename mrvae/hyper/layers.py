"""The β gate as a module, and layers that carry one (paper Eq. 6–8, Appendix B).

A :class:`BetaGate` holds one gate per feature (unit or channel) and multiplies its input
by ``g(w * nu(beta) + c)``: ``2 * features`` parameters, ``w`` (``weight``) and ``c``
(``bias``). It can follow any layer. The paper puts it on a layer's pre-activation; the
authors' networks put it after the BatchNorm that follows a conv (``Conv -> BN -> gate ->
ReLU``, Appendix B.2), because a per-batch gate placed before a BatchNorm is divided out.

:class:`Gated` wraps any module with a gate on its output; :class:`GatedLinear`,
:class:`GatedConv2d` and :class:`GatedConvTranspose2d` are the common cases.

β reaches a gate either explicitly, ``gated(x, beta)``, or through :func:`beta_context`,
which computes ``nu(beta)`` once for the whole model and hands it to every gate, so that a
converted model whose ``forward`` knows nothing of β still gets it.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator, Literal

import torch
from torch import Tensor, nn

from .gates import OPEN_GATE_BIAS, BetaLike, BetaRange, as_beta_batch, gate_function

#: The range used when a gate is built without one; models should pass their own.
DEFAULT_BETA_RANGE = BetaRange(0.01, 10.0)

#: ``"open"``: ``w = 0`` and ``c`` = :data:`~mrvae.hyper.gates.OPEN_GATE_BIAS` (every gate
#: starts at the same value for every β). ``"uniform"``: ``w, c ~ U(-1, 1)``, the default
#: initialisation of the authors' ``nn.Linear(1, features)`` gates, so the network responds
#: to β from the first step; for the ``sqrt`` gate ``c`` is shifted down by
#: ``1 + sqrt(3)`` so that no gate starts closed (a closed ``sqrt`` gate gets no gradient).
GateInit = Literal["open", "uniform"]
GATE_INITS: tuple[str, ...] = ("open", "uniform")
#: Chosen by measurement: see the book's "Learning the β response" study.
DEFAULT_GATE_INIT: GateInit = "open"
#: ``|nu| <= sqrt(3)`` on the training range.
_NU_BOUND = math.sqrt(3.0)


class BetaGate(nn.Module):
    """``x * g(w * nu(beta) + c)``, one gate per feature along ``dim``.

    Args:
        features: number of gates (units or channels).
        gate: ``"sigmoid"`` or ``"sqrt"`` (Eq. 7).
        beta_range: the training range; its standardisation ``nu`` is stored in buffers, so
            a state dict fully determines the gate.
        init: ``"open"`` or ``"uniform"`` (see :data:`GateInit`).
        dim: the feature dimension of the input: ``1`` for ``(B, C, ...)`` maps, ``-1``
            for ``(B, ..., F)`` features.

    Shapes: ``x (B, ...)`` with ``x.shape[dim] == features``; ``beta (B,)`` or scalar.
    """

    def __init__(
        self,
        features: int,
        gate: str = "sigmoid",
        beta_range: BetaRange = DEFAULT_BETA_RANGE,
        *,
        init: GateInit = "open",
        dim: int = 1,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        gate_function(gate)  # validates the name early, with the list of valid ones
        if init not in GATE_INITS:
            raise ValueError(f"unknown gate init {init!r}; choose one of {list(GATE_INITS)}")
        if features < 1:
            raise ValueError(f"a BetaGate needs features >= 1, got {features}")
        self.features, self.gate, self.init, self.dim = features, gate, init, dim
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.empty(features, **factory))
        self.bias = nn.Parameter(torch.empty(features, **factory))
        self.register_buffer("log_beta_mid", torch.tensor(beta_range.log_mid, **factory))
        self.register_buffer("log_beta_half_width", torch.tensor(beta_range.log_half_width, **factory))
        self.context_nu: Tensor | None = None
        self.reset_parameters()

    def reset_parameters(self) -> None:
        with torch.no_grad():
            if self.init == "open":
                self.weight.zero_()
                self.bias.fill_(OPEN_GATE_BIAS[self.gate])
                return
            self.weight.uniform_(-1.0, 1.0)
            self.bias.uniform_(-1.0, 1.0)
            if self.gate == "sqrt":
                self.bias.sub_(1.0 + _NU_BOUND)

    @property
    def beta_range(self) -> BetaRange:
        """The β range whose standardisation this gate uses."""
        mid, half = float(self.log_beta_mid), float(self.log_beta_half_width)
        return BetaRange(math.exp(mid - half), math.exp(mid + half))

    @property
    def range_key(self) -> tuple[float, float]:
        """Gates with equal keys share ``nu(beta)``; :func:`beta_context` computes it once per key."""
        return float(self.log_beta_mid), float(self.log_beta_half_width)

    def standardize(self, beta: Tensor) -> Tensor:
        """``nu = sqrt(3) (log beta - m) / h``: ``(B,) -> (B,)``."""
        beta = beta.to(self.weight.dtype)
        return _NU_BOUND * (torch.log(beta) - self.log_beta_mid) / self.log_beta_half_width

    def values(self, nu: Tensor) -> Tensor:
        """Gate per example and feature: ``nu (B,) -> (B, features)``."""
        return gate_function(self.gate)(nu[:, None] * self.weight + self.bias)

    def gate_values(self, beta: Tensor) -> Tensor:
        """Gate per example and feature from β itself: ``(B,) -> (B, features)``."""
        return self.values(self.standardize(beta))

    def nu_for(self, batch_size: int, beta: BetaLike | None) -> Tensor:
        """``nu`` of shape ``(batch_size,)`` from ``beta`` or, if None, from :func:`beta_context`."""
        if beta is not None:
            return self.standardize(as_beta_batch(beta, batch_size, device=self.weight.device))
        if self.context_nu is None:
            raise ValueError(
                "a β-gated layer needs β: call it as layer(x, beta) or run the model "
                "inside `with mrvae.beta_context(model, beta):`"
            )
        if self.context_nu.shape != (batch_size,):
            raise ValueError(
                f"a β-gated layer got a batch of {batch_size} but β of shape "
                f"{tuple(self.context_nu.shape)} from beta_context; give one β per example"
            )
        return self.context_nu

    def forward(self, x: Tensor, beta: BetaLike | None = None) -> Tensor:
        if x.dim() < 2:
            raise ValueError(
                f"BetaGate expects a batched input (batch first), got shape {tuple(x.shape)}; "
                f"add a batch dim with x.unsqueeze(0)"
            )
        dim = self.dim % x.dim()
        if dim == 0 or x.shape[dim] != self.features:
            raise ValueError(
                f"BetaGate with {self.features} features along dim {self.dim} got input of "
                f"shape {tuple(x.shape)}"
            )
        gates = self.values(self.nu_for(x.shape[0], beta))
        shape = [x.shape[0]] + [1] * (x.dim() - 1)
        shape[dim] = self.features
        return x * gates.view(shape)

    def extra_repr(self) -> str:
        r = self.beta_range
        return (f"{self.features}, gate={self.gate}, init={self.init}, dim={self.dim}, "
                f"beta_range=[{r.low:.4g}, {r.high:.4g}]")


class Gated(nn.Module):
    """``gate(inner(x))``: any module followed by a :class:`BetaGate` on its output.

    :func:`mrvae.convert` wraps layers in this; ``inner`` keeps its own parameters, so the
    wrapped model's base weights are the original ``Parameter`` objects.
    """

    def __init__(self, inner: nn.Module, gate: BetaGate) -> None:
        super().__init__()
        self.inner = inner
        self.gate = gate

    def forward(self, x: Any, beta: BetaLike | None = None, **kwargs: Any) -> Tensor:
        return self.gate(self.inner(x, **kwargs), beta)


def _factory(layer: nn.Module) -> dict[str, Any]:
    weight = next(layer.parameters())
    return {"device": weight.device, "dtype": weight.dtype}


class GatedLinear(Gated):
    """``nn.Linear`` with one β gate per output unit: ``x (B, *, in)`` → ``(B, *, out)``."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True, *, gate: str = "sigmoid",
                 beta_range: BetaRange = DEFAULT_BETA_RANGE, init: GateInit = "open",
                 device: Any = None, dtype: Any = None) -> None:
        inner = nn.Linear(in_features, out_features, bias, device=device, dtype=dtype)
        super().__init__(inner, BetaGate(out_features, gate, beta_range, init=init, dim=-1, **_factory(inner)))


class GatedConv2d(Gated):
    """``nn.Conv2d`` with one β gate per output channel: ``(B, C_in, H, W)`` → ``(B, C_out, H', W')``."""

    def __init__(self, *args: Any, gate: str = "sigmoid", beta_range: BetaRange = DEFAULT_BETA_RANGE,
                 init: GateInit = "open", **kwargs: Any) -> None:
        inner = nn.Conv2d(*args, **kwargs)
        super().__init__(inner, BetaGate(inner.out_channels, gate, beta_range, init=init, **_factory(inner)))


class GatedConvTranspose2d(Gated):
    """``nn.ConvTranspose2d`` with one β gate per output channel."""

    def __init__(self, *args: Any, gate: str = "sigmoid", beta_range: BetaRange = DEFAULT_BETA_RANGE,
                 init: GateInit = "open", **kwargs: Any) -> None:
        inner = nn.ConvTranspose2d(*args, **kwargs)
        super().__init__(inner, BetaGate(inner.out_channels, gate, beta_range, init=init, **_factory(inner)))


def beta_gates(model: nn.Module) -> list[BetaGate]:
    """All β gates of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, BetaGate)]


def hyper_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The hypernetwork's parameters (every gate's ``w`` and ``c``), e.g. for their own optimiser group."""
    return [p for gate in beta_gates(model) for p in (gate.weight, gate.bias)]


@contextmanager
def beta_context(model: nn.Module, beta: Tensor) -> Iterator[None]:
    """Make every gate of ``model`` use ``beta`` (shape ``(B,)``) inside the block.

    ``nu(beta)`` is computed once per β range in use (normally one), not once per gate.

    Example::

        with beta_context(vae, beta):
            mu, logvar = vae.encode(x)
    """
    gates = beta_gates(model)
    previous = [gate.context_nu for gate in gates]
    nus: dict[tuple[float, float], Tensor] = {}
    for gate in gates:
        key = gate.range_key
        if key not in nus:
            nus[key] = gate.standardize(beta)
        gate.context_nu = nus[key]
    try:
        yield
    finally:
        for gate, old in zip(gates, previous):
            gate.context_nu = old
