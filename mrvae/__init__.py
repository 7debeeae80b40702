"""mrvae: Multi-Rate VAEs (Bae et al., ICLR 2023) in PyTorch.

Train once with ``log β ~ U[log a, log b]`` and get the whole rate–distortion curve.

Layout: :mod:`mrvae.hyper` (β gates, gated layers, :func:`convert`), :mod:`mrvae.models`
(one module per model family), :mod:`mrvae.data`, :mod:`mrvae.metrics`, :mod:`mrvae.training`
(schedules, the loop, sweeps, checkpoints). The companion book's experiments, figures and
command line are a separate distribution (``companion/``, package ``mrvae_companion``) built
on this one; nothing here imports it.
"""

from mrvae._compat import install_torchvision_shim

install_torchvision_shim()  # before anything can import torchvision; see _compat

from mrvae.hyper import (  # noqa: E402
                         BetaGate,
                         BetaRange,
                         GatedConv2d,
                         GatedConvTranspose2d,
                         GatedLinear,
                         beta_context,
                         convert,
                         count_parameters,
                         sigmoid_gate,
                         sqrt_gate,
)
from mrvae.metrics import active_units, evaluate, rate_distortion_curve  # noqa: E402
from mrvae.models import VAE, Likelihood, gaussian_kl  # noqa: E402
from mrvae.training import AnnealedBeta, ConstantBeta, MultiRateBeta, TrainConfig, train  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "AnnealedBeta", "BetaGate", "BetaRange", "ConstantBeta", "GatedConv2d", "GatedConvTranspose2d", "GatedLinear",
    "Likelihood", "MultiRateBeta", "TrainConfig", "VAE", "active_units", "beta_context", "convert",
    "count_parameters", "evaluate", "gaussian_kl", "rate_distortion_curve", "sigmoid_gate", "sqrt_gate",
    "train",
]
