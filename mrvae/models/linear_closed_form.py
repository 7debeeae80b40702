"""Linear VAEs in closed form (Sections 2.2 and 3.2): the optimum at every β and Theorem 1.

Model (Eq. 4)::

    p(x|z) = N(D z + mu, sigma2 I),    q(z|x) = N(E (x - mu), C),  C diagonal.

With ``S = U Λ U^T`` the data covariance (λ₁ ≥ λ₂ ≥ …) the β-VAE objective is the
ELBO with ``sigma2`` replaced by ``beta * sigma2`` (times β), so Lucas et al.
(2019)'s optimum carries over with ``a_i = max(0, λ_i - β σ²)``::

    D*(β) = U_k diag(sqrt(a_i)),  E*(β) = diag(sqrt(a_i) / λ_i) U_k^T,
    C*(β) = diag(min(β σ² / λ_i, 1)).

At that optimum (distortion without the constant ``(n/2) log(2π σ²)``)::

    R*(β) = ½ Σ_{i≤k} max(0, log(λ_i / (β σ²)))
    D*(β) = [Σ_{i≤k} min(λ_i, β σ²) + Σ_{i>k} λ_i] / (2 σ²)

Everything here is float64; matrices follow the paper: ``E (k, n)``, ``D (n, k)``,
``C`` as the diagonal ``(k,)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from mrvae.hyper.gates import CONSTANT_GATE_BIAS, BetaRange, gate_function


@dataclass(frozen=True)
class Spectrum:
    """Eigendecomposition of a data covariance, eigenvalues in descending order."""

    eigenvalues: Tensor  # (n,)
    eigenvectors: Tensor  # (n, n), column i pairs with eigenvalues[i]

    @classmethod
    def of(cls, covariance: Tensor) -> Spectrum:
        cov = covariance.double()
        if cov.dim() != 2 or cov.shape[0] != cov.shape[1]:
            raise ValueError(f"covariance must be square (n, n), got {tuple(cov.shape)}")
        values, vectors = torch.linalg.eigh(0.5 * (cov + cov.T))
        return cls(values.flip(0).clamp_min(0.0), vectors.flip(1))

    def covariance(self) -> Tensor:
        return self.eigenvectors @ torch.diag(self.eigenvalues) @ self.eigenvectors.T


def data_covariance(x: Tensor) -> tuple[Tensor, Tensor]:
    """Mean ``(n,)`` and maximum-likelihood covariance ``(n, n)`` of ``x (N, *shape)``, float64."""
    flat = x.flatten(1).double()
    mean = flat.mean(0)
    centred = flat - mean
    return mean, centred.T @ centred / flat.shape[0]


def _check_latent(spectrum: Spectrum, latent_dim: int, sigma2: float) -> None:
    n = spectrum.eigenvalues.shape[0]
    if not 1 <= latent_dim <= n:
        raise ValueError(f"latent_dim must be in [1, {n}], got {latent_dim}")
    if not sigma2 > 0:
        raise ValueError(f"sigma2 must be > 0, got {sigma2}")
    if float(spectrum.eigenvalues[latent_dim - 1]) <= 0:
        raise ValueError("the top latent_dim eigenvalues must be positive; reduce latent_dim")


def closed_form_response(
    spectrum: Spectrum, sigma2: float, beta: float, latent_dim: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Exact β-response ``(E*(β) (k, n), C*(β) (k,), D*(β) (n, k))``."""
    _check_latent(spectrum, latent_dim, sigma2)
    lam = spectrum.eigenvalues[:latent_dim]
    u_k = spectrum.eigenvectors[:, :latent_dim]
    a = torch.clamp(lam - beta * sigma2, min=0.0)
    decoder = u_k * a.sqrt()
    encoder = (a.sqrt() / lam)[:, None] * u_k.T
    variance = torch.clamp(beta * sigma2 / lam, max=1.0)
    return encoder, variance, decoder


def optimal_rate_distortion(eigenvalues: Tensor, sigma2: float, beta: float, latent_dim: int) -> tuple[float, float]:
    """``(R*(β), D*(β))`` at the global optimum (distortion without its constant)."""
    lam = eigenvalues.double()
    top, rest = lam[:latent_dim], lam[latent_dim:]
    rate = 0.5 * torch.clamp(torch.log(top / (beta * sigma2)), min=0.0).sum()
    distortion = (torch.clamp(top, max=beta * sigma2).sum() + rest.sum()) / (2.0 * sigma2)
    return float(rate), float(distortion)


def expected_rate_distortion(
    encoder: Tensor, variance: Tensor, decoder: Tensor, covariance: Tensor, sigma2: float
) -> tuple[Tensor, Tensor]:
    """Exact expectation over data ``x ~ (mu, S)`` and ``z ~ q(z|x)``; differentiable.

    ``rate = ½[Σ C + tr(E S Eᵀ) - k - Σ log C]`` and
    ``distortion = [tr((I - DE) S (I - DE)ᵀ) + tr(D C Dᵀ)] / (2 σ²)``.
    """
    n = covariance.shape[0]
    residual = torch.eye(n, dtype=covariance.dtype) - decoder @ encoder
    rate = 0.5 * (variance.sum() + torch.trace(encoder @ covariance @ encoder.T) - variance.numel()
                  - variance.log().sum())
    recon = torch.trace(residual @ covariance @ residual.T) + ((decoder**2) * variance).sum()
    return rate, recon / (2.0 * sigma2)


# ----------------------------------------------------------------------------------------
# Theorem 1: hypernetwork parameters for the two-layer model of Eq. 10
# ----------------------------------------------------------------------------------------


@dataclass
class GatedFactor:
    """One factor of Eq. 10, ``diag(g(w ν + c)) · base`` (``base`` a vector for C)."""

    base: Tensor
    weight: Tensor  # (rows,)
    bias: Tensor  # (rows,)
    gate: str

    def at(self, nu: float) -> Tensor:
        g = gate_function(self.gate)(self.weight * nu + self.bias)
        return g * self.base if self.base.dim() == 1 else g[:, None] * self.base


def _v_to_nu(weight_v: Tensor, bias_v: Tensor, shift: Tensor, beta_range: BetaRange) -> tuple[Tensor, Tensor]:
    """Gate input ``w (log β + shift) + c`` rewritten in the standardised ``ν``."""
    scale = beta_range.log_half_width / math.sqrt(3.0)
    return weight_v * scale, weight_v * (beta_range.log_mid + shift) + bias_v


def _sigmoid_pair(params: Tensor, v: Tensor) -> Tensor:
    """``exp(log_b) σ(w₁ v + c₁) σ(w₂ v + c₂)``; ``params (k, R, 5)``, ``v (k, G)`` → ``(k, R, G)``."""
    p = params[..., None]
    return p[:, :, 4].exp() * torch.sigmoid(p[:, :, 0] * v[:, None] + p[:, :, 1]) * torch.sigmoid(
        p[:, :, 2] * v[:, None] + p[:, :, 3]
    )


def fit_sigmoid_pair(
    target: Tensor, v: Tensor, *, restarts: int = 16, steps: int = 3000, seed: int = 0,
) -> tuple[Tensor, Tensor]:
    """Best max-error fit of ``b σ(w₁v+c₁) σ(w₂v+c₂)`` to ``target (k, G)`` on ``v (k, G)``.

    Minimises an ``L_p`` norm of the error with ``p`` rising to 256 (a smooth
    route to the minimax fit), from ``restarts`` random starts per row, and keeps
    the start with the smallest true maximum error. Returns ``params (k, 5)`` and
    the max abs errors ``(k,)``.
    """
    gen = torch.Generator().manual_seed(seed)
    k = target.shape[0]
    init = torch.randn(k, restarts, 5, generator=gen, dtype=torch.float64)
    init[..., 4] = 0.0
    params = init.requires_grad_(True)
    optimizer = torch.optim.Adam([params], lr=0.05)
    for p_norm in (2.0, 8.0, 32.0, 128.0, 256.0):
        for _ in range(steps // 5):
            err = (_sigmoid_pair(params, v) - target[:, None]).abs()
            scale = err.detach().amax(dim=-1, keepdim=True).clamp_min(1e-12)
            loss = (scale.squeeze(-1) * ((err / scale) ** p_norm).mean(-1) ** (1.0 / p_norm)).sum()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    with torch.no_grad():
        max_err = (_sigmoid_pair(params, v) - target[:, None]).abs().amax(-1)  # (k, R)
        best = max_err.argmin(dim=1)
        rows = torch.arange(k)
        return params.detach()[rows, best], max_err[rows, best]


@dataclass
class HyperLinearVAE:
    """Hypernetwork parameters ψ for Eq. 10: ``E = E₂E₁``, ``C = C₂C₁``, ``D = D₂D₁``."""

    factors: dict[str, GatedFactor]
    beta_range: BetaRange

    def response(self, beta: float) -> tuple[Tensor, Tensor, Tensor]:
        """``(E_ψ(β) (k, n), C_ψ(β) (k,), D_ψ(β) (n, k))``."""
        nu = float(self.beta_range.standardize(torch.tensor(beta, dtype=torch.float64)))
        f = {name: factor.at(nu) for name, factor in self.factors.items()}
        return f["E2"] @ f["E1"], f["C2"] * f["C1"], f["D2"] @ f["D1"]


def theorem1_construction(
    spectrum: Spectrum,
    sigma2: float,
    latent_dim: int,
    beta_range: BetaRange,
    *,
    encoder_gate: str = "sqrt",
    fit_betas: Tensor | None = None,
) -> tuple[HyperLinearVAE, dict[str, Tensor]]:
    """Explicit ψ* for Theorem 1, with ``encoder_gate`` for the encoder mean ``E``.

    * ``D₁ = I`` with the sqrt gate, weight 1 and bias ``log(σ²/λ_i)`` in log β; ``D₂ =
      U_k Λ_k^{1/2}`` with a constant open gate: ``D_ψ(β) = D*(β)`` exactly.
    * ``encoder_gate="sqrt"``: ``E₁ = Λ_k^{-1/2} U_kᵀ`` (open gate), ``E₂ = I`` gated like
      ``D₁``: exact. ``"sigmoid"`` (Eq. 7): ``E₂ = diag(b)`` and both factors' sigmoid
      gates are fitted to ``sqrt(max(0, 1 - β σ²/λ_i))``; never exact, since a sigmoid is
      never 0 but ``E*`` rows vanish at collapse.
    * ``C``: two sigmoid factors fitted to ``min(β σ²/λ_i, 1)``. No product of Eq. 7 gates
      is exact here: a product positive for every β uses only sigmoids (a sqrt gate with
      ``w ≠ 0`` vanishes on a half-line), so it is analytic in log β, while ``C*`` has a
      kink at the collapse point.

    Sigmoid fits use ``fit_betas`` (default: 400 log-spaced values over ``[a, b]``).
    Returns the construction and the fitted max errors of the scalar gate curves.
    """
    _check_latent(spectrum, latent_dim, sigma2)
    k = latent_dim
    lam = spectrum.eigenvalues[:k]
    u_k = spectrum.eigenvectors[:, :k]
    shift = torch.log(sigma2 / lam)  # gate input is log β + shift = log(β σ²/λ_i)
    ones, zeros = torch.ones(k, dtype=torch.float64), torch.zeros(k, dtype=torch.float64)
    w_nu, c_nu = _v_to_nu(ones, zeros, shift, beta_range)

    def open_factor(base: Tensor, gate: str) -> GatedFactor:
        rows = base.shape[0]
        z = torch.zeros(rows, dtype=torch.float64)
        return GatedFactor(base, z, z + CONSTANT_GATE_BIAS[gate], gate)

    if fit_betas is None:
        lo, hi = math.log10(beta_range.low), math.log10(beta_range.high)
        fit_betas = torch.logspace(lo, hi, 400, dtype=torch.float64)
    v = torch.log(fit_betas.double())[None, :] + shift[:, None]  # (k, G)
    fit_errors: dict[str, Tensor] = {}

    def sigmoid_factors(target: Tensor, name: str, inner_base: Tensor) -> tuple[GatedFactor, GatedFactor]:
        params, errors = fit_sigmoid_pair(target, v)
        fit_errors[name] = errors
        w1, c1 = _v_to_nu(params[:, 0], params[:, 1], shift, beta_range)
        w2, c2 = _v_to_nu(params[:, 2], params[:, 3], shift, beta_range)
        scale = params[:, 4].exp()
        outer_base = torch.diag(scale) if inner_base.dim() == 2 else scale
        return GatedFactor(inner_base, w1, c1, "sigmoid"), GatedFactor(outer_base, w2, c2, "sigmoid")

    factors = {
        "D1": GatedFactor(torch.eye(k, dtype=torch.float64), w_nu, c_nu, "sqrt"),
        "D2": open_factor(u_k * lam.sqrt(), "sqrt"),
    }
    encoder_base = lam.rsqrt()[:, None] * u_k.T
    if encoder_gate == "sqrt":
        factors["E1"] = open_factor(encoder_base, "sqrt")
        factors["E2"] = GatedFactor(torch.eye(k, dtype=torch.float64), w_nu, c_nu, "sqrt")
    elif encoder_gate == "sigmoid":
        target_e = torch.sqrt(torch.clamp(-torch.expm1(v), min=0.0))
        factors["E1"], factors["E2"] = sigmoid_factors(target_e, "E", encoder_base)
    else:
        raise ValueError(f"encoder_gate must be 'sqrt' or 'sigmoid', got {encoder_gate!r}")
    target_c = torch.clamp(v.exp(), max=1.0)
    factors["C1"], factors["C2"] = sigmoid_factors(target_c, "C", torch.ones(k, dtype=torch.float64))
    return HyperLinearVAE(factors, beta_range), fit_errors


def response_errors(
    hyper: HyperLinearVAE, spectrum: Spectrum, sigma2: float, latent_dim: int, betas: Tensor
) -> dict[str, float]:
    """Max abs error of ``E_ψ``, ``C_ψ``, ``D_ψ`` against the closed form over ``betas``."""
    worst = {"E": 0.0, "C": 0.0, "D": 0.0}
    for beta in betas.tolist():
        got = hyper.response(beta)
        want = closed_form_response(spectrum, sigma2, beta, latent_dim)
        for key, g, w in zip("ECD", got, want, strict=True):
            worst[key] = max(worst[key], float((g - w).abs().max()))
    return worst
