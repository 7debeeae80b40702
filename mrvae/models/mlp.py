"""Small reference VAEs; a template for bringing your own."""

from __future__ import annotations

import math

from torch import Tensor, nn

from mrvae.models.base import VAE
from mrvae.models.objective import Likelihood


class MLPVAE(VAE):
    """A fully connected VAE: ``x (B, *data_shape)`` → ``z (B, latent_dim)`` → ``(B, *data_shape)``.

    ``encoder`` and ``decoder`` are the submodule names :func:`mrvae.convert` expects.
    """

    def __init__(self, data_shape: tuple[int, ...], hidden: int = 256, latent_dim: int = 16,
                 likelihood: Likelihood | None = None) -> None:
        super().__init__(likelihood)
        self.data_shape = tuple(data_shape)
        self.latent_dim = latent_dim
        data_dim = math.prod(self.data_shape)
        self.encoder = nn.Sequential(nn.Flatten(), nn.Linear(data_dim, hidden), nn.ReLU(),
                                     nn.Linear(hidden, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, hidden), nn.ReLU(), nn.Linear(hidden, data_dim))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z).view(z.shape[0], *self.data_shape)
