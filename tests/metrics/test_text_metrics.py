"""Tests for the text metrics: IW-NLL, perplexity, mutual information and active units."""

from __future__ import annotations

import math

import pytest
import torch

import mrvae
from mrvae.data.text import BOS_ID, EOS_ID, PAD_ID, word_counts
from mrvae.metrics import evaluate
from mrvae.metrics.text import active_units, evaluate_text, iw_nll, mutual_information, perplexity
from mrvae.models.text import LSTMTextVAE, TextVAEConfig, build_text_mr_vae, build_text_vae

V = 12
CONFIG = TextVAEConfig(vocab_size=V, embed_dim=8, hidden_dim=12, latent_dim=4)


pytestmark = pytest.mark.usefixtures("one_thread")


def random_sentences(n: int, seed: int = 0, max_words: int = 7) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    x = torch.full((n, max_words + 2), PAD_ID)
    for i in range(n):
        words = int(torch.randint(1, max_words + 1, (1,), generator=gen))
        x[i, 0] = BOS_ID
        x[i, 1 : words + 1] = torch.randint(4, V, (words,), generator=gen)
        x[i, words + 1] = EOS_ID
    return x


def prior_encoder_unigram_decoder() -> tuple[LSTMTextVAE, torch.Tensor]:
    """q(z|x) = p(z) exactly and p(x|z) = prod_t softmax(b)[x_t]: log p(x) is known in closed form."""
    torch.manual_seed(0)
    model = build_text_vae(CONFIG)
    with torch.no_grad():
        for layer in (model.encoder.mu, model.encoder.logvar, model.decoder.out):
            layer.weight.zero_()
        model.encoder.mu.bias.zero_()
        model.encoder.logvar.bias.zero_()
        model.decoder.out.bias.copy_(torch.linspace(-1.0, 1.5, V))
    return model, torch.log_softmax(model.decoder.out.bias.detach().double(), dim=0)


def test_iw_nll_and_perplexity_match_a_hand_computed_model() -> None:
    model, log_p = prior_encoder_unigram_decoder()
    x = random_sentences(19)
    targets = x[:, 1:]
    exact = torch.where(targets != PAD_ID, -log_p[targets], 0.0).sum(dim=1)  # (N,)
    for samples in (1, 7):
        torch.testing.assert_close(iw_nll(model, x, 1.0, samples=samples, batch_size=5, max_rows=4), exact)
    words = int(word_counts(x).sum())
    assert words == int((targets != PAD_ID).sum())  # words and </s>, not <s>
    metrics = evaluate_text(model, x, 1.0, iw_samples=3, batch_size=4)
    assert metrics["rate"] == pytest.approx(0.0, abs=1e-12)
    assert metrics["iw_nll"] == pytest.approx(float(exact.mean()), rel=1e-6)
    assert metrics["elbo_nll"] == pytest.approx(float(exact.mean()), rel=1e-6)
    assert metrics["iw_ppl"] == pytest.approx(math.exp(float(exact.sum()) / words), rel=1e-6)
    assert metrics["words"] == words and metrics["sentences"] == 19
    assert metrics["au"] == 0 and abs(metrics["mi"]) < 1.2  # 0 up to the estimator's sampling noise
    # Results come back in data order, whatever the internal length sorting.
    perm = torch.randperm(19)
    torch.testing.assert_close(iw_nll(model, x[perm], 1.0, samples=2), exact[perm])


def test_iw_bound_tightens_the_elbo() -> None:
    torch.manual_seed(1)
    model = build_text_vae(CONFIG)
    with torch.no_grad():
        model.encoder.mu.bias.fill_(1.5)  # q far from p(z|x) ≈ p(z): a loose ELBO
    x = random_sentences(64, seed=2)
    elbo = evaluate_text(model, x, 1.0, iw_samples=0)["elbo_nll"]
    one = float(iw_nll(model, x, 1.0, samples=1).mean())
    many = float(iw_nll(model, x, 1.0, samples=200, max_rows=2048).mean())
    assert one == pytest.approx(elbo, abs=1.5)  # K = 1 estimates the ELBO (Monte Carlo noise)
    assert many < elbo - 2.0  # the ELBO's gap here is about KL(q || prior) = 4.5 nats


def test_mutual_information_is_near_zero_without_and_positive_with_an_informative_encoder() -> None:
    torch.manual_seed(0)
    x = random_sentences(256, seed=3)
    model = build_text_vae(CONFIG)
    with torch.no_grad():
        model.encoder.mu.weight.zero_()
        model.encoder.logvar.weight.zero_()  # every q(z|x) is the same Gaussian
    assert abs(mutual_information(model, x, 1.0)) < 0.3
    assert active_units(model, x, 1.0) == 0
    with torch.no_grad():
        model.encoder.mu.weight.normal_(0.0, 20.0)  # far-apart, narrow posteriors
        model.encoder.logvar.bias.fill_(-6.0)
    mi = mutual_information(model, x, 1.0, batch_size=32)
    assert 1.5 < mi <= math.log(32) + 1e-6  # the batch estimator is bounded by log B
    assert active_units(model, x, 1.0) == CONFIG.latent_dim


def test_mr_vae_metrics_are_taken_at_the_given_beta() -> None:
    torch.manual_seed(0)
    model = build_text_mr_vae(CONFIG, mrvae.BetaRange(0.01, 10), gate_init="uniform")
    x = random_sentences(40, seed=4)
    low, high = (evaluate_text(model, x, beta, iw_samples=4, batch_size=16) for beta in (0.01, 10.0))
    assert low["rate"] != pytest.approx(high["rate"])
    # The analytic rate agrees with mrvae.metrics.evaluate (other batching, same sentences).
    assert low["rate"] == pytest.approx(evaluate(model, x, 0.01)["rate"], rel=1e-5)
    assert low["loss"] == pytest.approx(low["distortion"] + 0.01 * low["rate"])
    assert set(low) >= {"iw_nll", "iw_ppl", "elbo_nll", "elbo_ppl", "mi", "au"}


def test_bad_inputs_fail_with_a_clear_error() -> None:
    model = build_text_vae(CONFIG)
    x = random_sentences(4)
    with pytest.raises(ValueError, match="beta"):
        iw_nll(model, x, 0.0)
    with pytest.raises(ValueError, match="integer"):
        evaluate_text(model, x.float(), 1.0)
    with pytest.raises(ValueError, match="token ids must lie"):
        mutual_information(model, x + V, 1.0)
    with pytest.raises(ValueError, match="samples"):
        iw_nll(model, x, 1.0, samples=0)
    with pytest.raises(ValueError, match="reconstruction_nll"):
        evaluate_text(mrvae.models.MLPVAE((4,), hidden=4, latent_dim=2), x, 1.0)
    with pytest.raises(ValueError, match="at least one word"):
        perplexity(1.0, 0)
