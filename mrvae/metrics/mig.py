"""The Mutual Information Gap (MIG) of Chen et al. (2018, Sec. 5), used in the paper's Sec. 5.4.

For latent ``z_j`` and ground-truth factor ``v_k``::

    I(z_j; v_k) = H(z_j) - H(z_j | v_k)
    MIG = (1/F) Σ_k [ I(z_{j(1)}; v_k) - I(z_{j(2)}; v_k) ] / H(v_k)

where ``j(1)`` and ``j(2)`` are the latents with the largest and second-largest mutual
information with ``v_k``. ``z`` follows the aggregate posterior
``q(z) = (1/N) Σ_n q(z|x_n)`` of a Gaussian encoder, so ``H(z_j)`` has no closed form; it
is estimated by Monte Carlo with samples ``z ~ q(z|x_n)`` for random ``n`` and the exact
mixture density ``log q(z_j) = logmeanexp_n log N(z_j; mu_nj, sigma_nj^2)``.
``H(z_j | v_k) = Σ_v p(v) H(z_j | v_k = v)`` uses the same estimator restricted to the
examples with ``v_k = v``.

Chen et al.'s dSprites code leaves out the ``shape`` factor (and ``color`` has a single
value, so no entropy); the default ``exclude=("color", "shape")`` of
:func:`mutual_information_gap` therefore averages over scale, orientation, pos_x and pos_y.

Caveat shared with Chen et al.'s estimator: the mixture has ``N`` components, so estimated
entropies are bounded by ``log N + H(component)``. A nearly deterministic latent
(``sigma << spread of mu``) whose means vary continuously looks like it has
``I(z_j; v_k) ≈ log(N / N_v)`` with every factor, however unrelated. Use the full factor
grid (or a large subsample) and read per-factor MI alongside the MIG.

Cost: each entropy is ``O(num_samples · N · K)`` float64 log-densities, and the MIG needs
``1 + F`` of them. For all 737,280 dSprites images, ``K = 10`` and 10,000 samples that is
about 4e11 evaluations: seconds to minutes on a GPU (move ``mu`` and ``logvar`` there),
far longer on a CPU, where a random subsample of the images is the practical choice.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from mrvae.data.dsprites import FACTOR_NAMES
from mrvae.hyper.gates import BetaLike, as_beta_batch
from mrvae.hyper.layers import beta_context
from mrvae.models.base import VAE

__all__ = [
    "DEFAULT_EXCLUDE",
    "DSPRITES_FACTORS",
    "MIGResult",
    "conditional_entropies",
    "factor_entropies",
    "marginal_entropies",
    "model_mig",
    "mutual_information_gap",
    "posterior_parameters",
]

#: dSprites' latent factors in the order of its ``latents_classes`` array.
DSPRITES_FACTORS: tuple[str, ...] = FACTOR_NAMES
#: Factors left out of the MIG by default: color is constant, shape is excluded as in Chen et al.
DEFAULT_EXCLUDE: tuple[str, ...] = ("color", "shape")

_LOG_2PI = math.log(2.0 * math.pi)
# float64 elements per (samples, examples, latents) block of log-densities. On a CPU a block
# that stays in cache (512 KiB) ran ~4x faster than a 32 MiB one; a GPU wants big blocks
# (128 MiB) to amortise kernel launches.
_CHUNK_ELEMENTS = {"cpu": 1 << 16, "cuda": 1 << 24}


@dataclass(frozen=True)
class MIGResult:
    """Output of :func:`mutual_information_gap`. Columns follow ``factor_names``.

    Attributes:
        mig: mean of ``gap_per_factor`` over the included factors, in ``[0, 1]`` up to MC error.
        gap_per_factor: normalised gap between the two most informative latents, per factor.
        factor_names: the included factors, i.e. the columns of the matrices below.
        normalized_mi: ``I(z_j; v_k) / H(v_k)``, ``(K, F)`` float64.
        mutual_information: ``I(z_j; v_k)`` in nats, ``(K, F)``; tiny negatives are MC noise.
        marginal_entropies: ``H(z_j)`` in nats, ``(K,)``.
        conditional_entropies: ``H(z_j | v_k)`` in nats, ``(K, F)``.
        factor_entropies: ``H(v_k)`` in nats from the empirical factor distribution, ``(F,)``.
    """

    mig: float
    gap_per_factor: dict[str, float]
    factor_names: tuple[str, ...]
    normalized_mi: Tensor
    mutual_information: Tensor
    marginal_entropies: Tensor
    conditional_entropies: Tensor
    factor_entropies: Tensor


# --------------------------------------------------------------------------- posteriors


@torch.no_grad()
def posterior_parameters(
    model: VAE, images: Tensor, beta: BetaLike, *, batch_size: int = 1000
) -> tuple[Tensor, Tensor]:
    """Means and log-variances of ``q(z|x)`` at ``beta`` for every image.

    Runs ``model.encode`` in eval mode under :func:`mrvae.beta_context`, batch by batch on
    the model's device (``images`` may stay on the CPU), and restores the training mode.

    Args:
        model: a VAE (plain or converted to an MR-VAE).
        images: ``(N, *data)``.
        beta: a positive scalar shared by all images (an MR-VAE's β; ignored by plain layers).
        batch_size: images per forward pass.

    Returns:
        ``mu, logvar`` of shape ``(N, K)`` on the model's device, so the entropy estimates
        that follow run there too.
    """
    if not isinstance(images, Tensor) or images.dim() < 2:
        raise ValueError(
            f"images must be a batched tensor (N, *data), got "
            f"{tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__}"
        )
    if images.shape[0] == 0:
        raise ValueError("images is empty; pass at least one image")
    _check_positive_int(batch_size, "batch_size")
    if isinstance(beta, Tensor) and beta.numel() != 1:
        raise ValueError(
            f"beta must be one scalar for all images, got shape {tuple(beta.shape)}; "
            "call posterior_parameters once per β"
        )
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else images.device
    was_training = model.training
    model.eval()
    mus, logvars = [], []
    try:
        for start in range(0, images.shape[0], batch_size):
            x = images[start : start + batch_size].to(device)
            with beta_context(model, as_beta_batch(beta, x.shape[0], device=device)):
                mu, logvar = model.encode(x)
            mus.append(mu)
            logvars.append(logvar)
    finally:
        model.train(was_training)
    return torch.cat(mus), torch.cat(logvars)


# --------------------------------------------------------------------------- entropies


def marginal_entropies(
    mu: Tensor,
    logvar: Tensor,
    *,
    num_samples: int = 10_000,
    seed: int = 0,
    chunk_elements: int | None = None,
) -> Tensor:
    """``H(z_j)`` in nats for each latent under ``q(z) = (1/N) Σ_n q(z|x_n)``.

    Monte Carlo: ``num_samples`` draws ``z ~ q(z|x_n)`` with ``n`` cycling through random
    permutations of the examples (each example used ``⌊S/N⌋`` or ``⌈S/N⌉`` times), and
    ``H(z_j) ≈ -mean_s logmeanexp_n log N(z_sj; mu_nj, exp(logvar_nj))`` in float64. Memory
    is bounded by ``chunk_elements``; time is ``O(num_samples · N · K)``.

    Args:
        mu, logvar: ``(N, K)`` posterior parameters, e.g. from :func:`posterior_parameters`.
        num_samples: Monte Carlo samples (Chen et al. use 10,000).
        seed: seeds a private generator; the global RNG is untouched.
        chunk_elements: float64 elements per block of log-densities; ``None`` picks a
            default for ``mu``'s device (2^16 on CPU, 2^24 on GPU).

    Returns:
        ``(K,)`` float64 on ``mu``'s device.
    """
    mu64, logvar64 = _check_posteriors(mu, logvar)
    _check_positive_int(num_samples, "num_samples")
    chunk = _chunk_elements(chunk_elements, mu64.device)
    generator = torch.Generator().manual_seed(seed)
    return _mixture_entropy(mu64, logvar64, num_samples, generator, chunk)


def conditional_entropies(
    mu: Tensor,
    logvar: Tensor,
    factor_classes: Tensor | np.ndarray,
    *,
    num_samples: int = 10_000,
    seed: int = 0,
    chunk_elements: int | None = None,
) -> Tensor:
    """``H(z_j | v_k) = Σ_v p(v) H(z_j | v_k = v)`` in nats, for every latent and factor.

    Each ``H(z_j | v_k = v)`` is :func:`marginal_entropies`' estimator applied to the
    examples with ``v_k = v`` (``num_samples`` samples each); ``p(v)`` is the empirical
    frequency, so subsampled or unbalanced data are weighted correctly.

    Args:
        mu, logvar: ``(N, K)`` posterior parameters.
        factor_classes: ``(N, F)`` integer factor values (any integers, e.g. dSprites'
            ``latents_classes``).
        num_samples, seed, chunk_elements: as in :func:`marginal_entropies`.

    Returns:
        ``(K, F)`` float64 on ``mu``'s device.
    """
    mu64, logvar64 = _check_posteriors(mu, logvar)
    classes = _check_factor_classes(factor_classes, mu64.shape[0])
    _check_positive_int(num_samples, "num_samples")
    chunk = _chunk_elements(chunk_elements, mu64.device)
    generator = torch.Generator().manual_seed(seed)
    columns = [
        _conditional_entropy(mu64, logvar64, classes[:, k], num_samples, generator, chunk)
        for k in range(classes.shape[1])
    ]
    return torch.stack(columns, dim=1)


def factor_entropies(factor_classes: Tensor | np.ndarray) -> Tensor:
    """``H(v_k)`` in nats of the empirical distribution of each factor: ``(N, F) -> (F,)``.

    For a full uniform grid this is ``log(number of values)``, Chen et al.'s normaliser.
    """
    classes = _check_factor_classes(factor_classes, None)
    entropies = []
    for k in range(classes.shape[1]):
        _, counts = torch.unique(classes[:, k], return_counts=True)
        p = counts.double() / classes.shape[0]
        entropies.append(-(p * p.log()).sum())
    return torch.stack(entropies)


# --------------------------------------------------------------------------- MIG


def mutual_information_gap(
    mu: Tensor,
    logvar: Tensor,
    factor_classes: Tensor | np.ndarray,
    *,
    factor_names: Sequence[str] = DSPRITES_FACTORS,
    exclude: Sequence[str] = DEFAULT_EXCLUDE,
    num_samples: int = 10_000,
    seed: int = 0,
    chunk_elements: int | None = None,
) -> MIGResult:
    """Mutual Information Gap of a Gaussian encoder (Chen et al. 2018, Sec. 5).

    ``MIG = mean_k (I(z_{j(1)}; v_k) - I(z_{j(2)}; v_k)) / H(v_k)`` over the factors not in
    ``exclude``; see the module docstring for the estimator and its caveat.

    Args:
        mu, logvar: ``(N, K)`` posterior parameters, ``K >= 2``.
        factor_classes: ``(N, F)`` integer factor values of the same examples.
        factor_names: ``F`` unique names; the default is dSprites' six factors.
        exclude: factors to leave out. Names of :data:`DEFAULT_EXCLUDE` that are not factors
            are ignored (so the default works beyond dSprites); any other unknown name raises.
        num_samples: Monte Carlo samples per entropy estimate.
        seed: makes the result deterministic; the global RNG is untouched.
        chunk_elements: float64 elements per block of log-densities (bounds memory);
            ``None`` picks a default for ``mu``'s device.

    Returns:
        A :class:`MIGResult`; its matrices have one column per included factor.
    """
    mu64, logvar64 = _check_posteriors(mu, logvar)
    if mu64.shape[1] < 2:
        raise ValueError(
            f"MIG needs at least 2 latents (it compares the two most informative), got "
            f"K={mu64.shape[1]}"
        )
    classes = _check_factor_classes(factor_classes, mu64.shape[0])
    names = _included_factors(factor_names, exclude, classes.shape[1])
    columns = [list(factor_names).index(name) for name in names]
    classes = classes[:, columns]
    h_factor = factor_entropies(classes)
    constant = [name for name, h in zip(names, h_factor.tolist(), strict=True) if h <= 0.0]
    if constant:
        raise ValueError(
            f"factor(s) {constant} take a single value in factor_classes, so H(v)=0 and the "
            f"normalised MI is undefined; add them to exclude="
        )

    h_marginal = marginal_entropies(
        mu64, logvar64, num_samples=num_samples, seed=seed, chunk_elements=chunk_elements
    )
    # seed + 1: the conditionals draw samples independent of the marginal's, so their MC
    # errors are independent and the variance of each MI is the sum of the two variances.
    h_conditional = conditional_entropies(
        mu64, logvar64, classes, num_samples=num_samples, seed=seed + 1,
        chunk_elements=chunk_elements,
    )
    mutual_information = (h_marginal[:, None] - h_conditional).cpu()
    normalized = mutual_information / h_factor[None, :]
    gaps = _top_two_gap(normalized)
    gap_per_factor = dict(zip(names, gaps.tolist(), strict=True))
    return MIGResult(
        mig=float(gaps.mean()),
        gap_per_factor=gap_per_factor,
        factor_names=names,
        normalized_mi=normalized,
        mutual_information=mutual_information,
        marginal_entropies=h_marginal.cpu(),
        conditional_entropies=h_conditional.cpu(),
        factor_entropies=h_factor,
    )


def _top_two_gap(normalized_mi: Tensor) -> Tensor:
    """``(K, F) -> (F,)``: largest minus second-largest entry of each column."""
    top_two = torch.topk(normalized_mi, k=2, dim=0).values
    return top_two[0] - top_two[1]


# --------------------------------------------------------------------------- estimator


def _conditional_entropy(
    mu: Tensor,
    logvar: Tensor,
    values: Tensor,
    num_samples: int,
    generator: torch.Generator,
    chunk_elements: int,
) -> Tensor:
    """``Σ_v p(v) H(z | v)`` for one factor: ``values (N,)`` → ``(K,)``."""
    _, inverse, counts = torch.unique(values, return_inverse=True, return_counts=True)
    # One sort groups the examples of each value contiguously, instead of a mask per value.
    order = torch.argsort(inverse, stable=True).to(mu.device)
    groups = torch.split(order, counts.tolist())
    total = torch.zeros(mu.shape[1], dtype=torch.float64, device=mu.device)
    for group, count in zip(groups, counts.tolist(), strict=True):
        h_v = _mixture_entropy(mu[group], logvar[group], num_samples, generator, chunk_elements)
        total += (count / values.shape[0]) * h_v
    return total


def _mixture_entropy(
    mu: Tensor,
    logvar: Tensor,
    num_samples: int,
    generator: torch.Generator,
    chunk_elements: int,
) -> Tensor:
    """Entropy per latent of ``(1/N) Σ_n N(mu_n, diag exp(logvar_n))``: ``(N, K)`` → ``(K,)``.

    ``mu`` and ``logvar`` are float64. Samples are drawn on the CPU generator, so a seed gives
    the same numbers on every device.
    """
    n, k = mu.shape
    repeats = -(-num_samples // n)
    # Random permutations, concatenated: every example is sampled about S/N times.
    index = torch.argsort(torch.rand(repeats, n, generator=generator), dim=1).flatten()
    index = index[:num_samples].to(mu.device)
    noise = torch.randn(num_samples, k, generator=generator, dtype=torch.float64).to(mu.device)
    z = mu[index] + (0.5 * logvar[index]).exp() * noise

    inv_std = torch.exp(-0.5 * logvar)
    log_norm = -0.5 * (_LOG_2PI + logvar)
    n_chunk = min(n, max(1, chunk_elements // (k * min(num_samples, 64))))
    s_chunk = min(num_samples, max(1, chunk_elements // (k * n_chunk)))
    neg_log_q_sum = torch.zeros(k, dtype=torch.float64, device=mu.device)
    for s in range(0, num_samples, s_chunk):
        z_block = z[s : s + s_chunk, None, :]  # (S_c, 1, K)
        log_q = torch.full((z_block.shape[0], k), -math.inf, dtype=torch.float64, device=mu.device)
        for start in range(0, n, n_chunk):
            end = start + n_chunk
            # log N(z; mu, sigma^2) for the block, (S_c, N_c, K), in place to spare allocations.
            log_density = (z_block - mu[start:end]).mul_(inv_std[start:end]).square_()
            log_density.mul_(-0.5).add_(log_norm[start:end])
            log_q = torch.logaddexp(log_q, torch.logsumexp(log_density, dim=1))
        neg_log_q_sum -= (log_q - math.log(n)).sum(dim=0)
    return neg_log_q_sum / num_samples


# --------------------------------------------------------------------------- validation


def _chunk_elements(chunk_elements: int | None, device: torch.device) -> int:
    """The block size to use: the caller's, validated, or the device's default."""
    if chunk_elements is None:
        return _CHUNK_ELEMENTS.get(device.type, _CHUNK_ELEMENTS["cuda"])
    _check_positive_int(chunk_elements, "chunk_elements")
    return chunk_elements


def _check_positive_int(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")


def _check_posteriors(mu: Tensor, logvar: Tensor) -> tuple[Tensor, Tensor]:
    """Validate ``(N, K)`` posterior parameters and return float64 copies."""
    for name, value in (("mu", mu), ("logvar", logvar)):
        if not isinstance(value, Tensor):
            raise ValueError(f"{name} must be a torch.Tensor, got {type(value).__name__}")
        if value.dim() != 2:
            raise ValueError(
                f"{name} must have shape (N, K) = (examples, latents), got {tuple(value.shape)}; "
                "flatten extra latent dims with .flatten(1)"
            )
    if mu.shape != logvar.shape:
        raise ValueError(
            f"mu and logvar must have the same shape, got {tuple(mu.shape)} and "
            f"{tuple(logvar.shape)}"
        )
    if mu.shape[0] == 0 or mu.shape[1] == 0:
        raise ValueError(f"mu and logvar are empty (shape {tuple(mu.shape)})")
    if mu.device != logvar.device:
        raise ValueError(f"mu is on {mu.device} but logvar on {logvar.device}; move both to one")
    mu64, logvar64 = mu.detach().double(), logvar.detach().double()
    if not bool(torch.isfinite(mu64).all() & torch.isfinite(logvar64).all()):
        raise ValueError("mu and logvar must be finite; check the encoder for NaN/inf outputs")
    return mu64, logvar64


def _check_factor_classes(factor_classes: Tensor | np.ndarray, num_examples: int | None) -> Tensor:
    """Validate ``(N, F)`` integer factor values and return them as an int64 CPU tensor."""
    if isinstance(factor_classes, np.ndarray):
        factor_classes = torch.from_numpy(factor_classes)
    if not isinstance(factor_classes, Tensor):
        raise ValueError(
            f"factor_classes must be a tensor or numpy array, got {type(factor_classes).__name__}"
        )
    if factor_classes.dim() != 2 or factor_classes.shape[1] == 0:
        raise ValueError(
            f"factor_classes must have shape (N, F) = (examples, factors), got "
            f"{tuple(factor_classes.shape)}; use .unsqueeze(1) for a single factor"
        )
    if factor_classes.is_floating_point() or factor_classes.is_complex() or (
        factor_classes.dtype == torch.bool
    ):
        raise ValueError(
            f"factor_classes must hold integer class indices, got dtype {factor_classes.dtype}; "
            "use dSprites' latents_classes, not latents_values"
        )
    if num_examples is not None and factor_classes.shape[0] != num_examples:
        raise ValueError(
            f"factor_classes has {factor_classes.shape[0]} rows but mu has {num_examples}; "
            "pass the factors of exactly the encoded examples, in the same order"
        )
    if factor_classes.shape[0] == 0:
        raise ValueError("factor_classes is empty; pass at least one example")
    return factor_classes.detach().to("cpu", torch.int64)


def _included_factors(
    factor_names: Sequence[str], exclude: Sequence[str], num_factors: int
) -> tuple[str, ...]:
    """Names of the factors the MIG averages over, in column order."""
    if isinstance(factor_names, str) or isinstance(exclude, str):
        raise ValueError("factor_names and exclude must be sequences of names, not one string")
    names = list(factor_names)
    if len(names) != num_factors:
        raise ValueError(
            f"factor_names has {len(names)} names but factor_classes has {num_factors} columns; "
            "give one name per column"
        )
    if len(set(names)) != len(names):
        raise ValueError(f"factor_names must be unique, got {names}")
    unknown = [e for e in exclude if e not in names and e not in DEFAULT_EXCLUDE]
    if unknown:
        raise ValueError(f"exclude names {unknown} are not factors; factor_names are {names}")
    included = tuple(name for name in names if name not in set(exclude))
    if not included:
        raise ValueError(f"exclude={list(exclude)} leaves no factor to average the MIG over")
    return included


def model_mig(
    model: VAE,
    images: Tensor,
    factor_classes: Tensor | np.ndarray,
    beta: float,
    *,
    batch_size: int = 1000,
    **mig_options: object,
) -> MIGResult:
    """MIG of ``model``'s encoder at ``beta``: :func:`posterior_parameters` then
    :func:`mutual_information_gap` (``mig_options`` go to the latter)."""
    mu, logvar = posterior_parameters(model, images, beta, batch_size=batch_size)
    return mutual_information_gap(mu, logvar, factor_classes, **mig_options)  # type: ignore[arg-type]
