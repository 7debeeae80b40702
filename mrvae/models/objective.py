"""The β-VAE objective of Eq. 1, per example: ``loss = distortion + beta * rate``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from mrvae._validate import check_flag, check_real

LikelihoodName = Literal["bernoulli", "gaussian"]


def gaussian_kl(mu: Tensor, logvar: Tensor) -> Tensor:
    """Rate: analytic ``KL(N(mu, diag(exp(logvar))) || N(0, I))``.

    Shapes: ``mu, logvar (B, *latent)`` → ``(B,)``, summed over latent dims.
    """
    kl = 0.5 * (torch.exp(logvar) + mu.square() - 1.0 - logvar)
    return kl.flatten(1).sum(dim=1)


@dataclass(frozen=True)
class Likelihood:
    """The decoder's likelihood ``p(x|z)``.

    * ``bernoulli``: the decoder outputs logits; distortion is BCE summed over pixels.
    * ``gaussian``: the decoder outputs the mean; ``p(x|z) = N(mean, sigma2 I)`` with a
      fixed ``sigma2``. Distortion is ``||x - mean||^2 / (2 sigma2)``; the constant
      ``(d/2) log(2 pi sigma2)`` is dropped (it moves every curve by the same amount and
      would make relative gaps depend on the pixel count), unless ``include_constant``.
    """

    name: LikelihoodName = "bernoulli"
    sigma2: float = 1.0
    include_constant: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or self.name not in ("bernoulli", "gaussian"):
            raise ValueError(f"likelihood must be 'bernoulli' or 'gaussian', got {self.name!r}")
        object.__setattr__(self, "sigma2", check_real(self.sigma2, "Likelihood.sigma2", minimum=0.0, exclusive=True,
                                                      example="1.0"))
        object.__setattr__(self, "include_constant", check_flag(self.include_constant, "Likelihood.include_constant"))

    def distortion(self, output: Tensor, x: Tensor) -> Tensor:
        """``-log p(x|z)`` per example: ``output, x (B, *data)`` → ``(B,)``."""
        if output.shape != x.shape:
            raise ValueError(
                f"decoder output shape {tuple(output.shape)} does not match data shape {tuple(x.shape)}"
            )
        if self.name == "bernoulli":
            nll = F.binary_cross_entropy_with_logits(output, x, reduction="none")
            return nll.flatten(1).sum(dim=1)
        sq = (x - output).square().flatten(1).sum(dim=1) / (2.0 * self.sigma2)
        if self.include_constant:
            d = x[0].numel()
            sq = sq + 0.5 * d * torch.log(torch.tensor(2.0 * torch.pi * self.sigma2))
        return sq

    def mean(self, output: Tensor) -> Tensor:
        """The decoder's mean image: ``sigmoid(logits)`` or the Gaussian mean."""
        return torch.sigmoid(output) if self.name == "bernoulli" else output

    def check_data(self, x: Tensor) -> None:
        """Fail early on data that this likelihood cannot model."""
        if not bool(torch.isfinite(x).all()):
            raise ValueError("the data contain NaN or inf values; clean them before training")
        if self.name == "bernoulli" and (float(x.min()) < 0.0 or float(x.max()) > 1.0):
            raise ValueError(
                f"a Bernoulli likelihood needs data in [0, 1], got [{float(x.min()):.3g}, "
                f"{float(x.max()):.3g}]; rescale (e.g. x / 255) or use Likelihood('gaussian')"
            )


def beta_vae_loss(distortion: Tensor, rate: Tensor, beta: Tensor) -> dict[str, Tensor]:
    """Eq. 1 per example; all shapes ``(B,)``."""
    return {"loss": distortion + beta * rate, "rate": rate, "distortion": distortion}
