"""Held-out metrics of a text VAE at a given β: IW-NLL and perplexity, mutual information, AU.

All take an :class:`~mrvae.models.text.LSTMTextVAE` (or any VAE with ``encode`` and
``reconstruction_nll(x, z)`` over padded ids) and evaluate it at one β: an MR-VAE's gates see β,
while the bounds themselves are always the β = 1 quantities (``log p(x)``, ``I(x; z)``). Data are
visited in batches of similar length (rows sorted by length, each batch trimmed), so padding
costs little; sampling uses a generator seeded with ``seed`` under a forked RNG, so results are
repeatable and training's random state is untouched.

* :func:`iw_nll`: Burda et al. (2016)'s importance-weighted estimate of ``-log p(x)`` per
  sentence, ``-log (1/K) sum_k p(x, z_k) / q(z_k|x)`` with ``z_k ~ q(z|x)``, vectorised over the
  ``K`` samples (in chunks that bound memory).
* :func:`perplexity`: ``exp(total NLL / total words)``, where a sentence's words are its tokens
  after ``<s>``, ``</s>`` included, as He et al. (2019) count them (``sent_len - 1``).
* :func:`mutual_information`: He et al.'s ``calc_mi``: per batch, ``E log q(z|x)`` (analytic
  negative entropy) minus ``E log q(z)`` with the aggregate posterior ``q(z)`` estimated by the
  batch's mixture ``(1/B) sum_j q(z|x_j)`` at one sample ``z_i ~ q(z|x_i)`` per sentence; the
  batch values are averaged, weighted by batch size. The estimate is at most ``log B``.
* :func:`active_units`: dims whose posterior mean varies over the data, ``Var_x E[z_d|x] > 0.01``
  (Burda et al.; biased variance and a strict ``>``, as :mod:`mrvae.metrics.rate_distortion`).
* :func:`evaluate_text`: all of the above plus the ELBO's rate and distortion, in one pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator

import torch
from torch import Tensor

from mrvae.data.text import PAD_ID
from mrvae.hyper.gates import as_beta_batch
from mrvae.hyper.layers import beta_context
from mrvae.models.base import VAE

__all__ = ["active_units", "evaluate_text", "iw_nll", "mutual_information", "perplexity", "text_curve"]

#: Samples of the IW bound, as in He et al. (2019)'s evaluation.
DEFAULT_IW_SAMPLES = 500
#: (sentence, sample) pairs per decoder pass of the IW bound; He et al. decode 100 at a time.
#: Each pass holds about ``2 * max_rows * T * V`` floats (logits and their log-softmax): 3.2 GB
#: for Yahoo's longest batches (T = 201, V = 20,001).
DEFAULT_MAX_ROWS = 100
_LOG_2PI = math.log(2.0 * math.pi)


def _gaussian_log_density(z: Tensor, mu: Tensor, logvar: Tensor) -> Tensor:
    """``log N(z; mu, diag(exp(logvar)))``, summed over the last dim; broadcasts."""
    return -0.5 * ((z - mu).square() / logvar.exp() + logvar + _LOG_2PI).sum(dim=-1)


def _check(model: VAE, data: Tensor, beta: float, batch_size: int) -> None:
    if not hasattr(model, "reconstruction_nll"):
        raise ValueError(f"{type(model).__name__} has no reconstruction_nll(x, z); these metrics need a text VAE "
                         f"such as mrvae.models.text.LSTMTextVAE")
    if data.dim() != 2 or data.dtype not in (torch.int64, torch.int32) or data.shape[0] == 0:
        raise ValueError(f"data must be a non-empty integer (N, T) tensor of token ids, got {data.dtype} of shape "
                         f"{tuple(data.shape)}")
    if not (isinstance(beta, (int, float)) and beta > 0):
        raise ValueError(f"beta must be a number > 0, got {beta!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    model.likelihood.check_data(data)


def _pad_id(model: VAE) -> int:
    config = getattr(model, "config", None)
    return int(getattr(config, "pad_id", PAD_ID))


def _batches(data: Tensor, batch_size: int, pad_id: int, device: torch.device) -> Iterator[tuple[Tensor, Tensor]]:
    """``(rows, x)``: indices into ``data`` (CPU) and those rows trimmed, on ``device``.

    Rows are sorted by length (stable) and taken ``batch_size`` at a time.
    """
    lengths = (data != pad_id).sum(dim=1).cpu()
    order = torch.sort(lengths, stable=True).indices
    for rows in order.split(batch_size):
        yield rows, data[rows.to(data.device), : int(lengths[rows].max())].to(device)


class _Evaluation:
    """Eval mode, no grad, a forked RNG seeded with ``seed``; restores the mode after."""

    def __init__(self, model: VAE, seed: int) -> None:
        self.model, self.seed = model, seed
        self.device = next(model.parameters()).device

    def __enter__(self) -> torch.device:
        self.was_training = self.model.training
        self.model.eval()
        self.grad = torch.no_grad()
        self.grad.__enter__()
        self.rng = torch.random.fork_rng(devices=[self.device] if self.device.type == "cuda" else [])
        self.rng.__enter__()
        torch.manual_seed(self.seed)
        return self.device

    def __exit__(self, *exc: object) -> None:
        self.rng.__exit__(*exc)
        self.grad.__exit__(*exc)
        self.model.train(self.was_training)


def _iw_log_likelihood(model: VAE, x: Tensor, beta: Tensor, mu: Tensor, logvar: Tensor, samples: int,
                       max_rows: int) -> Tensor:
    """IW estimate of ``log p(x)`` per row of ``x (B, T)`` from ``samples`` draws: ``(B,)``."""
    b = x.shape[0]
    chunk = max(1, max_rows // b)
    std = (0.5 * logvar).exp()
    log_w = []
    for start in range(0, samples, chunk):
        k = min(chunk, samples - start)
        z = mu[:, None, :] + std[:, None, :] * torch.randn(b, k, mu.shape[1], device=mu.device, dtype=mu.dtype)
        log_q = _gaussian_log_density(z, mu[:, None, :], logvar[:, None, :])              # (b, k)
        log_prior = -0.5 * (z.square() + _LOG_2PI).sum(dim=-1)                            # (b, k)
        # One decoder pass for all b * k (sentence, sample) pairs; each row gets its sentence's β.
        with beta_context(model, beta.repeat_interleave(k)):
            nll = model.reconstruction_nll(x.repeat_interleave(k, dim=0), z.reshape(b * k, -1)).view(b, k)
        log_w.append(log_prior - log_q - nll)
    return torch.logsumexp(torch.cat(log_w, dim=1).double(), dim=1) - math.log(samples)


def _batch_mutual_information(mu: Tensor, logvar: Tensor) -> Tensor:
    """He et al.'s ``calc_mi`` on one batch, ``mu, logvar (B, Z)`` → scalar (nats)."""
    b, nz = mu.shape
    neg_entropy = (-0.5 * nz * _LOG_2PI - 0.5 * (1.0 + logvar).sum(dim=-1)).mean()
    z = mu + (0.5 * logvar).exp() * torch.randn_like(mu)
    # log q(z_i | x_j) for every pair: (B_z, B_x).
    log_density = _gaussian_log_density(z[:, None, :], mu[None, :, :], logvar[None, :, :])
    log_qz = torch.logsumexp(log_density, dim=1) - math.log(b)
    return neg_entropy - log_qz.mean()


def evaluate_text(model: VAE, data: Tensor, beta: float, *, iw_samples: int = DEFAULT_IW_SAMPLES,
                  batch_size: int = 32, max_rows: int = DEFAULT_MAX_ROWS, au_threshold: float = 0.01,
                  seed: int = 0) -> dict[str, float]:
    """Every text metric of ``model`` at ``beta`` on ``data (N, T)``, in one pass over the data.

    Args:
        iw_samples: ``K`` of the IW bound (He et al.: 500); 0 skips it (no ``iw_*`` keys).
        batch_size: sentences per batch; also the MI estimator's batch (He et al.: 32).
        max_rows: (sentence, sample) pairs per decoder pass of the IW bound (see
            :data:`DEFAULT_MAX_ROWS`); raise it on a large accelerator.
        au_threshold: the active-unit threshold on ``Var_x E[z_d|x]``.

    Returns (per-sentence means unless said otherwise): ``beta``, ``rate`` (analytic KL),
    ``distortion`` (one-sample ``-log p(x|z)``), ``loss`` (``D + beta R``), ``elbo_nll``
    (``D + R``, the negative ELBO), ``elbo_ppl``, ``iw_nll`` and ``iw_ppl`` (perplexity per word,
    ``</s>`` counted), ``mi`` (nats), ``au`` (count), ``sentences``, ``words`` (totals).
    """
    _check(model, data, beta, batch_size)
    if iw_samples < 0 or max_rows < 1:
        raise ValueError(f"iw_samples must be >= 0 and max_rows >= 1, got {iw_samples} and {max_rows}")
    pad_id = _pad_id(model)
    totals = {"rate": 0.0, "distortion": 0.0, "iw_nll": 0.0, "mi": 0.0}
    words, means = 0, []
    with _Evaluation(model, seed) as device:
        for _, x in _batches(data, batch_size, pad_id, device):
            b = x.shape[0]
            betas = as_beta_batch(float(beta), b, device=device)
            out = model(x, betas)
            mu, logvar = out["mu"], out["logvar"]
            totals["rate"] += float(out["rate"].double().sum())
            totals["distortion"] += float(out["distortion"].double().sum())
            totals["mi"] += b * float(_batch_mutual_information(mu, logvar))
            if iw_samples:
                totals["iw_nll"] -= float(_iw_log_likelihood(model, x, betas, mu, logvar, iw_samples, max_rows).sum())
            words += int((x != pad_id).sum()) - b
            means.append(mu.double().cpu())
    n = data.shape[0]
    rate, distortion = totals["rate"] / n, totals["distortion"] / n
    elbo_total = totals["rate"] + totals["distortion"]
    variance = torch.cat(means).var(dim=0, unbiased=False)
    result = {"beta": float(beta), "rate": rate, "distortion": distortion, "loss": distortion + beta * rate,
              "elbo_nll": elbo_total / n, "elbo_ppl": perplexity(elbo_total, words), "mi": totals["mi"] / n,
              "au": float((variance > au_threshold).sum()), "sentences": float(n), "words": float(words)}
    if iw_samples:
        result.update(iw_nll=totals["iw_nll"] / n, iw_ppl=perplexity(totals["iw_nll"], words))
    return result


def text_curve(model: VAE, data: Tensor, betas: Iterable[float], **kwargs: object) -> list[dict[str, float]]:
    """:func:`evaluate_text` at each β (an MR-VAE's curve from one model); same keyword arguments."""
    return [evaluate_text(model, data, float(b), **kwargs) for b in betas]  # type: ignore[arg-type]


def iw_nll(model: VAE, data: Tensor, beta: float, *, samples: int = DEFAULT_IW_SAMPLES, batch_size: int = 32,
           max_rows: int = DEFAULT_MAX_ROWS, seed: int = 0) -> Tensor:
    """IW estimate of ``-log p(x)`` per sentence (Burda et al., 2016): ``(N,)`` float64, data order.

    ``K = samples`` draws ``z_k ~ q(z|x)``; ``-log (1/K) sum_k exp(log p(x|z_k) + log p(z_k) -
    log q(z_k|x))``. With ``K = 1`` it is a one-sample estimate of the negative ELBO; it
    decreases towards ``-log p(x)`` as ``K`` grows.
    """
    _check(model, data, beta, batch_size)
    if samples < 1 or max_rows < 1:
        raise ValueError(f"samples and max_rows must be >= 1, got {samples} and {max_rows}")
    result = torch.empty(data.shape[0], dtype=torch.float64)
    with _Evaluation(model, seed) as device:
        for rows, x in _batches(data, batch_size, _pad_id(model), device):
            betas = as_beta_batch(float(beta), x.shape[0], device=device)
            with beta_context(model, betas):
                mu, logvar = model.encode(x)
            result[rows] = -_iw_log_likelihood(model, x, betas, mu, logvar, samples, max_rows).cpu()
    return result


def perplexity(total_nll: float, total_words: int) -> float:
    """``exp(total_nll / total_words)``: nats summed over sentences, words as in :func:`word_counts`."""
    if total_words < 1:
        raise ValueError(f"perplexity needs at least one word, got total_words={total_words}")
    return math.exp(total_nll / total_words)


def mutual_information(model: VAE, data: Tensor, beta: float, *, batch_size: int = 32, seed: int = 0) -> float:
    """He et al. (2019)'s estimate of ``I(x; z)`` under ``q`` at ``beta``, in nats (see module doc)."""
    _check(model, data, beta, batch_size)
    total = 0.0
    with _Evaluation(model, seed) as device:
        for _, x in _batches(data, batch_size, _pad_id(model), device):
            with beta_context(model, as_beta_batch(float(beta), x.shape[0], device=device)):
                mu, logvar = model.encode(x)
            total += x.shape[0] * float(_batch_mutual_information(mu, logvar))
    return total / data.shape[0]


def active_units(model: VAE, data: Tensor, beta: float, *, threshold: float = 0.01, batch_size: int = 32) -> int:
    """Latent dims with ``Var_x E_q[z_d|x] > threshold`` at ``beta`` (Burda et al., 2016)."""
    _check(model, data, beta, batch_size)
    means = []
    with _Evaluation(model, 0) as device:
        for _, x in _batches(data, batch_size, _pad_id(model), device):
            with beta_context(model, as_beta_batch(float(beta), x.shape[0], device=device)):
                means.append(model.encode(x)[0].double().cpu())
    return int((torch.cat(means).var(dim=0, unbiased=False) > threshold).sum())

