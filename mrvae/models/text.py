"""The LSTM text VAE of the paper's Yahoo experiment (Section 5.2, Appendix C), and its MR-VAE.

Appendix C adopts Hu et al. (2019)'s texar VAE: embedding 256, one-layer LSTM encoder and
decoder with hidden size 256, latent size 32. The network follows the authors' texar version
(``pomonam/mr-vae``, ``experiments/text/models.py`` and ``hyper_models.py``); the code is ours::

    encoder  x (B, T) -> embed (E) -> [gate] -> LSTM (H), final (h, c) at each row's length
             -> concat (2H) -> [gate] -> mu: Linear(2H, Z) -> [gate]
                                       logvar: Linear(2H, Z) -> [gate]
    decoder  z (B, Z) -> Linear(Z, 2H) -> [gate] -> split into the initial (h_0, c_0)
             x[:, :-1] -> embed (E) -> dropout 0.5 -> [gate] -> concat z at every step (E + Z)
             -> LSTM (H) -> dropout 0.5 -> Linear(H, V) logits of x[:, 1:]

``[gate]`` is a :class:`~mrvae.hyper.layers.BetaGate` in an MR-VAE and nothing in a β-VAE:
sigmoid gates on the encoder, sqrt gates on the decoder (Eq. 7). The gate set is the authors'
(``hyper_models.py``): after the encoder's embedding, after its final state, after the mean and
log-variance heads, after the decoder's word embedding and after the ``z`` → initial-state
projection. The output layer, the LSTMs and the decoder's ``z`` input are not gated.

Objective (Eq. 1), per sentence: distortion = ``-log p(x|z)``, the sum of the token
cross-entropies of ``w_1 ... w_n </s>`` (padding excluded); rate = the analytic Gaussian KL;
loss = distortion + β rate. Each batch is trimmed to its longest row and the encoder reads each
row up to its own length (packed sequences), so a sentence's terms do not depend on what it is
batched with.

Differences from the authors' code, all options of :class:`TextVAEConfig`:

* ``lstm_bias``: texar's cell hparams ``{"num_units": 256, "bias": 0.}`` pass ``bias=0.`` to
  ``torch.nn.LSTMCell``, which builds the authors' LSTMs without biases (likely meant as a
  forget bias); we keep PyTorch's biases by default.
* ``head_hidden``: the authors' β-VAE maps the final state to ``mu``/``logvar`` by one linear
  layer, their MR-VAE by ``Linear(2H, 2H) -> ReLU -> gate -> Linear(2H, Z) -> gate`` (2 × 262,656
  more weights: most of Table 1's +6.01%). We use one architecture for both: linear heads by
  default, the MLP heads with ``head_hidden=512`` (then gated after the ReLU too).
* ``decoder_gate``: the authors' final text script overrides the decoder gates to a sigmoid
  (times 2); we keep the paper's sqrt gate (Eq. 7) by default.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from mrvae.data.text import PAD_ID
from mrvae.hyper.gates import BetaRange, gate_function
from mrvae.hyper.layers import DEFAULT_GATE_INIT, GATE_INITS, BetaGate, GateInit, beta_context
from mrvae.models.base import VAE
from mrvae.models.objective import beta_vae_loss, gaussian_kl

__all__ = [
    "AUTHORS_MR_HEAD_HIDDEN",
    "LSTMTextVAE",
    "TextVAEConfig",
    "TokenLikelihood",
    "build_text_mr_vae",
    "build_text_vae",
    "text_vae_parameter_count",
]

#: Hidden width of the authors' MR-VAE mean/log-variance heads (``2 * hidden``).
AUTHORS_MR_HEAD_HIDDEN = 512


def _positive_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


@dataclass(frozen=True)
class TextVAEConfig:
    """Sizes and options of :class:`LSTMTextVAE`; the defaults are the paper's (Appendix C).

    Args:
        vocab_size: tokens in the vocabulary, specials included (``len(vocab)``).
        embed_dim, hidden_dim, latent_dim: ``E = 256``, ``H = 256``, ``Z = 32``.
        dropout_in, dropout_out: dropout on the decoder's word embeddings and LSTM outputs (0.5).
        head_hidden: ``None``: linear ``mu``/``logvar`` heads; an int: ``Linear -> ReLU -> Linear``
            heads of that width (the authors' MR-VAE used 512).
        lstm_bias: biases in both LSTMs (the authors' texar LSTMs had none; see the module doc).
        gated: build the MR-VAE's β gates (use :func:`build_text_mr_vae`).
        encoder_gate, decoder_gate: gate functions (Eq. 7): ``"sigmoid"`` and ``"sqrt"``.
        pad_id: the padding id of the data (:data:`mrvae.data.text.PAD_ID`).
    """

    vocab_size: int
    embed_dim: int = 256
    hidden_dim: int = 256
    latent_dim: int = 32
    dropout_in: float = 0.5
    dropout_out: float = 0.5
    head_hidden: int | None = None
    lstm_bias: bool = True
    gated: bool = False
    encoder_gate: str = "sigmoid"
    decoder_gate: str = "sqrt"
    pad_id: int = PAD_ID

    def __post_init__(self) -> None:
        for name in ("vocab_size", "embed_dim", "hidden_dim", "latent_dim"):
            if not _positive_int(getattr(self, name)):
                raise ValueError(f"TextVAEConfig.{name} must be a positive int, got {getattr(self, name)!r}")
        if self.vocab_size < 5:
            raise ValueError(f"vocab_size={self.vocab_size} leaves no words after the 4 specials; pass "
                             f"len(vocab)")
        if self.head_hidden is not None and not _positive_int(self.head_hidden):
            raise ValueError(f"head_hidden must be a positive int or None, got {self.head_hidden!r}")
        for name in ("dropout_in", "dropout_out"):
            p = getattr(self, name)
            if not (isinstance(p, (int, float)) and 0.0 <= p < 1.0):
                raise ValueError(f"TextVAEConfig.{name} must lie in [0, 1), got {p!r}")
        gate_function(self.encoder_gate)  # validates the names, listing the valid ones
        gate_function(self.decoder_gate)
        if not 0 <= self.pad_id < self.vocab_size:
            raise ValueError(f"pad_id={self.pad_id} must be an id of the vocabulary [0, {self.vocab_size})")


@dataclass(frozen=True)
class TokenLikelihood:
    """Categorical ``p(x|z)`` over token ids, for :class:`LSTMTextVAE`.

    Data are int64 ``(N, T)`` rows ``<s> w_1 ... w_n </s>`` followed only by ``pad_id``.
    """

    vocab_size: int
    pad_id: int = PAD_ID
    name: str = "categorical"

    def distortion(self, logits: Tensor, targets: Tensor) -> Tensor:
        """``-log p(x|z)`` per row: ``logits (B, T, V)``, ``targets (B, T)`` → ``(B,)``.

        Padding targets contribute exactly 0.
        """
        if logits.shape[:2] != targets.shape or logits.shape[-1] != self.vocab_size:
            raise ValueError(f"logits {tuple(logits.shape)} do not match targets {tuple(targets.shape)} "
                             f"and a vocabulary of {self.vocab_size}")
        nll = F.cross_entropy(logits.reshape(-1, self.vocab_size), targets.reshape(-1),
                              ignore_index=self.pad_id, reduction="none")
        return nll.view(targets.shape).sum(dim=1)

    def mean(self, output: Tensor) -> Tensor:
        raise NotImplementedError("a text VAE has no mean sentence; decode token by token instead")

    def check_data(self, x: Tensor) -> None:
        """Fail early, naming the fix, on data that are not padded ids of this vocabulary."""
        if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"text data must be an integer (N, T) tensor of token ids, got {x.dtype} of shape "
                             f"{tuple(x.shape)}; encode documents with mrvae.data.text.encode_documents")
        if x.shape[1] < 2:
            raise ValueError(f"text rows need at least <s> and </s> (T >= 2), got T={x.shape[1]}")
        low, high = int(x.min()), int(x.max())
        if low < 0 or high >= self.vocab_size:
            raise ValueError(f"token ids must lie in [0, {self.vocab_size}) (the model's vocab_size), got "
                             f"[{low}, {high}]; build the model with vocab_size=len(vocab) of the vocabulary "
                             f"that encoded these data")
        real = x != self.pad_id
        lengths = real.sum(dim=1)
        if int(lengths.min()) < 2:
            raise ValueError(f"every row needs at least 2 tokens (<s> ... </s>); row {int(lengths.argmin())} has "
                             f"{int(lengths.min())}")
        if not bool((real == (torch.arange(x.shape[1], device=x.device) < lengths[:, None])).all()):
            raise ValueError(f"padding (id {self.pad_id}) must only follow a row's tokens, never precede or "
                             f"interrupt them; pad on the right")


class _Encoder(nn.Module):
    def __init__(self, c: TextVAEConfig, gate: _GateFactory) -> None:
        super().__init__()
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.embed_gate = gate(c.embed_dim, c.encoder_gate)
        self.lstm = nn.LSTM(c.embed_dim, c.hidden_dim, batch_first=True, bias=c.lstm_bias)
        self.state_gate = gate(2 * c.hidden_dim, c.encoder_gate)
        head_in = 2 * c.hidden_dim if c.head_hidden is None else c.head_hidden
        if c.head_hidden is not None:
            self.mu_hidden = nn.Sequential(nn.Linear(2 * c.hidden_dim, c.head_hidden), nn.ReLU(),
                                           gate(c.head_hidden, c.encoder_gate))
            self.logvar_hidden = nn.Sequential(nn.Linear(2 * c.hidden_dim, c.head_hidden), nn.ReLU(),
                                               gate(c.head_hidden, c.encoder_gate))
        else:
            self.mu_hidden, self.logvar_hidden = nn.Identity(), nn.Identity()
        self.mu = nn.Linear(head_in, c.latent_dim)
        self.mu_gate = gate(c.latent_dim, c.encoder_gate)
        self.logvar = nn.Linear(head_in, c.latent_dim)
        self.logvar_gate = gate(c.latent_dim, c.encoder_gate)

    def forward(self, x: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        embedded = self.embed_gate(self.embed(x))
        # Packed: the final (h, c) is each row's own, whatever padding follows it.
        packed = pack_padded_sequence(embedded, lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (h, c) = self.lstm(packed)
        state = self.state_gate(torch.cat([h[-1], c[-1]], dim=-1))
        mu = self.mu_gate(self.mu(self.mu_hidden(state)))
        logvar = self.logvar_gate(self.logvar(self.logvar_hidden(state)))
        return mu, logvar


class _Decoder(nn.Module):
    def __init__(self, c: TextVAEConfig, gate: _GateFactory) -> None:
        super().__init__()
        self.embed = nn.Embedding(c.vocab_size, c.embed_dim)
        self.dropout_in = nn.Dropout(c.dropout_in)
        self.embed_gate = gate(c.embed_dim, c.decoder_gate)
        self.init_state = nn.Linear(c.latent_dim, 2 * c.hidden_dim)
        self.init_gate = gate(2 * c.hidden_dim, c.decoder_gate)
        self.lstm = nn.LSTM(c.embed_dim + c.latent_dim, c.hidden_dim, batch_first=True, bias=c.lstm_bias)
        self.dropout_out = nn.Dropout(c.dropout_out)
        self.out = nn.Linear(c.hidden_dim, c.vocab_size)

    def forward(self, inputs: Tensor, z: Tensor) -> Tensor:
        """Teacher-forced logits: ``inputs (B, T)``, ``z (B, Z)`` → ``(B, T, V)``."""
        embedded = self.embed_gate(self.dropout_in(self.embed(inputs)))
        steps = z[:, None, :].expand(-1, inputs.shape[1], -1)
        h0, c0 = self.init_gate(self.init_state(z)).chunk(2, dim=-1)
        # Causal: a row's outputs never see the padding after it, so no packing is needed here.
        output, _ = self.lstm(torch.cat([embedded, steps], dim=-1), (h0[None].contiguous(), c0[None].contiguous()))
        return self.out(self.dropout_out(output))


class _GateFactory:
    """Makes a :class:`BetaGate` (MR-VAE) or an ``nn.Identity`` (β-VAE) for a layer's output."""

    def __init__(self, beta_range: BetaRange | None, init: GateInit) -> None:
        self.beta_range, self.init = beta_range, init

    def __call__(self, features: int, name: str) -> nn.Module:
        if self.beta_range is None:
            return nn.Identity()
        return BetaGate(features, name, self.beta_range, init=self.init, dim=-1)


class LSTMTextVAE(VAE):
    """LSTM encoder and autoregressive LSTM decoder over token ids (see the module docstring).

    Data: int64 ``(B, T)`` rows ``<s> w_1 ... w_n </s>`` right-padded with ``config.pad_id``
    (:func:`mrvae.data.text.encode_documents`). :meth:`forward` returns per-sentence ``loss``,
    ``rate``, ``distortion`` of shape ``(B,)`` and ``mu``, ``logvar`` of shape ``(B, Z)``.

    Args:
        config: sizes and options; ``config.gated`` needs ``beta_range``.
        beta_range: the MR-VAE's training range of β (only with ``config.gated``).
        gate_init: the gates' initialisation (:data:`mrvae.hyper.layers.GateInit`).
    """

    integer_data = True

    #: Rows are padded ids of varying width: no fixed shape to check.
    data_shape = None

    def __init__(self, config: TextVAEConfig, *, beta_range: BetaRange | None = None,
                 gate_init: GateInit = DEFAULT_GATE_INIT) -> None:
        super().__init__(TokenLikelihood(config.vocab_size, config.pad_id))  # type: ignore[arg-type]
        if config.gated and beta_range is None:
            raise ValueError("a gated text VAE needs beta_range; use build_text_mr_vae(config, BetaRange(a, b))")
        if not config.gated and beta_range is not None:
            raise ValueError("beta_range is only used by a gated model; pass config with gated=True "
                             "(or use build_text_mr_vae)")
        if gate_init not in GATE_INITS:
            raise ValueError(f"unknown gate init {gate_init!r}; choose one of {list(GATE_INITS)}")
        self.config = config
        gate = _GateFactory(beta_range if config.gated else None, gate_init)
        self.encoder = _Encoder(config, gate)
        self.decoder = _Decoder(config, gate)
        # Texar's initialiser in the authors' code: N(0, 1/E) word embeddings.
        for embed in (self.encoder.embed, self.decoder.embed):
            nn.init.normal_(embed.weight, 0.0, config.embed_dim ** -0.5)

    # --- inputs --------------------------------------------------------------------------

    def check_input(self, x: Tensor) -> None:
        """Check that ``x`` is an integer ``(B, T)`` batch; values too when it is on the CPU.

        On an accelerator reading the values back would stall every step; :func:`mrvae.train`
        checks the whole data set once instead (``likelihood.check_data``).
        """
        if x.dim() != 2 or x.dtype not in (torch.int64, torch.int32):
            raise ValueError(f"{type(self).__name__} takes an integer (B, T) batch of token ids, got {x.dtype} "
                             f"of shape {tuple(x.shape)}; encode text with mrvae.data.text.encode_documents")
        if x.device.type == "cpu":
            self.likelihood.check_data(x)

    def trim(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x`` cut to its longest row, and the row lengths: ``(B, T)`` → ``(B, T')``, ``(B,)``."""
        lengths = (x != self.config.pad_id).sum(dim=1)
        return x[:, : int(lengths.max())], lengths

    # --- the two halves ----------------------------------------------------------------------

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, T)`` ids → ``mu, logvar (B, Z)``; gated models need :func:`beta_context`."""
        x, lengths = self.trim(x)
        return self.encoder(x, lengths)

    def decode(self, z: Tensor) -> Tensor:
        raise NotImplementedError(
            "the text decoder is autoregressive: it scores a given sentence, use "
            "model.reconstruction_nll(x, z) for -log p(x|z)")

    def reconstruction_nll(self, x: Tensor, z: Tensor) -> Tensor:
        """``-log p(x|z)`` per row: ``x (B, T)`` ids, ``z (B, Z)`` → ``(B,)``.

        Sum of the cross-entropies of ``x[:, 1:]`` (words and ``</s>``) given ``x[:, :-1]``;
        padding contributes 0. Gated models need :func:`beta_context` with ``B`` values of β.
        """
        if z.dim() != 2 or z.shape[0] != x.shape[0] or z.shape[1] != self.config.latent_dim:
            raise ValueError(f"z must have shape ({x.shape[0]}, {self.config.latent_dim}) for a batch of "
                             f"{x.shape[0]} rows, got {tuple(z.shape)}")
        x, _ = self.trim(x)
        logits = self.decoder(x[:, :-1], z)
        return self.likelihood.distortion(logits, x[:, 1:])

    # --- the objective ------------------------------------------------------------------------

    def _forward(self, x: Tensor, beta: Tensor, noise: Tensor | None) -> dict[str, Tensor]:
        x, lengths = self.trim(x)
        with beta_context(self, beta):
            mu, logvar = self.encoder(x, lengths)
            z = mu + (0.5 * logvar).exp() * (torch.randn_like(mu) if noise is None else noise)
            distortion = self.likelihood.distortion(self.decoder(x[:, :-1], z), x[:, 1:])
        result = beta_vae_loss(distortion, gaussian_kl(mu, logvar), beta)
        result.update(mu=mu, logvar=logvar)
        return result


def build_text_vae(config: TextVAEConfig) -> LSTMTextVAE:
    """The plain β-VAE (no gates) of ``config``."""
    if config.gated:
        raise ValueError("build_text_vae builds the plain β-VAE; for gates use build_text_mr_vae(config, beta_range)")
    return LSTMTextVAE(config)


def build_text_mr_vae(config: TextVAEConfig, beta_range: BetaRange, *,
                      gate_init: GateInit = DEFAULT_GATE_INIT) -> LSTMTextVAE:
    """The MR-VAE of ``config``: the β-VAE's layers plus the gates of the module docstring.

    Its base layers have the β-VAE's names, so ``load_state_dict(plain.state_dict(),
    strict=False)`` copies a β-VAE into it (only the gates' ``weight``/``bias`` stay missing).
    """
    if not isinstance(beta_range, BetaRange):
        raise ValueError(f"beta_range must be a mrvae.BetaRange, e.g. BetaRange(0.01, 10), got {beta_range!r}")
    return LSTMTextVAE(replace(config, gated=True), beta_range=beta_range, gate_init=gate_init)


def text_vae_parameter_count(vocab_size: int, config: TextVAEConfig | None = None, *,
                             gated: bool | None = None) -> int:
    """Parameters of :class:`LSTMTextVAE` for ``vocab_size`` tokens (gates' ``w``, ``c`` included).

    ``config`` defaults to the paper's sizes; ``gated`` overrides ``config.gated``. The model is
    built on PyTorch's ``meta`` device, so no memory is allocated even for a large vocabulary.
    """
    config = replace(config or TextVAEConfig(vocab_size=vocab_size), vocab_size=vocab_size)
    if gated is not None:
        config = replace(config, gated=gated)
    with torch.device("meta"):
        model = LSTMTextVAE(config, beta_range=BetaRange(0.01, 10.0) if config.gated else None)
    return sum(p.numel() for p in model.parameters())

