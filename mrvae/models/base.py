"""The VAE interface that training and evaluation rely on."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from mrvae.hyper.gates import BetaLike, as_beta_batch
from mrvae.hyper.layers import beta_context
from mrvae.models.objective import Likelihood, beta_vae_loss, gaussian_kl


class VAE(nn.Module):
    """Base class: subclasses implement :meth:`encode` and :meth:`decode`.

    The same class serves as a β-VAE (plain layers) and, after
    :func:`mrvae.convert`, as an MR-VAE: :meth:`forward` publishes β to every
    gated layer, so ``encode`` and ``decode`` never mention β.
    """

    def __init__(self, likelihood: Likelihood | None = None) -> None:
        super().__init__()
        self.likelihood = likelihood or Likelihood("bernoulli")

    #: Shape of one example; subclasses that set it get inputs checked before any layer runs.
    data_shape: tuple[int, ...] | None = None
    #: Whether each example's objective depends on that example alone (so a shard of a batch
    #: gives the same per-example terms); data-parallel training requires it.
    examples_independent: bool = True
    #: Whether the model reads integer token ids (the text VAEs) instead of floating-point data.
    integer_data: bool = False

    def check_input(self, x: Tensor) -> None:
        """Raise a ``ValueError`` naming both shapes if ``x`` is not ``(B, *data_shape)``."""
        if self.data_shape is not None and tuple(x.shape[1:]) != tuple(self.data_shape):
            raise ValueError(
                f"{type(self).__name__} was built for examples of shape {tuple(self.data_shape)}, but got "
                f"a batch of shape {tuple(x.shape)} (examples of shape {tuple(x.shape[1:])}); reshape "
                f"the data to (B, {', '.join(map(str, self.data_shape))}) or build the model for it"
            )

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, *data)`` → ``mu, logvar (B, latent)``."""
        raise NotImplementedError

    def decode(self, z: Tensor) -> Tensor:
        """``z (B, latent)`` → decoder output ``(B, *data)`` (logits or mean)."""
        raise NotImplementedError

    def forward(self, x: Tensor, beta: BetaLike, *, noise: Tensor | None = None) -> dict[str, Tensor]:
        """Per-example objective with one reparameterised sample.

        Shapes: ``x (B, *data_shape)``; ``beta`` a number or ``(B,)``; ``noise``, if given, the
        standard-normal draw ``(B, *latent)`` to use instead of a fresh one. Returns ``loss``,
        ``rate`` and ``distortion`` of shape ``(B,)`` (Eq. 1, or a subclass's
        :meth:`objective`), plus ``mu`` and ``logvar`` of shape ``(B, *latent)``.
        """
        self.check_input(x)
        return self._forward(x, as_beta_batch(beta, x.shape[0], device=x.device), noise)

    def _forward(self, x: Tensor, beta: Tensor, noise: Tensor | None) -> dict[str, Tensor]:
        # No data-dependent checks here, so a sweep can vmap it over stacked models.
        with beta_context(self, beta):
            mu, logvar = self.encode(x)
            z = mu + (0.5 * logvar).exp() * (torch.randn_like(mu) if noise is None else noise)
            output = self.decode(z)
        result = self.objective(x, output, z, mu, logvar, beta)
        result.update(mu=mu, logvar=logvar)
        return result

    def objective(self, x: Tensor, output: Tensor, z: Tensor, mu: Tensor, logvar: Tensor,
                  beta: Tensor) -> dict[str, Tensor]:
        """Eq. 1 per example from one forward pass: ``loss``, ``rate``, ``distortion``, each ``(B,)``.

        ``output`` is the decoder's output at the sample ``z``; subclasses with another
        objective (e.g. the β-TCVAE) override this and nothing else.
        """
        return beta_vae_loss(self.likelihood.distortion(output, x), gaussian_kl(mu, logvar), beta)

    def encode_mean(self, x: Tensor, beta: BetaLike) -> Tensor:
        """Posterior means ``E_q[z|x]`` at ``beta``: ``(B, *data)`` → ``(B, latent)``."""
        self.check_input(x)
        with beta_context(self, as_beta_batch(beta, x.shape[0], device=x.device)):
            return self.encode(x)[0]

    def decode_mean(self, z: Tensor, beta: BetaLike) -> Tensor:
        """Mean of ``p(x|z)`` at ``beta``, e.g. for samples from the prior."""
        with beta_context(self, as_beta_batch(beta, z.shape[0], device=z.device)):
            return self.likelihood.mean(self.decode(z))

