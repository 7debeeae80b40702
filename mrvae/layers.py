"""Pre-activation gated layers (paper Eq. 6 and 8, Appendix B).

A gated layer computes ``s = g(w * nu(beta) + c) ⊙ (W a + b)``: one gate per
output unit (or channel), so ``2 * out`` extra parameters. ``W`` and ``b`` are
the base weights, ``w`` (``hyper_weight``) and ``c`` (``hyper_bias``) the
hypernetwork parameters.

β reaches a layer either explicitly, ``layer(x, beta)``, or through
:func:`beta_context`, which is how a converted model whose ``forward`` knows
nothing of β gets it.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Any, Iterator

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .gates import DEFAULT_GATE_BIAS, BetaLike, BetaRange, as_beta_batch, gate_function

#: The range used when a layer is built without one; models should pass their own.
DEFAULT_BETA_RANGE = BetaRange(0.01, 10.0)


class GatedLayer(nn.Module):
    """Mixin holding the hypernetwork of one layer: ``num_gates`` gates of one kind.

    The standardisation constants of the β range are buffers, so a state dict
    fully determines the layer's response to β.
    """

    hyper_weight: nn.Parameter
    hyper_bias: nn.Parameter
    log_beta_mid: Tensor
    log_beta_half_width: Tensor

    def _init_gate(
        self,
        num_gates: int,
        gate: str,
        beta_range: BetaRange,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        gate_function(gate)  # validates the name early, with the list of valid ones
        self.gate = gate
        factory = {"device": device, "dtype": dtype}
        self.hyper_weight = nn.Parameter(torch.zeros(num_gates, **factory))
        self.hyper_bias = nn.Parameter(torch.full((num_gates,), DEFAULT_GATE_BIAS[gate], **factory))
        self.register_buffer("log_beta_mid", torch.tensor(beta_range.log_mid, **factory))
        self.register_buffer("log_beta_half_width", torch.tensor(beta_range.log_half_width, **factory))
        self.context_beta: Tensor | None = None

    @property
    def beta_range(self) -> BetaRange:
        """The β range whose standardisation this layer uses."""
        mid, half = float(self.log_beta_mid), float(self.log_beta_half_width)
        return BetaRange(math.exp(mid - half), math.exp(mid + half))

    def gate_values(self, beta: Tensor) -> Tensor:
        """Gate per example and unit: ``(B,) -> (B, num_gates)``."""
        beta = beta.to(self.hyper_weight.dtype)
        nu = math.sqrt(3.0) * (torch.log(beta) - self.log_beta_mid) / self.log_beta_half_width
        return gate_function(self.gate)(nu[:, None] * self.hyper_weight + self.hyper_bias)

    def _beta_for(self, batch_size: int, beta: BetaLike | None) -> Tensor:
        if beta is not None:
            return as_beta_batch(beta, batch_size, device=self.hyper_weight.device)
        if self.context_beta is None:
            raise ValueError(
                f"{type(self).__name__} needs β: call it as layer(x, beta) or run the model "
                f"inside `with mrvae.beta_context(model, beta):`"
            )
        if self.context_beta.shape != (batch_size,):
            raise ValueError(
                f"{type(self).__name__} got a batch of {batch_size} but β of shape "
                f"{tuple(self.context_beta.shape)} from beta_context; give one β per example"
            )
        return self.context_beta

    def extra_repr(self) -> str:
        base = super().extra_repr()
        r = self.beta_range
        return f"{base}, gate={self.gate}, beta_range=[{r.low:.4g}, {r.high:.4g}]"


def _require_batched(layer: nn.Module, x: Tensor, dims: int) -> None:
    if x.dim() < dims:
        raise ValueError(
            f"{type(layer).__name__} expects a batched input with at least {dims} dims "
            f"(batch first), got shape {tuple(x.shape)}; add a batch dim with x.unsqueeze(0)"
        )


class GatedLinear(GatedLayer, nn.Linear):
    """``nn.Linear`` with one β gate per output unit.

    Shapes: ``x (B, *, in)``, ``beta (B,)`` or scalar → ``(B, *, out)``.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        gate: str = "sigmoid",
        beta_range: BetaRange = DEFAULT_BETA_RANGE,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        nn.Linear.__init__(self, in_features, out_features, bias, device=device, dtype=dtype)
        self._init_gate(out_features, gate, beta_range, device, dtype)

    def forward(self, x: Tensor, beta: BetaLike | None = None) -> Tensor:  # type: ignore[override]
        _require_batched(self, x, 2)
        gates = self.gate_values(self._beta_for(x.shape[0], beta))
        out = F.linear(x, self.weight, self.bias)
        return out * gates.view(x.shape[0], *([1] * (out.dim() - 2)), -1)


class GatedConv2d(GatedLayer, nn.Conv2d):
    """``nn.Conv2d`` with one β gate per output channel.

    Shapes: ``x (B, C_in, H, W)``, ``beta (B,)`` or scalar → ``(B, C_out, H', W')``.
    """

    def __init__(
        self, *args: Any, gate: str = "sigmoid", beta_range: BetaRange = DEFAULT_BETA_RANGE, **kwargs: Any
    ) -> None:
        nn.Conv2d.__init__(self, *args, **kwargs)
        self._init_gate(self.out_channels, gate, beta_range, self.weight.device, self.weight.dtype)

    def forward(self, x: Tensor, beta: BetaLike | None = None) -> Tensor:  # type: ignore[override]
        _require_batched(self, x, 4)
        gates = self.gate_values(self._beta_for(x.shape[0], beta))
        return self._conv_forward(x, self.weight, self.bias) * gates[:, :, None, None]


class GatedConvTranspose2d(GatedLayer, nn.ConvTranspose2d):
    """``nn.ConvTranspose2d`` with one β gate per output channel.

    Shapes: ``x (B, C_in, H, W)``, ``beta (B,)`` or scalar → ``(B, C_out, H', W')``.
    """

    def __init__(
        self, *args: Any, gate: str = "sigmoid", beta_range: BetaRange = DEFAULT_BETA_RANGE, **kwargs: Any
    ) -> None:
        nn.ConvTranspose2d.__init__(self, *args, **kwargs)
        self._init_gate(self.out_channels, gate, beta_range, self.weight.device, self.weight.dtype)

    def forward(  # type: ignore[override]
        self, x: Tensor, beta: BetaLike | None = None, output_size: list[int] | None = None
    ) -> Tensor:
        _require_batched(self, x, 4)
        gates = self.gate_values(self._beta_for(x.shape[0], beta))
        return super().forward(x, output_size) * gates[:, :, None, None]


def gated_layers(model: nn.Module) -> list[GatedLayer]:
    """All gated layers of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, GatedLayer)]


@contextmanager
def beta_context(model: nn.Module, beta: Tensor) -> Iterator[None]:
    """Make every gated layer of ``model`` use ``beta`` (shape ``(B,)``) inside the block.

    Example::

        with beta_context(vae, beta):
            mu, logvar = vae.encode(x)
    """
    layers = gated_layers(model)
    previous = [layer.context_beta for layer in layers]
    for layer in layers:
        layer.context_beta = beta
    try:
        yield
    finally:
        for layer, old in zip(layers, previous):
            layer.context_beta = old
