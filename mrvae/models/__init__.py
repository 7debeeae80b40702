"""Model families, one module each, all subclasses of :class:`VAE`.

* :mod:`~mrvae.models.base`: the interface training and evaluation rely on;
* :mod:`~mrvae.models.objective`: likelihoods, the Gaussian KL and Eq. 1;
* :mod:`~mrvae.models.mlp`: a small fully connected VAE, a template for your own;
* :mod:`~mrvae.models.benchmark`: the paper's conv and ResNet VAEs (Appendix C);
* :mod:`~mrvae.models.linear`: the linear VAE of Section 4 and its closed forms;
* :mod:`~mrvae.models.tcvae`: the β-TCVAE objective and Chen et al.'s MLP (Section 5.4);
* :mod:`~mrvae.models.hierarchical`: an NVAE-style hierarchical VAE (Vahdat & Kautz 2020);
* :mod:`~mrvae.models.text`: the LSTM text VAE of the Yahoo experiment (Appendix C).
"""

from mrvae.models.base import VAE
from mrvae.models.benchmark import ArchitectureConfig, GatePlacement, build_mr_vae, build_vae
from mrvae.models.hierarchical import (
    HierarchicalConfig,
    HierarchicalVAE,
    build_hierarchical_mr_vae,
    build_hierarchical_vae,
)
from mrvae.models.linear import LinearVAE
from mrvae.models.mlp import MLPVAE
from mrvae.models.objective import Likelihood, beta_vae_loss, gaussian_kl
from mrvae.models.tcvae import BetaTCVAE, ChenMLPVAE
from mrvae.models.text import LSTMTextVAE, TextVAEConfig, build_text_mr_vae, build_text_vae

__all__ = [
    "MLPVAE", "VAE", "ArchitectureConfig", "BetaTCVAE", "ChenMLPVAE", "GatePlacement", "HierarchicalConfig",
    "HierarchicalVAE", "LSTMTextVAE", "Likelihood", "LinearVAE", "TextVAEConfig", "beta_vae_loss",
    "build_hierarchical_mr_vae", "build_hierarchical_vae", "build_mr_vae", "build_text_mr_vae", "build_text_vae",
    "build_vae", "gaussian_kl",
]
