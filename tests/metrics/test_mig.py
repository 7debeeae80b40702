"""MIG (Chen et al. 2018): analytic entropies and sanity bands on synthetic factors."""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
import torch
from torch import Tensor, nn

import mrvae
from mrvae.hyper.layers import beta_gates
from mrvae.metrics.mig import (
    conditional_entropies,
    factor_entropies,
    marginal_entropies,
    mutual_information_gap,
    posterior_parameters,
)

SIZES = (4, 6, 8)
NAMES = ("a", "b", "c")
NUM_SAMPLES = 2000  # MC error of each entropy is about 0.7 / sqrt(2000) ≈ 0.016 nats
TINY_LOGVAR = math.log(1e-4)


def gaussian_entropy(variance: float) -> float:
    return 0.5 * math.log(2 * math.pi * math.e * variance)


@pytest.fixture(scope="module")
def factors() -> Tensor:
    """A uniform grid of 3 factors with 4, 6 and 8 values, each cell 10 times: (1920, 3)."""
    return torch.cartesian_prod(*[torch.arange(s) for s in SIZES]).repeat(10, 1)


@pytest.fixture(scope="module")
def standardized(factors: Tensor) -> Tensor:
    values = factors.double()
    return (values - values.mean(0)) / values.std(0)


def mig(mu: Tensor, logvar: Tensor, factors: Tensor, **kwargs) -> mrvae.metrics.mig.MIGResult:
    kwargs.setdefault("num_samples", NUM_SAMPLES)
    return mutual_information_gap(mu, logvar, factors, factor_names=NAMES, **kwargs)


# ------------------------------------------------------------------ analytic entropies


def test_marginal_entropy_of_identical_gaussians_is_closed_form() -> None:
    # All posteriors equal: q(z) = N(0.3, 0.49) per latent, H = 0.5 log(2πe σ²).
    mu = torch.full((50, 2), 0.3)
    logvar = torch.full((50, 2), math.log(0.49))
    h = marginal_entropies(mu, logvar, num_samples=20_000, seed=3)
    assert h.shape == (2,) and h.dtype == torch.float64
    # -log N(z) has std 1/sqrt(2), so the MC standard error is 0.005.
    expected = torch.full((2,), gaussian_entropy(0.49), dtype=torch.float64)
    assert torch.allclose(h, expected, atol=0.02)


def test_entropy_of_separated_mixture_adds_log_of_components() -> None:
    # 5 well-separated narrow components, equal weight: H = log 5 + H(component).
    centers = torch.arange(5, dtype=torch.float64).repeat(40)[:, None] * 10.0
    logvar = torch.full_like(centers, math.log(0.01))
    h = marginal_entropies(centers, logvar, num_samples=5000)
    assert h.item() == pytest.approx(math.log(5) + gaussian_entropy(0.01), abs=0.03)


def test_conditional_entropy_of_a_copied_factor(factors: Tensor, standardized: Tensor) -> None:
    mu = standardized[:, :1]
    logvar = torch.full_like(mu, TINY_LOGVAR)
    h = conditional_entropies(mu, logvar, factors, num_samples=500)
    # Given its own factor the latent is one narrow Gaussian; given another it keeps all peaks.
    assert h[0, 0].item() == pytest.approx(gaussian_entropy(1e-4), abs=0.05)
    for k in (1, 2):
        all_peaks = math.log(SIZES[0]) + gaussian_entropy(1e-4)
        assert h[0, k].item() == pytest.approx(all_peaks, abs=0.05)


def test_factor_entropies_use_the_empirical_distribution(factors: Tensor) -> None:
    expected = torch.tensor([math.log(s) for s in SIZES], dtype=torch.float64)
    assert torch.allclose(factor_entropies(factors), expected)
    skewed = torch.tensor([[0], [0], [0], [1]])  # p = (3/4, 1/4)
    expected_skewed = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert factor_entropies(skewed).item() == pytest.approx(expected_skewed)


def test_chunking_does_not_change_the_estimate() -> None:
    gen = torch.Generator().manual_seed(0)
    mu, logvar = torch.randn(300, 3, generator=gen), torch.randn(300, 3, generator=gen) - 1
    whole = marginal_entropies(mu, logvar, num_samples=700)
    chunked = marginal_entropies(mu, logvar, num_samples=700, chunk_elements=97)
    assert torch.allclose(whole, chunked, rtol=0, atol=1e-10)


# ------------------------------------------------------------------ MIG sanity bands


def test_factors_plus_noise_latents_score_near_one(factors: Tensor, standardized: Tensor) -> None:
    gen = torch.Generator().manual_seed(1)
    # Two collapsed latents (posterior ≈ prior) beside one sharp latent per factor.
    n = len(factors)
    noise = 0.1 * torch.randn(n, 2, generator=gen, dtype=torch.float64)
    mu = torch.cat([standardized, noise], 1)
    logvar = torch.cat([torch.full((n, 3), TINY_LOGVAR), torch.zeros(n, 2)], 1)
    result = mig(mu, logvar, factors)
    assert result.mig > 0.95
    assert all(gap > 0.95 for gap in result.gap_per_factor.values())
    assert result.normalized_mi.shape == (5, 3)
    # The diagonal carries the information, everything else is MC noise around 0.
    diagonal = result.normalized_mi[:3].diag()
    assert torch.allclose(diagonal, torch.ones(3, dtype=torch.float64), atol=0.05)
    off_diagonal = result.normalized_mi[:3] - torch.diag(diagonal)
    assert off_diagonal.abs().max() < 0.05 and result.normalized_mi[3:].abs().max() < 0.05


@pytest.mark.parametrize("kind", ["prior", "random"])
def test_latents_independent_of_factors_score_near_zero(factors: Tensor, kind: str) -> None:
    gen = torch.Generator().manual_seed(2)
    if kind == "prior":
        mu, logvar = torch.zeros(len(factors), 4), torch.zeros(len(factors), 4)
    else:
        mu, logvar = torch.randn(len(factors), 4, generator=gen), torch.zeros(len(factors), 4)
    assert mig(mu, logvar, factors).mig < 0.05


def test_two_latents_copying_one_factor_close_its_gap(
    factors: Tensor, standardized: Tensor
) -> None:
    mu = torch.cat([standardized, standardized[:, :1]], 1)  # latents 0 and 3 both encode factor a
    logvar = torch.full_like(mu, TINY_LOGVAR)
    gaps = mig(mu, logvar, factors).gap_per_factor
    assert gaps["a"] < 0.05
    assert gaps["b"] > 0.95 and gaps["c"] > 0.95


def test_mig_is_deterministic_and_seed_dependent(factors: Tensor) -> None:
    gen = torch.Generator().manual_seed(4)
    mu, logvar = torch.randn(len(factors), 2, generator=gen), torch.zeros(len(factors), 2)
    kwargs = dict(factor_names=NAMES, num_samples=300)
    first = mutual_information_gap(mu, logvar, factors, **kwargs)
    again = mutual_information_gap(mu, logvar, factors.numpy(), **kwargs)  # numpy is accepted
    other = mutual_information_gap(mu, logvar, factors, seed=1, **kwargs)
    assert first.mig == again.mig
    assert torch.equal(first.normalized_mi, again.normalized_mi)
    assert first.mig != other.mig


def test_default_exclusions_follow_chen_on_dsprites_factors() -> None:
    # dSprites layout: color is constant, shape is left out; MIG averages the other four.
    gen = torch.Generator().manual_seed(5)
    varying = [torch.randint(0, 3, (600,), generator=gen) for _ in range(5)]
    classes = torch.stack([torch.zeros(600, dtype=torch.long), *varying], 1)
    mu, logvar = classes[:, 1:].double(), torch.full((600, 5), TINY_LOGVAR)
    result = mutual_information_gap(mu, logvar, classes, num_samples=200)
    assert result.factor_names == ("scale", "orientation", "pos_x", "pos_y")
    assert result.mig == pytest.approx(np.mean(list(result.gap_per_factor.values())))
    assert result.mig > 0.9


# ------------------------------------------------------------------ validation


def test_bad_inputs_raise_with_the_fix(factors: Tensor) -> None:
    mu, logvar = torch.zeros(len(factors), 3), torch.zeros(len(factors), 3)
    with pytest.raises(ValueError, match="at least 2 latents"):
        mig(mu[:, :1], logvar[:, :1], factors)
    with pytest.raises(ValueError, match="same shape"):
        mig(mu, logvar[:, :2], factors)
    with pytest.raises(ValueError, match="rows but mu has"):
        mig(mu, logvar, factors[:10])
    with pytest.raises(ValueError, match="integer class indices"):
        mig(mu, logvar, factors.float())
    with pytest.raises(ValueError, match=r"shape \(N, K\)"):
        mig(mu[:, 0], logvar[:, 0], factors)
    with pytest.raises(ValueError, match="one name per column"):
        mutual_information_gap(mu, logvar, factors, factor_names=("a", "b"))
    with pytest.raises(ValueError, match="not factors"):
        mig(mu, logvar, factors, exclude=("typo",))
    with pytest.raises(ValueError, match="leaves no factor"):
        mig(mu, logvar, factors, exclude=NAMES)
    with pytest.raises(ValueError, match="finite"):
        mig(mu.clone().fill_(math.nan), logvar, factors)
    with pytest.raises(ValueError, match="num_samples"):
        mig(mu, logvar, factors, num_samples=0)
    constant = factors.clone()
    constant[:, 2] = 7
    with pytest.raises(ValueError, match=r"single value.*exclude="):
        mig(mu, logvar, constant)


# ------------------------------------------------------------------ posterior parameters


class AffineEncoder(mrvae.VAE):
    """``mu = W x``, ``logvar = V x`` through one layer that convert() can gate."""

    def __init__(self) -> None:
        super().__init__(mrvae.Likelihood("gaussian"))
        self.encoder = nn.Linear(6, 4)
        self.decoder = nn.Linear(2, 6)

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)


def test_posterior_parameters_match_encode_at_beta(beta_range: mrvae.BetaRange) -> None:
    torch.manual_seed(0)
    model = mrvae.convert(AffineEncoder(), beta_range, gate_encoder_heads=True)
    for gate in beta_gates(model):
        nn.init.normal_(gate.weight)  # make the encoder depend on β
    x = torch.randn(25, 6)
    model.train()
    mu, logvar = posterior_parameters(model, x, 0.1, batch_size=7)
    assert model.training  # mode restored
    assert mu.shape == logvar.shape == (25, 2)
    assert torch.allclose(mu, model.encode_mean(x, 0.1), atol=1e-6)
    with mrvae.beta_context(model, torch.full((25,), 0.1)):
        expected_logvar = model.encode(x)[1]
    assert torch.allclose(logvar, expected_logvar, atol=1e-6)
    other_mu, _ = posterior_parameters(copy.deepcopy(model), x, 5.0)
    assert not torch.allclose(mu, other_mu, atol=1e-3)
    with pytest.raises(ValueError, match="one scalar"):
        posterior_parameters(model, x, torch.ones(25))
