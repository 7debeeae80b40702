"""mrvae: Multi-Rate VAEs (Bae et al., ICLR 2023) in PyTorch.

Train once with ``log β ~ U[log a, log b]`` and get the whole rate–distortion curve.
"""

from ._compat import install_torchvision_shim

install_torchvision_shim()  # before anything can import torchvision; see _compat

from .evaluate import active_units, evaluate, rate_distortion_curve  # noqa: E402
from .hyper import (BetaGate, BetaRange, GatedConv2d, GatedConvTranspose2d, GatedLinear,  # noqa: E402
                    beta_context, convert, count_parameters, sigmoid_gate, sqrt_gate)
from .model import VAE  # noqa: E402
from .objective import Likelihood, gaussian_kl  # noqa: E402
from .train import AnnealedBeta, ConstantBeta, MultiRateBeta, TrainConfig, train  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "AnnealedBeta", "BetaGate", "BetaRange", "ConstantBeta", "GatedConv2d", "GatedConvTranspose2d", "GatedLinear",
    "Likelihood", "MultiRateBeta", "TrainConfig", "VAE", "active_units", "beta_context", "convert",
    "count_parameters", "evaluate", "gaussian_kl", "rate_distortion_curve", "sigmoid_gate", "sqrt_gate",
    "train",
]
