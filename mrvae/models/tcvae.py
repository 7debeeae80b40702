"""The β-TCVAE objective (Chen et al., 2018) and their MLP VAE for dSprites (paper Section 5.4).

β-TCVAE splits the KL term of the ELBO into three parts (Chen et al., Eq. 2)::

    log q(z|x) - log p(z) =   [log q(z|x) - log q(z)]              index-code MI
                            + [log q(z) - sum_j log q(z_j)]         total correlation (TC)
                            + [sum_j log q(z_j) - log p(z)]         dimension-wise KL

and weights only the TC by β. ``q(z) = (1/N) sum_n q(z|x_n)`` is the aggregate posterior
over a training set of ``N`` examples; it is estimated from the minibatch with importance
weights (:func:`minibatch_log_weights`).

An MR-VAE on this objective is ``mrvae.convert(ChenMLPVAE(...), BetaRange(0.1, 10))``: the
gated layers see the same β that weights the TC.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

from mrvae.models.base import VAE
from mrvae.models.objective import Likelihood, gaussian_kl

Estimator = Literal["mws", "mss"]
ESTIMATORS: tuple[str, ...] = ("mws", "mss")

_LOG_2PI = math.log(2.0 * math.pi)


def _check_estimator(estimator: str) -> str:
    if estimator not in ESTIMATORS:
        raise ValueError(
            f"unknown estimator {estimator!r}; use 'mws' (minibatch-weighted sampling) or "
            f"'mss' (minibatch-stratified sampling)"
        )
    return estimator


def _check_dataset_size(dataset_size: int) -> int:
    if isinstance(dataset_size, bool) or not isinstance(dataset_size, int) or dataset_size < 2:
        raise ValueError(
            f"dataset_size must be an int >= 2 (the number N of training examples that the "
            f"aggregate posterior q(z) averages over), got {dataset_size!r}"
        )
    return dataset_size


def minibatch_log_weights(
    batch_size: int,
    dataset_size: int,
    estimator: Estimator = "mws",
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> Tensor:
    """Log importance weights ``log w[i, j]`` of the estimate ``q(z_i) ≈ sum_j w[i, j] q(z_i|x_j)``.

    ``z_i`` was sampled from ``q(z|x_i)``; the batch stands in for the ``N`` training
    examples. Every row sums to 1.

    * ``"mws"`` (minibatch-weighted sampling, Chen et al. 2018, Sec. 4.1): every member
      gets ``1/B``, i.e. ``log q(z_i) ≈ logmeanexp_j log q(z_i|x_j)``. This is Chen et al.'s
      estimator plus the constant ``log N``: their printed weight ``1/(N B)`` makes rows sum
      to ``1/N``, which shifts every reported term (not the gradients). With ``B = N`` the
      estimate is the exact aggregate posterior.
    * ``"mss"`` (minibatch-stratified sampling, Chen et al. Appendix C): the own example
      gets ``1/N``; with ``M = B - 1``, one other member, ``j = (i + 1) mod B``, gets
      ``(N - M)/(N M)`` and the rest ``1/M``. If the other members are a uniform draw from
      the rest of the data, ``E[sum_j w[i, j] q(z_i|x_j)] = q(z_i)`` exactly. (Chen et al.'s
      released code fills columns rather than diagonals; this follows the paper.)

    Returns:
        ``(B, B)`` tensor of log weights, row ``i`` for the sample ``z_i``.
    """
    _check_estimator(estimator)
    _check_dataset_size(dataset_size)
    if batch_size < 2 or batch_size > dataset_size:
        raise ValueError(
            f"batch_size must be in [2, dataset_size={dataset_size}] to estimate q(z) from the "
            f"other batch members, got {batch_size}; raise dataset_size to the training set "
            f"size, or avoid a final batch of one example"
        )
    n, b = dataset_size, batch_size
    if estimator == "mws":
        return torch.full((b, b), -math.log(b), dtype=dtype, device=device)
    eye = torch.eye(b, dtype=torch.bool, device=device)
    m = b - 1
    weights = torch.full((b, b), 1.0 / m, dtype=torch.float64, device=device)
    stratum = torch.roll(eye, shifts=1, dims=1)  # row i -> column (i + 1) mod B
    weights = weights.masked_fill(stratum, (n - m) / (n * m)).masked_fill(eye, 1.0 / n)
    return weights.log().to(dtype)


def gaussian_log_density_matrix(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """``log q(z_i[k] | x_j)`` for every pair of batch members: ``(B, K)`` x3 → ``(B, B, K)``.

    Index ``[i, j, k]``: sample ``i``, posterior of example ``j``, latent dimension ``k``.
    """
    diff = z[:, None, :] - mu[None, :, :]
    return -0.5 * (_LOG_2PI + logvar[None, :, :] + diff.square() * torch.exp(-logvar[None, :, :]))


def _check_latents(z: Tensor, mu: Tensor, logvar: Tensor) -> None:
    for name, t in (("z", z), ("mu", mu), ("logvar", logvar)):
        if not isinstance(t, Tensor) or t.dim() != 2:
            shape = tuple(t.shape) if isinstance(t, Tensor) else type(t).__name__
            raise ValueError(
                f"{name} must be a (batch, latent) tensor, got {shape}; flatten the latent "
                f"dims with .flatten(1)"
            )
    if not z.shape == mu.shape == logvar.shape:
        raise ValueError(
            f"z, mu and logvar must share one (batch, latent) shape, got {tuple(z.shape)}, "
            f"{tuple(mu.shape)} and {tuple(logvar.shape)}"
        )
    if not z.is_floating_point():
        raise ValueError(f"z, mu and logvar must be floating point, got {z.dtype}")


def tc_decomposition(
    z: Tensor,
    mu: Tensor,
    logvar: Tensor,
    dataset_size: int,
    estimator: Estimator = "mws",
) -> dict[str, Tensor]:
    """Per-example β-TCVAE decomposition of ``log q(z|x) - log p(z)`` (Chen et al., Eq. 2).

    ``q(z_i)`` and each marginal ``q(z_i[k])`` are minibatch estimates
    (:func:`minibatch_log_weights`) from one ``(B, B, K)`` log-density tensor; ``p(z)`` is
    ``N(0, I)``.

    Args:
        z: ``(B, K)`` samples, ``z_i ~ q(z|x_i)``.
        mu, logvar: ``(B, K)`` parameters of the diagonal Gaussian posteriors ``q(z|x_j)``.
        dataset_size: ``N``, the number of training examples that ``q(z)`` averages over;
            at least ``B``.
        estimator: ``"mws"`` or ``"mss"``.

    Returns:
        ``mi``, ``tc`` and ``dwkl``, each ``(B,)``; ``mi + tc + dwkl`` equals
        ``log q(z|x) - log p(z)`` exactly, whose mean over ``z ~ q(z|x)`` is the rate.
    """
    _check_latents(z, mu, logvar)
    log_w = minibatch_log_weights(
        z.shape[0], dataset_size, estimator, dtype=z.dtype, device=z.device
    )
    log_q = gaussian_log_density_matrix(z, mu, logvar)  # (B, B, K)
    log_qz_given_x = torch.diagonal(log_q, dim1=0, dim2=1).sum(dim=0)  # (K, B) -> (B,)
    log_qz = torch.logsumexp(log_w + log_q.sum(dim=2), dim=1)
    log_prod_marginals = torch.logsumexp(log_w[:, :, None] + log_q, dim=1).sum(dim=1)
    log_pz = -0.5 * (_LOG_2PI + z.square()).sum(dim=1)
    return {
        "mi": log_qz_given_x - log_qz,
        "tc": log_qz - log_prod_marginals,
        "dwkl": log_prod_marginals - log_pz,
    }


class BetaTCVAE(VAE):
    """A VAE trained on the β-TCVAE objective; subclasses implement ``encode``/``decode``.

    Per example, with one reparameterised ``z ~ q(z|x)``::

        loss = distortion + mi + beta * tc + dwkl

    so β = 1 gives the single-sample negative ELBO. ``rate`` is the analytic
    ``KL(q(z|x) || p(z))``, the same quantity as for every other model in the package, so
    rate–distortion curves are comparable; ``mi + tc + dwkl`` is its single-sample
    minibatch estimate. After :func:`mrvae.convert` the gated layers receive the same
    (per-example) β that weights the TC.

    Args:
        dataset_size: ``N`` of the training set; settable, e.g. for a subsample.
        estimator: ``"mws"`` or ``"mss"``, see :func:`minibatch_log_weights`.
        likelihood: ``p(x|z)``; Bernoulli by default.
    """

    #: The minibatch estimate of the aggregate posterior couples the examples of a batch.
    examples_independent = False

    def __init__(
        self, dataset_size: int, estimator: Estimator = "mws", likelihood: Likelihood | None = None
    ) -> None:
        super().__init__(likelihood)
        self.dataset_size = dataset_size
        self.estimator = estimator

    @property
    def dataset_size(self) -> int:
        """``N``, the number of training examples the aggregate posterior averages over."""
        return self._dataset_size

    @dataset_size.setter
    def dataset_size(self, value: int) -> None:
        self._dataset_size = _check_dataset_size(value)

    @property
    def estimator(self) -> str:
        """``"mws"`` or ``"mss"``."""
        return self._estimator

    @estimator.setter
    def estimator(self, value: str) -> None:
        self._estimator = _check_estimator(value)

    def objective(self, x: Tensor, output: Tensor, z: Tensor, mu: Tensor, logvar: Tensor,
                  beta: Tensor) -> dict[str, Tensor]:
        """β-TCVAE objective from one reparameterised sample per example.

        Shapes: ``x (B, *data)``, ``beta (B,)`` → ``loss``, ``rate``, ``distortion``, ``mi``,
        ``tc``, ``dwkl`` of shape ``(B,)``. Needs ``2 <= B <= dataset_size``.
        """
        distortion = self.likelihood.distortion(output, x)
        terms = tc_decomposition(z, mu, logvar, self.dataset_size, self.estimator)
        loss = distortion + terms["mi"] + beta * terms["tc"] + terms["dwkl"]
        return {"loss": loss, "rate": gaussian_kl(mu, logvar), "distortion": distortion, **terms}

    def extra_repr(self) -> str:
        return f"dataset_size={self.dataset_size}, estimator={self.estimator!r}"


class ChenMLPVAE(BetaTCVAE):
    """The MLP VAE of Chen et al. (2018) for 64x64 binary dSprites, Bernoulli likelihood.

    Encoder ``4096-1200-1200-(2 x 10)`` with ReLU, decoder ``10-1200-1200-1200-4096`` with
    tanh, as in Chen et al.'s released code (the paper text only mentions tanh). The encoder
    predicts ``(mu, logvar)`` of a diagonal Gaussian; the decoder returns logits.

    Shapes: ``x (B, *image_shape)`` → ``z (B, latent_dim)`` → logits ``(B, *image_shape)``.

    Args:
        dataset_size: ``N`` of the training set (737,280 for full dSprites).
        latent_dim: 10 in the paper.
        hidden: width of every hidden layer; 1200 in the paper.
        image_shape: ``(C, H, W)``; ``(1, 64, 64)`` for dSprites.
        estimator: ``"mws"`` or ``"mss"``.
    """

    def __init__(
        self,
        dataset_size: int,
        latent_dim: int = 10,
        hidden: int = 1200,
        image_shape: tuple[int, int, int] = (1, 64, 64),
        estimator: Estimator = "mws",
    ) -> None:
        for name, value in (("latent_dim", latent_dim), ("hidden", hidden)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if len(image_shape) != 3 or any(not isinstance(s, int) or s < 1 for s in image_shape):
            raise ValueError(
                f"image_shape must be three positive ints (C, H, W), e.g. (1, 64, 64), "
                f"got {image_shape!r}"
            )
        super().__init__(dataset_size, estimator, Likelihood("bernoulli"))
        self.latent_dim = latent_dim
        self.image_shape = tuple(image_shape)
        pixels = math.prod(self.image_shape)
        self.encoder = nn.Sequential(
            nn.Flatten(),
            nn.Linear(pixels, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 2 * latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, hidden), nn.Tanh(),
            nn.Linear(hidden, hidden), nn.Tanh(),
            nn.Linear(hidden, hidden), nn.Tanh(),
            nn.Linear(hidden, pixels),
        )

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, *image_shape)`` → ``mu, logvar (B, latent_dim)``."""
        if tuple(x.shape[1:]) != self.image_shape:
            raise ValueError(
                f"{type(self).__name__} expects images of shape (B, *{self.image_shape}), got "
                f"{tuple(x.shape)}; build it with image_shape={tuple(x.shape[1:])}"
            )
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        """``z (B, latent_dim)`` → Bernoulli logits ``(B, *image_shape)``."""
        return self.decoder(z).view(z.shape[0], *self.image_shape)
