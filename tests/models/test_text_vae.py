"""Tests for the LSTM text VAE and its MR-VAE (Appendix C's Yahoo model)."""

from __future__ import annotations

import pytest
import torch

import mrvae
from mrvae.data.text import BOS_ID, EOS_ID, PAD_ID, TextData
from mrvae.hyper.layers import beta_gates
from mrvae.metrics import evaluate
from mrvae.models.text import (
    LSTMTextVAE,
    TextVAEConfig,
    build_text_mr_vae,
    build_text_vae,
    text_vae_parameter_count,
)
from mrvae.training.config import TrainConfig
from mrvae.training.schedules import MultiRateBeta

V = 20
TINY = TextVAEConfig(vocab_size=V, embed_dim=8, hidden_dim=12, latent_dim=4)


pytestmark = pytest.mark.usefixtures("one_thread")


def sentences(rows: list[list[int]], width: int | None = None) -> torch.Tensor:
    """``<s> words </s>`` rows right-padded to ``width`` (default: the longest)."""
    full = [[BOS_ID, *r, EOS_ID] for r in rows]
    width = width or max(map(len, full))
    return torch.tensor([r + [PAD_ID] * (width - len(r)) for r in full])


def test_forward_shapes_and_eq1() -> None:
    torch.manual_seed(0)
    model = build_text_vae(TINY)
    x = sentences([[4, 5, 6], [7], [8, 9, 10, 11, 12]])
    out = model(x, 0.5)
    for key in ("loss", "rate", "distortion"):
        assert out[key].shape == (3,)
    assert out["mu"].shape == out["logvar"].shape == (3, 4)
    torch.testing.assert_close(out["loss"], out["distortion"] + 0.5 * out["rate"])
    assert bool((out["rate"] >= 0).all()) and bool((out["distortion"] > 0).all())
    assert model.likelihood.vocab_size == V and model.data_shape is None


def test_distortion_counts_real_tokens_and_eos_only() -> None:
    torch.manual_seed(0)
    model = build_text_vae(TINY).eval()
    with torch.no_grad():
        model.decoder.out.weight.zero_()
        model.decoder.out.bias.copy_(torch.arange(V, dtype=torch.float32) / 7)
    x = sentences([[4, 5], [6]], width=6)
    log_p = torch.log_softmax(model.decoder.out.bias.detach(), dim=0)
    expected = torch.stack([-(log_p[4] + log_p[5] + log_p[EOS_ID]), -(log_p[6] + log_p[EOS_ID])])
    torch.testing.assert_close(model(x, 1.0)["distortion"], expected)


@pytest.mark.parametrize("gated", [False, True])
def test_a_sentence_scores_the_same_alone_or_batched_with_longer_ones(gated: bool) -> None:
    torch.manual_seed(0)
    config = TextVAEConfig(vocab_size=V, embed_dim=8, hidden_dim=12, latent_dim=4)
    model = (build_text_mr_vae(config, mrvae.BetaRange(0.01, 10), gate_init="uniform") if gated
             else build_text_vae(config)).eval()
    short = [4, 5, 6]
    alone = sentences([short])
    batched = sentences([[7, 8, 9, 10, 11, 12, 13], short, [14] * 9], width=15)  # extra padding columns too
    noise = torch.randn(3, 4)
    beta = torch.tensor([2.0, 0.3, 5.0])
    with torch.no_grad():
        one = model(alone, beta[1:2], noise=noise[1:2])
        many = model(batched, beta, noise=noise)
    for key in ("loss", "rate", "distortion", "mu", "logvar"):
        torch.testing.assert_close(many[key][1], one[key][0], rtol=1e-5, atol=1e-5)


def test_gated_model_with_gates_at_one_equals_the_plain_model() -> None:
    config = TextVAEConfig(vocab_size=V, embed_dim=8, hidden_dim=12, latent_dim=4, head_hidden=10)
    torch.manual_seed(0)
    plain = build_text_vae(config).eval()
    gated = build_text_mr_vae(config, mrvae.BetaRange(0.01, 10), gate_init="uniform").eval()
    missing, unexpected = gated.load_state_dict(plain.state_dict(), strict=False)
    gates = beta_gates(gated)
    gate_names = {name for name, module in gated.named_modules() if module in gates}
    assert not unexpected and missing and {k.rsplit(".", 1)[0] for k in missing} == gate_names
    # Embedding, final state, two head hiddens, mu, logvar (sigmoid); embedding, initial state (sqrt).
    assert sorted(g.gate for g in gates) == ["sigmoid"] * 6 + ["sqrt"] * 2
    assert all(g.dim == -1 for g in gates)
    with torch.no_grad():
        for gate in gates:  # w = 0; sigmoid(100) and sqrt(1 - exp(-100)) are exactly 1 in float32
            gate.weight.zero_()
            gate.bias.fill_(100.0 if gate.gate == "sigmoid" else -100.0)
    x = sentences([[4, 5, 6, 7], [8], [9, 10]])
    noise = torch.randn(3, 4)
    beta = torch.tensor([0.01, 1.0, 10.0])
    with torch.no_grad():
        a, b = plain(x, beta, noise=noise), gated(x, beta, noise=noise)
    for key in ("loss", "rate", "distortion", "mu", "logvar"):
        assert torch.equal(a[key], b[key]), key


def test_gates_make_the_network_depend_on_beta() -> None:
    torch.manual_seed(0)
    model = build_text_mr_vae(TINY, mrvae.BetaRange(0.01, 10), gate_init="uniform").eval()
    x = sentences([[4, 5, 6]])
    noise = torch.zeros(1, 4)
    with torch.no_grad():
        low, high = model(x, 0.01, noise=noise), model(x, 10.0, noise=noise)
    assert not torch.allclose(low["mu"], high["mu"])
    assert not torch.allclose(low["distortion"], high["distortion"])
    assert len(beta_gates(build_text_vae(TINY))) == 0


def test_bad_inputs_fail_with_a_clear_error() -> None:
    model = build_text_vae(TINY)
    with pytest.raises(ValueError, match=r"token ids must lie in \[0, 20\)"):
        model(sentences([[4, V]]), 1.0)
    with pytest.raises(ValueError, match="integer"):
        model(torch.zeros(2, 5), 1.0)
    with pytest.raises(ValueError, match="pad on the right"):
        model(torch.tensor([[BOS_ID, 4, PAD_ID, 5, EOS_ID]]), 1.0)
    with pytest.raises(ValueError, match="at least 2 tokens"):
        model(torch.tensor([[BOS_ID, 4, 2], [0, 0, 0]]), 1.0)
    with pytest.raises(ValueError, match="token ids must lie"):  # mrvae.train checks the data set up front
        mrvae.train(model, sentences([[4, 99]]), mrvae.ConstantBeta(1.0), TrainConfig(epochs=1, log_lines=0))
    with pytest.raises(NotImplementedError, match="reconstruction_nll"):
        model.decode(torch.zeros(1, 4))


def test_config_and_builders_validate() -> None:
    with pytest.raises(ValueError, match="vocab_size"):
        TextVAEConfig(vocab_size=3)
    with pytest.raises(ValueError, match="dropout_in"):
        TextVAEConfig(vocab_size=V, dropout_in=1.0)
    with pytest.raises(ValueError, match="unknown gate"):
        TextVAEConfig(vocab_size=V, decoder_gate="tanh")
    with pytest.raises(ValueError, match="build_text_mr_vae"):
        build_text_vae(TextVAEConfig(vocab_size=V, gated=True))
    with pytest.raises(ValueError, match="beta_range"):
        LSTMTextVAE(TextVAEConfig(vocab_size=V, gated=True))
    with pytest.raises(ValueError, match="BetaRange"):
        build_text_mr_vae(TINY, (0.01, 10))  # type: ignore[arg-type]


def test_parameter_count_matches_the_model_and_reproduces_table_1() -> None:
    for config, gated in ((TINY, False), (TextVAEConfig(vocab_size=V, head_hidden=7, lstm_bias=False), True)):
        model = build_text_mr_vae(config, mrvae.BetaRange(0.01, 10)) if gated else build_text_vae(config)
        assert text_vae_parameter_count(V, config, gated=gated) == sum(p.numel() for p in model.parameters())
    # Paper sizes, He et al.'s 20,001-token Yahoo vocabulary.
    assert text_vae_parameter_count(20_001) == 16_515_937
    assert text_vae_parameter_count(20_001, gated=True) == 16_515_937 + 2 * 1_600
    # The authors' pair (bias-free texar LSTMs; MLP heads in the MR-VAE only) at a 10,000-token
    # vocabulary gives Table 1's "88.21 x 10^4 / 93.51 x 10^4 / 6.01%" read as x 10^5 (truncated).
    authors = TextVAEConfig(vocab_size=10_000, lstm_bias=False)
    beta_vae = text_vae_parameter_count(10_000, authors)
    mr_vae = text_vae_parameter_count(10_000, TextVAEConfig(vocab_size=10_000, lstm_bias=False, head_hidden=512),
                                      gated=True)
    assert (beta_vae, mr_vae) == (8_821_072, 9_351_632)
    assert round(100 * (mr_vae / beta_vae - 1), 2) == 6.01


def corpus(n: int, seed: int = 0) -> TextData:
    """Random 3–6 word sentences over 8 words: only a latent code can predict them."""
    gen = torch.Generator().manual_seed(seed)
    words = [f"w{i}" for i in range(8)]
    docs = []
    for _ in range(n):
        length = int(torch.randint(3, 7, (1,), generator=gen))
        docs.append([words[j] for j in torch.randint(0, 8, (length,), generator=gen).tolist()])
    return TextData.from_documents(docs, docs[:64], docs[:64])


def test_a_tiny_mr_vae_learns_a_rate_that_falls_with_beta() -> None:
    data = corpus(128)
    config = TextVAEConfig(vocab_size=len(data.vocab), embed_dim=16, hidden_dim=32, latent_dim=4,
                           dropout_in=0.0, dropout_out=0.0)
    torch.manual_seed(0)
    model = build_text_mr_vae(config, mrvae.BetaRange(0.01, 10))
    mrvae.train(model, data.train, MultiRateBeta(0.01, 10), TrainConfig(epochs=10, batch_size=32, lr=3e-3, log_lines=0),
                progress=False)
    rates = [evaluate(model, data.valid, beta)["rate"] for beta in (0.01, 0.1, 1.0, 10.0)]
    assert rates[0] > 0.1 and rates[0] > 10 * rates[-1], rates
    assert all(a >= b - 1e-3 for a, b in zip(rates, rates[1:], strict=False)), rates
