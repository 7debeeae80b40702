import math

import pytest
import torch
import torch.distributions as D

from mrvae.models.objective import Likelihood, beta_vae_loss, gaussian_kl


def test_kl_matches_torch_distributions() -> None:
    torch.manual_seed(0)
    mu, logvar = torch.randn(5, 3), torch.randn(5, 3)
    q = D.Independent(D.Normal(mu, (0.5 * logvar).exp()), 1)
    p = D.Independent(D.Normal(torch.zeros(3), torch.ones(3)), 1)
    assert torch.allclose(gaussian_kl(mu, logvar), D.kl_divergence(q, p), atol=1e-5)


def test_kl_is_zero_at_the_prior() -> None:
    assert gaussian_kl(torch.zeros(2, 4), torch.zeros(2, 4)).abs().max() == 0


def test_bernoulli_distortion_is_summed_negative_log_likelihood() -> None:
    torch.manual_seed(0)
    logits, x = torch.randn(3, 1, 2, 2), (torch.rand(3, 1, 2, 2) > 0.5).float()
    expected = -D.Bernoulli(logits=logits).log_prob(x).flatten(1).sum(1)
    assert torch.allclose(Likelihood("bernoulli").distortion(logits, x), expected, atol=1e-5)


def test_gaussian_distortion_with_and_without_constant() -> None:
    torch.manual_seed(0)
    mean, x = torch.randn(3, 6), torch.randn(3, 6)
    sigma2 = 0.3
    full = -D.Normal(mean, math.sqrt(sigma2)).log_prob(x).sum(1)
    with_const = Likelihood("gaussian", sigma2, include_constant=True).distortion(mean, x)
    without = Likelihood("gaussian", sigma2).distortion(mean, x)
    assert torch.allclose(with_const, full, atol=1e-5)
    assert torch.allclose(full - without, torch.full((3,), 3 * math.log(2 * math.pi * sigma2)), atol=1e-5)


def test_loss_is_distortion_plus_beta_rate_per_example() -> None:
    out = beta_vae_loss(torch.tensor([1.0, 2.0]), torch.tensor([3.0, 4.0]), torch.tensor([0.5, 2.0]))
    assert out["loss"].tolist() == [2.5, 10.0]


def test_shape_mismatch_and_bad_data_are_explained() -> None:
    with pytest.raises(ValueError, match="does not match"):
        Likelihood().distortion(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        Likelihood("bernoulli").check_data(torch.tensor([[0.0, 255.0]]))
    with pytest.raises(ValueError, match="NaN"):
        Likelihood("gaussian").check_data(torch.tensor([[float("nan")]]))
    with pytest.raises(ValueError, match="sigma2"):
        Likelihood("gaussian", 0.0)
