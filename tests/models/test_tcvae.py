"""β-TCVAE: the decomposition's estimators against exact answers, and the model's objective."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from torch import Tensor, nn
from torch.distributions import Normal

import mrvae
from mrvae.hyper.layers import beta_gates
from mrvae.models.tcvae import BetaTCVAE, ChenMLPVAE, minibatch_log_weights, tc_decomposition


def _log_posterior(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """``log q(z_i | x_j)`` summed over dims, by torch.distributions: ``(B, K)`` x3 → ``(B, N)``."""
    return Normal(mu[None], (0.5 * logvar[None]).exp()).log_prob(z[:, None]).sum(-1)


def _log_prior(z: Tensor) -> Tensor:
    return Normal(0.0, 1.0).log_prob(z).sum(-1)


def _latents(b: int, k: int, seed: int = 0) -> tuple[Tensor, Tensor, Tensor]:
    """Float64 ``z, mu, logvar (b, k)`` with ``z ~ q(z|x)``."""
    gen = torch.Generator().manual_seed(seed)
    mu = torch.randn(b, k, generator=gen, dtype=torch.float64)
    logvar = 0.5 * torch.randn(b, k, generator=gen, dtype=torch.float64) - 1.0
    z = mu + (0.5 * logvar).exp() * torch.randn(b, k, generator=gen, dtype=torch.float64)
    return z, mu, logvar


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_terms_sum_to_the_single_sample_kl(estimator: str) -> None:
    z, mu, logvar = _latents(6, 3)
    terms = tc_decomposition(z, mu, logvar, dataset_size=50, estimator=estimator)
    exact = _log_posterior(z, mu, logvar).diagonal() - _log_prior(z)
    assert all(t.shape == (6,) for t in terms.values())
    torch.testing.assert_close(terms["mi"] + terms["tc"] + terms["dwkl"], exact)


def test_mws_is_exact_when_the_batch_is_the_whole_dataset() -> None:
    n, k = 7, 3
    z, mu, logvar = _latents(n, k)
    terms = tc_decomposition(z, mu, logvar, dataset_size=n, estimator="mws")
    log_qz = torch.logsumexp(_log_posterior(z, mu, logvar), dim=1) - math.log(n)
    marginals = Normal(mu[None], (0.5 * logvar[None]).exp()).log_prob(z[:, None])  # (N, N, K)
    log_prod_qzk = (torch.logsumexp(marginals, dim=1) - math.log(n)).sum(-1)
    torch.testing.assert_close(_log_posterior(z, mu, logvar).diagonal() - terms["mi"], log_qz)
    torch.testing.assert_close(terms["tc"], log_qz - log_prod_qzk)
    torch.testing.assert_close(terms["dwkl"], log_prod_qzk - _log_prior(z))


@pytest.mark.parametrize("estimator", ["mws", "mss"])
@pytest.mark.parametrize("batch_size", [2, 3, 5])
def test_weight_rows_sum_to_one(estimator: str, batch_size: int) -> None:
    n = 9
    w = minibatch_log_weights(batch_size, n, estimator, dtype=torch.float64).exp()
    torch.testing.assert_close(w.sum(1), torch.ones(batch_size, dtype=torch.float64))
    if estimator == "mws":  # Chen et al.'s weights up to the constant log N: uniform over the batch
        torch.testing.assert_close(w, torch.full_like(w, 1 / batch_size))
    else:  # the own sample stands for itself only
        torch.testing.assert_close(w.diagonal(), torch.full((batch_size,), 1 / n, dtype=torch.float64))
    if estimator == "mss" and batch_size > 2:
        m = batch_size - 1
        off = w[~torch.eye(batch_size, dtype=torch.bool)].view(batch_size, m)
        stratum = torch.isclose(off, torch.tensor((n - m) / (n * m), dtype=torch.float64))
        assert stratum.sum(1).eq(1).all()  # exactly one stratum weight per row


def test_stratified_estimator_is_unbiased_for_the_aggregate_posterior() -> None:
    """Average the MSS estimate of ``q(z_0)`` over every ordered choice of batch mates: it is exact.

    (MWS is not: it gives the own sample weight 1/B instead of 1/N.)
    """
    estimator = "mss"
    n, b, k = 5, 3, 2
    z, mu, logvar = _latents(n, k, seed=1)
    true_qz = _log_posterior(z[:1], mu, logvar).logsumexp(1).exp() / n
    estimates = []
    for mates in itertools.permutations(range(1, n), b - 1):
        idx = torch.tensor((0, *mates))
        terms = tc_decomposition(z[idx], mu[idx], logvar[idx], n, estimator)
        log_qz = _log_posterior(z[:1], mu[:1], logvar[:1])[0, 0] - terms["mi"][0]
        estimates.append(log_qz.exp())
    # Unbiased for q(z_0) itself, not for its log.
    torch.testing.assert_close(torch.stack(estimates).mean(), true_qz[0])


def _grid_posteriors(values: Tensor, correlated: bool) -> tuple[Tensor, Tensor]:
    """Narrow posteriors centred on an 8x8 grid (factorised q(z)) or on a line (correlated)."""
    if correlated:
        line = torch.linspace(-3, 3, values.numel() ** 2, dtype=torch.float64)
        mu = torch.stack([line, line], dim=1)
    else:
        mu = torch.cartesian_prod(values, values)
    return mu, torch.full_like(mu, math.log(0.01**2))


def test_total_correlation_is_zero_for_a_factorised_and_large_for_a_correlated_aggregate() -> None:
    values = torch.linspace(-3, 3, 8, dtype=torch.float64)
    gen = torch.Generator().manual_seed(0)
    tcs = {}
    for correlated in (False, True):
        mu, logvar = _grid_posteriors(values, correlated)
        z = mu + (0.5 * logvar).exp() * torch.randn(mu.shape, generator=gen, dtype=torch.float64)
        n = mu.shape[0]
        # The whole dataset as one batch: MWS is exact, so a product-grid mixture has TC = 0.
        tcs[correlated] = tc_decomposition(z, mu, logvar, n, "mws")["tc"]
        # Minibatches of 16 with stratified weights: the estimate still separates the two cases.
        batches = torch.randperm(n, generator=gen).view(4, 16)
        mss = torch.cat([tc_decomposition(z[i], mu[i], logvar[i], n, "mss")["tc"] for i in batches])
        tcs[(correlated, "mss")] = mss.mean()
    assert tcs[False].abs().max() < 1e-9
    # Well separated components on a line: z_1 alone names the component, so TC = I(z_1; z_2)
    # = log 64, and any batch recovers it since the own component dominates every density.
    assert tcs[True].mean() == pytest.approx(math.log(64), rel=1e-4)
    assert float(tcs[(True, "mss")]) == pytest.approx(math.log(64), rel=1e-4)
    # Minibatch marginals over a 16-of-64 batch are noisy (log of an unbiased estimate), so the
    # factorised TC is small but not zero.
    assert 0.0 < tcs[(False, "mss")] < 1.0


@pytest.mark.parametrize("estimator", ["mws", "mss"])
def test_gradcheck(estimator: str) -> None:
    z, mu, logvar = (t.requires_grad_() for t in _latents(3, 2, seed=2))

    def stacked(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
        return torch.stack(list(tc_decomposition(z, mu, logvar, 10, estimator).values()))

    assert torch.autograd.gradcheck(stacked, (z, mu, logvar))


def test_bad_inputs_raise_clear_errors() -> None:
    z, mu, logvar = _latents(4, 2)
    with pytest.raises(ValueError, match="dataset_size"):
        tc_decomposition(z, mu, logvar, dataset_size=3)
    with pytest.raises(ValueError, match="final batch of one"):
        tc_decomposition(z[:1], mu[:1], logvar[:1], dataset_size=10)
    with pytest.raises(ValueError, match="'mws'"):
        tc_decomposition(z, mu, logvar, 10, estimator="exact")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="share one"):
        tc_decomposition(z, mu[:, :1], logvar, 10)
    with pytest.raises(ValueError, match="flatten"):
        tc_decomposition(z[:, :, None], mu, logvar, 10)
    with pytest.raises(ValueError, match="int >= 2"):
        tc_decomposition(z, mu, logvar, 10.0)  # type: ignore[arg-type]
    model = ChenMLPVAE(100, latent_dim=2, hidden=4, image_shape=(1, 4, 4))
    with pytest.raises(ValueError, match="int >= 2"):
        model.dataset_size = 0
    with pytest.raises(ValueError, match="'mss'"):
        model.estimator = "MWS"
    with pytest.raises(ValueError, match="image_shape"):
        model(torch.zeros(4, 1, 8, 8), 1.0)
    with pytest.raises(ValueError, match="latent_dim"):
        ChenMLPVAE(100, latent_dim=0)
    with pytest.raises(ValueError, match="image_shape"):
        ChenMLPVAE(100, image_shape=(64, 64))  # type: ignore[arg-type]


def test_chen_architecture() -> None:
    model = ChenMLPVAE(737_280)
    linear = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    assert linear == [(4096, 1200), (1200, 1200), (1200, 20),
                      (10, 1200), (1200, 1200), (1200, 1200), (1200, 4096)]
    encoder_acts = [type(m) for m in model.encoder if not isinstance(m, (nn.Linear, nn.Flatten))]
    assert encoder_acts == [nn.ReLU] * 2
    assert [type(m) for m in model.decoder if not isinstance(m, nn.Linear)] == [nn.Tanh] * 3
    assert model.likelihood.name == "bernoulli"


@pytest.fixture
def tiny() -> ChenMLPVAE:
    torch.manual_seed(0)
    return ChenMLPVAE(dataset_size=64, latent_dim=3, hidden=16, image_shape=(1, 8, 8))


def _forward(model: BetaTCVAE, x: Tensor, beta: float | Tensor, seed: int = 0) -> dict[str, Tensor]:
    torch.manual_seed(seed)
    return model(x, beta)


def test_loss_is_the_negative_elbo_at_beta_one(tiny: ChenMLPVAE, binary_images: Tensor) -> None:
    x = binary_images[:8]
    out = _forward(tiny, x, 1.0)
    mu, logvar = tiny.encode(x)
    torch.manual_seed(0)
    z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
    log_ratio = Normal(mu, (0.5 * logvar).exp()).log_prob(z).sum(-1) - _log_prior(z)
    torch.testing.assert_close(out["loss"], out["distortion"] + log_ratio)
    torch.testing.assert_close(out["distortion"], tiny.likelihood.distortion(tiny.decode(z), x))
    torch.testing.assert_close(out["rate"], mrvae.gaussian_kl(mu, logvar))
    for key in ("loss", "rate", "distortion", "mi", "tc", "dwkl"):
        assert out[key].shape == (8,)


def test_beta_multiplies_only_the_total_correlation(
    tiny: ChenMLPVAE, binary_images: Tensor
) -> None:
    x = binary_images[:8]
    low, high = _forward(tiny, x, 1.0), _forward(tiny, x, 4.0)
    for key in ("distortion", "rate", "mi", "tc", "dwkl"):
        torch.testing.assert_close(low[key], high[key])
    torch.testing.assert_close(high["loss"] - low["loss"], 3.0 * low["tc"])
    beta = torch.tensor([0.1, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0])
    per_example = _forward(tiny, x, beta)
    torch.testing.assert_close(per_example["loss"], low["loss"] + (beta - 1.0) * low["tc"])


def test_converted_model_gets_per_example_beta_and_trains(
    tiny: ChenMLPVAE, binary_images: Tensor
) -> None:
    model = mrvae.convert(tiny, mrvae.BetaRange(0.1, 10.0))
    assert len(beta_gates(model)) == 7 - 3  # the authors leave heads and decoder ends plain
    for gate in beta_gates(model):
        gate.weight.data.fill_(1.0)  # make the gates depend on β
    x, beta = binary_images[:4], torch.tensor([0.1, 0.3, 3.0, 10.0])
    out = _forward(model, x, beta)
    # Each example's posterior must be the one its own β gives when encoded alone.
    expected = torch.cat([model.encode_mean(x[i : i + 1], float(b)) for i, b in enumerate(beta)])
    torch.testing.assert_close(out["mu"], expected)
    model.dataset_size = binary_images.shape[0]
    result = mrvae.train(model, binary_images, mrvae.MultiRateBeta(0.1, 10.0),
                         mrvae.TrainConfig(epochs=2, batch_size=16, seed=0), log=lambda _: None)
    assert all(math.isfinite(r["loss"]) for r in result.history)
    scores = mrvae.evaluate(model, binary_images, 2.0)
    assert math.isfinite(scores["loss"]) and scores["rate"] >= 0.0
