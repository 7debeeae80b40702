"""A trainable linear VAE (Eq. 4), its MR-VAE and its exact expected objective.

The closed forms it is checked against (the optimum of Lucas et al. 2019 at every β, and
Theorem 1's construction) are :mod:`mrvae.models.linear_closed_form`'s. Everything here is
float64; matrices follow the paper: ``E (k, n)``, ``D (n, k)``, ``C`` as the diagonal ``(k,)``.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor, nn

from mrvae.hyper.convert import convert
from mrvae.hyper.gates import BetaLike, BetaRange, as_beta_batch
from mrvae.hyper.layers import BetaGate, Gated, GateInit, beta_context
from mrvae.models.base import VAE
from mrvae.models.linear_closed_form import Spectrum, expected_rate_distortion, optimal_rate_distortion
from mrvae.models.objective import Likelihood, beta_vae_loss, gaussian_kl


class DiagonalVariance(nn.Module):
    """A diagonal factor of ``C``: ``exp(log_scale)``, shape ``(k,)`` (β-independent)."""

    def __init__(self, dim: int, *, dtype: Any = None) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(dim, dtype=dtype))

    def forward(self, batch_size: int) -> Tensor:
        return self.log_scale.exp().expand(batch_size, -1)

    def gated_features(self) -> tuple[int, int]:
        """One gate per latent dimension, like a linear layer (:class:`mrvae.hyper.convert.Gateable`)."""
        return self.log_scale.shape[0], -1


class LinearVAE(VAE):
    """The two-layer linear VAE of Eq. 10 with a Gaussian decoder of fixed variance ``sigma2``.

    ``forward`` takes the expectation over ``z ~ q(z|x)`` in closed form (the
    decoder is linear), so the only noise in training is the minibatch. Shapes:
    ``x (B, *shape)`` with ``prod(shape) = data_dim``.
    """

    def __init__(self, data_dim: int, latent_dim: int, sigma2: float, mean: Tensor | None = None,
                 *, dtype: Any = None) -> None:
        super().__init__(Likelihood("gaussian", sigma2))
        self.data_dim, self.latent_dim, self.sigma2 = data_dim, latent_dim, sigma2
        factory = {"bias": False, "dtype": dtype}
        self.encoder = nn.ModuleDict({"E1": nn.Linear(data_dim, latent_dim, **factory),
                                      "E2": nn.Linear(latent_dim, latent_dim, **factory),
                                      "C1": DiagonalVariance(latent_dim, dtype=dtype),
                                      "C2": DiagonalVariance(latent_dim, dtype=dtype)})
        self.decoder = nn.ModuleDict({"D1": nn.Linear(latent_dim, latent_dim, **factory),
                                      "D2": nn.Linear(latent_dim, data_dim, **factory)})
        with torch.no_grad():  # start close to identity maps so early gradients are well scaled
            self.encoder["E2"].weight.copy_(torch.eye(latent_dim))
            self.decoder["D1"].weight.copy_(torch.eye(latent_dim))
        self.register_buffer("data_mean", torch.zeros(data_dim, dtype=dtype) if mean is None
                             else mean.to(dtype or torch.get_default_dtype()))

    def multi_rate(self, beta_range: BetaRange, *, encoder_gate: str = "sigmoid", decoder_gate: str = "sqrt",
                   variance_gate: str = "sigmoid", init: GateInit = "open",
                   gate_decoder_output: bool = True) -> LinearVAE:
        """Convert in place to an MR-VAE and return ``self``.

        Every factor gets a gate (Eq. 6 on each layer), so the heads and the decoder's ends are
        gated too: ``encoder_gate`` on the mean's factors E1, E2, ``variance_gate`` on the
        variance's factors C1, C2 (a sqrt gate there could close and send log C to -inf),
        ``decoder_gate`` on D1 and, with ``gate_decoder_output``, on D2. Theorem 1's construction
        leaves D2 plain (its gate constant): a sqrt gate per data dimension that closes over the
        whole sampled range has no gradient left and drops that dimension for good (chapter 1
        measures it). ``init``: ``"open"`` (gates start open and β-independent) or
        ``"uniform"`` (the authors' ``nn.Linear(1, n)`` initialisation).
        """
        plain = () if gate_decoder_output else ("decoder.D2",)
        everywhere = {"init": init, "gate_encoder_heads": True, "gate_decoder_input": True,
                      "gate_decoder_output": True}
        convert(self, beta_range, encoder=("encoder.E1", "encoder.E2"), decoder="decoder",
                encoder_gate=encoder_gate, decoder_gate=decoder_gate, exclude=("encoder.C1", "encoder.C2", *plain),
                **everywhere)
        convert(self, beta_range, encoder=("encoder.C1", "encoder.C2"), decoder="decoder",
                encoder_gate=variance_gate, decoder_gate=decoder_gate, exclude=plain, **everywhere)
        return self

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        centred = x.flatten(1) - self.data_mean
        mu = self.encoder["E2"](self.encoder["E1"](centred))
        variance = self.encoder["C2"](x.shape[0]) * self.encoder["C1"](x.shape[0])
        return mu, variance.log()

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder["D2"](self.decoder["D1"](z)) + self.data_mean

    def forward(self, x: Tensor, beta: BetaLike) -> dict[str, Tensor]:
        """Per-example ``loss``, ``rate``, ``distortion`` ``(B,)`` with ``E_q`` in closed form."""
        batch = x.shape[0]
        beta_batch = as_beta_batch(beta, batch, device=x.device).to(self.data_mean.dtype)
        with beta_context(self, beta_batch):
            mu, logvar = self.encode(x)
            variance = logvar.exp()
            recon = self.decode(mu)
            basis = torch.eye(self.latent_dim, dtype=x.dtype, device=x.device).expand(batch, -1, -1)
            columns = self.decoder["D2"](self.decoder["D1"](basis))  # (B, k, n): D(β_b) e_j
        noise_term = (variance * columns.square().sum(-1)).sum(-1)
        distortion = ((x.flatten(1) - recon).square().sum(-1) + noise_term) / (2.0 * self.sigma2)
        rate = gaussian_kl(mu, logvar)
        result = beta_vae_loss(distortion, rate, beta_batch)
        result.update(mu=mu, logvar=logvar)
        return result

    @torch.no_grad()
    def response(self, beta: float) -> tuple[Tensor, Tensor, Tensor]:
        """The learned ``(E(β) (k, n), C(β) (k,), D(β) (n, k))`` in float64."""
        dtype = self.data_mean.dtype
        with beta_context(self, torch.full((self.data_dim,), beta, dtype=dtype)):
            encoder = self.encoder["E2"](self.encoder["E1"](torch.eye(self.data_dim, dtype=dtype))).T
        with beta_context(self, torch.full((self.latent_dim,), beta, dtype=dtype)):
            decoder = self.decoder["D2"](self.decoder["D1"](torch.eye(self.latent_dim, dtype=dtype))).T
        with beta_context(self, torch.full((1,), beta, dtype=dtype)):
            variance = (self.encoder["C2"](1) * self.encoder["C1"](1))[0]
        return encoder.double(), variance.double(), decoder.double()

    @torch.no_grad()
    def exact_rate_distortion(self, covariance: Tensor, beta: float) -> tuple[float, float]:
        """Exact expected ``(rate, distortion)`` at ``beta`` for data of covariance ``S``
        centred at this model's ``data_mean``."""
        rate, distortion = expected_rate_distortion(*self.response(beta), covariance.double(), self.sigma2)
        return float(rate), float(distortion)


def _weight_and_gate(layer: nn.Module, beta: Tensor) -> tuple[Tensor, Tensor]:
    """A bias-free (gated) linear layer as its weight ``(out, in)`` and its gate per β ``(B, out)``
    (ones where the layer is plain)."""
    if isinstance(layer, Gated):
        assert isinstance(layer.inner, nn.Linear) and layer.inner.bias is None
        return layer.inner.weight, layer.gate.gate_values(beta)
    assert isinstance(layer, nn.Linear) and layer.bias is None
    return layer.weight, layer.weight.new_ones(beta.shape[0], layer.weight.shape[0])


def _factor(layer: nn.Module, beta: Tensor) -> Tensor:
    """A bias-free (gated) linear layer as a matrix per β: ``(B, out, in)``."""
    weight, gate = _weight_and_gate(layer, beta)
    return gate[:, :, None] * weight


def _variance(model: LinearVAE, beta: Tensor) -> Tensor:
    with beta_context(model, beta):
        return model.encoder["C2"](beta.shape[0]) * model.encoder["C1"](beta.shape[0])


def population_objective(model: LinearVAE, covariance: Tensor, beta: Tensor) -> dict[str, Tensor]:
    """Exact expected ``rate``, ``distortion`` and ``loss`` over the data for each β: ``(B,)``.

    Uses ``E_x`` in closed form for data of covariance ``S`` centred at the model's
    ``data_mean``: ``tr((I-DE)S(I-DE)ᵀ) = tr S - 2 tr(E S D) + tr(E S Eᵀ DᵀD)``.

    The gates only scale rows, so with ``E(β) = M_E(β) W₁`` (``W₁ = E1``'s weight, ``(k, n)``) and
    ``D(β) = diag(g(β)) W₂ M_D(β)`` (``W₂ = D2``'s weight, ``(n, k)``), every ``n × n`` product
    is ``W₁ S``, shared by all β of a step: a step costs ``O(n² k + B n k²)``, not ``O(B n² k)``
    (8x faster for chapter 2's MR-VAE, which averages 8 β per step).
    """
    beta = beta.to(covariance.dtype)
    e1, e1_gate = _weight_and_gate(model.encoder["E1"], beta)  # (k, n), (B, k)
    d2, d2_gate = _weight_and_gate(model.decoder["D2"], beta)  # (n, k), (B, n)
    mix_e = _factor(model.encoder["E2"], beta) * e1_gate[:, None, :]  # M_E: (B, k, k)
    mix_d = _factor(model.decoder["D1"], beta)  # M_D: (B, k, k)
    variance = _variance(model, beta)  # (B, k)
    projected = e1 @ covariance  # W₁ S: (k, n), once per step
    ese = mix_e @ (projected @ e1.T) @ mix_e.transpose(1, 2)  # E S Eᵀ: (B, k, k)
    dtd = mix_d.transpose(1, 2) @ torch.einsum("nk,bn,nl->bkl", d2, d2_gate.square(), d2) @ mix_d  # DᵀD
    esd = mix_e @ torch.einsum("kn,bn,nl->bkl", projected, d2_gate, d2) @ mix_d  # E S D: (B, k, k)
    trace_ese = ese.diagonal(dim1=1, dim2=2).sum(-1)
    rate = 0.5 * (variance.sum(-1) + trace_ese - model.latent_dim - variance.log().sum(-1))
    recon = (torch.trace(covariance) - 2.0 * esd.diagonal(dim1=1, dim2=2).sum(-1)
             + (ese * dtd).sum((1, 2)) + (variance * dtd.diagonal(dim1=1, dim2=2)).sum(-1))
    distortion = recon / (2.0 * model.sigma2)
    return beta_vae_loss(distortion, rate, beta)


def minimise_from_random_starts(
    covariance: Tensor, sigma2: float, beta: float, latent_dim: int, *, restarts: int = 4, seed: int = 0,
) -> list[float]:
    """Minimise the exact ``D + βR`` over ``(E, log C, D)`` with L-BFGS from random starts.

    An independent check of the closed form: no restart may end below it.
    Returns the final loss of each restart.
    """
    n = covariance.shape[0]
    covariance = covariance.double()

    def restart(gen: torch.Generator) -> float:
        params = [torch.randn(latent_dim, n, generator=gen, dtype=torch.float64).requires_grad_(True),
                  torch.randn(latent_dim, generator=gen, dtype=torch.float64).requires_grad_(True),
                  torch.randn(n, latent_dim, generator=gen, dtype=torch.float64).requires_grad_(True)]

        def loss() -> Tensor:
            rate, distortion = expected_rate_distortion(params[0], params[1].exp(), params[2], covariance, sigma2)
            return distortion + beta * rate

        optimizer = torch.optim.LBFGS(params, max_iter=1000, line_search_fn="strong_wolfe", tolerance_grad=1e-12)

        def closure() -> Tensor:
            optimizer.zero_grad()
            value = loss()
            value.backward()
            return value

        optimizer.step(closure)
        return float(loss().detach())

    return [restart(torch.Generator().manual_seed(seed + r)) for r in range(restarts)]


#: A latent counts as active if its squared decoder column norm exceeds this at some β.
ACTIVE_LATENT_THRESHOLD = 1e-3


@torch.no_grad()
def learned_response(model: LinearVAE, covariance: Tensor, betas: Tensor) -> dict[str, Any]:
    """How close a trained linear MR-VAE is to the closed-form optimum of data of covariance ``S``.

    For each β of ``betas`` ``(G,)``: the relative gap of the exact ``D + βR`` to the optimum's,
    the sorted squared decoder column norms ``‖D_i(β)‖²`` against ``a_i = (λ_i - βσ²)_+`` and
    the sorted variances ``C(β)`` against ``min(βσ²/λ_i, 1)``. Returns ``relative_gaps (G,)``,
    ``max_relative_gap``, ``active_latents`` (columns whose norm exceeds
    :data:`ACTIVE_LATENT_THRESHOLD` at some β), ``D_norm_max_error`` and ``C_max_error``
    (largest errors over the grid). :func:`dead_gates` names the gates that cannot recover.
    """
    spectrum = Spectrum.of(covariance.double())
    k = model.latent_dim
    gaps, d_errors, c_errors, peaks = [], [], [], torch.zeros(k, dtype=torch.float64)
    for beta in betas.tolist():
        rate, distortion = model.exact_rate_distortion(covariance, beta)
        best_rate, best_distortion = optimal_rate_distortion(spectrum.eigenvalues, model.sigma2, beta, k)
        best = best_distortion + beta * best_rate
        gaps.append((distortion + beta * rate - best) / best)
        _, variance, decoder = model.response(beta)
        norms = torch.sort((decoder**2).sum(0), descending=True).values
        peaks = torch.maximum(peaks, norms)
        d_errors.append(float((norms - torch.clamp(spectrum.eigenvalues[:k] - beta * model.sigma2, min=0)).abs().max()))
        target_c = torch.sort(torch.clamp(beta * model.sigma2 / spectrum.eigenvalues[:k], max=1)).values
        c_errors.append(float((torch.sort(variance).values - target_c).abs().max()))
    active = int((peaks > ACTIVE_LATENT_THRESHOLD).sum())
    return {"relative_gaps": gaps, "max_relative_gap": max(gaps), "active_latents": active,
            "D_norm_max_error": max(d_errors), "C_max_error": max(c_errors)}


def dead_gates(model: nn.Module) -> dict[str, int]:
    """Per gated layer, how many of its sqrt gates are closed at every β of its range.

    ``sqrt(ReLU(1 - e^x))`` is 0 with zero gradient for ``x >= 0``; a gate whose
    pre-activation ``w ν + c`` is non-negative over the whole standardised range ``|ν| <= √3``
    never opens again, whatever the training does next.
    """
    dead = {}
    for name, module in model.named_modules():
        if isinstance(module, BetaGate) and module.gate == "sqrt" and module.hypernetwork == "linear":
            lowest = module.bias - module.weight.abs() * math.sqrt(3.0)
            dead[name.removesuffix(".gate")] = int((lowest >= 0).sum())
    return dead
