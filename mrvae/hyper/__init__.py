"""The hypernetwork: β gates, gated layers, and :func:`convert` for any VAE (Section 3)."""

from .convert import Gateable, convert, count_parameters, gate_targets
from .gates import BetaRange, as_beta_batch, sigmoid_gate, sqrt_gate
from .layers import (
                     HYPERNETWORKS,
                     BetaGate,
                     BetaTrunk,
                     Gated,
                     GatedConv2d,
                     GatedConvTranspose2d,
                     GatedLinear,
                     beta_context,
                     beta_gates,
                     hyper_parameters,
)

__all__ = [
    "HYPERNETWORKS", "BetaGate", "BetaRange", "BetaTrunk", "Gateable", "Gated", "GatedConv2d", "GatedConvTranspose2d",
    "GatedLinear", "as_beta_batch",
    "beta_context", "beta_gates", "convert", "count_parameters", "gate_targets", "hyper_parameters",
    "sigmoid_gate", "sqrt_gate",
]
