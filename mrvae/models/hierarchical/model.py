"""The NVAE-style hierarchical VAE (Vahdat & Kautz, 2020) as an :class:`~mrvae.VAE`.

Structure (NVAE Figure 2): a bottom-up encoder (stem, pre-processing cells, then per latent
scale ``encoder_cells_per_group`` residual cells per group) and a top-down decoder shared by
the generative model and the posterior. Starting from a learnt map, for each latent group
``k`` (coarsest scale first)::

    prior_k      = prior head(state)                         (k = 0: N(0, I))
    posterior_k  = posterior head(bottom_up_k + conv(state))  (the encoder combiner)
    z_k          ~ posterior_k
    state        = conv([state, z_k])                        (the decoder combiner)
    state        = decoder cells(state)                      (before the next group)

then post-processing cells and an ``ELU -> conv3x3`` output. With residual-normal posteriors
(Section 3.2) the posterior's mean and log-scale are the prior's plus the encoder's.

Rate (per example) is ``sum_k KL(q(z_k | x, z_<k) || p(z_k | z_<k))``, each KL analytic for
the diagonal Gaussians at the sampled ``z_<k`` (NVAE's ``kl_all``, without flows); forward
also returns these terms as ``rate_per_group (B, groups)``. Distortion is
``-log p(x | z)`` of :class:`~mrvae.Likelihood` on the cropped output. Gaussians follow NVAE:
mean ``5 tanh(mu / 5)``, scale ``exp(5 tanh(log_sigma / 5)) + 0.01``; the top group's prior is
exactly ``N(0, I)`` (NVAE's code builds it through the same floor, giving scale 1.01).

Latents as one vector: ``encode``, ``decode`` and the ``noise`` argument of ``forward`` use a
flat ``(B, latent_dim)`` layout, the groups flattened and concatenated in top-down order
(:meth:`HierarchicalConfig.latent_shapes`). ``encode(x)`` runs the posterior with every
``z_k`` at its mean, so ``encode_mean`` and ``active_units`` see the mean path.

Regularisers (NVAE Section 3.3, options of :class:`HierarchicalConfig`): in training mode each
example's ``loss`` gains ``λ_SR * sum_i sigma_max(W_i) + λ_BN * sum_l max_c |gamma_lc|``, the
same scalar for every example, so the batch mean (what the trainer minimises) gains it once;
``rate`` and ``distortion`` stay the ELBO's terms and evaluation mode leaves the penalty out.

Gates: :func:`~mrvae.models.hierarchical.gating.build_hierarchical_mr_vae` puts one on the
output of every conv and SE linear layer but the output conv (the authors' placement).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mrvae.hyper.gates import BetaLike, as_beta_batch
from mrvae.hyper.layers import beta_context
from mrvae.models.base import VAE
from mrvae.models.objective import Likelihood, beta_vae_loss

from .cells import (
    DecoderCombiner,
    ELUConv,
    EncoderCombiner,
    InvertedResidualCell,
    ResidualCell,
    WNConv2d,
)
from .config import CHANNEL_MULT, HierarchicalConfig

#: NVAE's soft clamp of a Gaussian's mean and log-scale to ``(-5, 5)``, and the floor it adds
#: to the scale.
SOFT_CLAMP = 5.0
SIGMA_FLOOR = 1e-2
#: Power iterations on the first spectral-norm estimate, when ``u`` and ``v`` are random.
FIRST_POWER_ITERATIONS = 40


def soft_clamp(x: Tensor) -> Tensor:
    """``5 tanh(x / 5)``: a differentiable clamp to ``(-5, 5)``."""
    return SOFT_CLAMP * torch.tanh(x / SOFT_CLAMP)


def gaussian_params(mu: Tensor, log_sigma: Tensor) -> tuple[Tensor, Tensor]:
    """NVAE's Gaussian from raw head outputs: ``mu, sigma = clamp(mu), exp(clamp(log_sigma)) + 0.01``."""
    return soft_clamp(mu), torch.exp(soft_clamp(log_sigma)) + SIGMA_FLOOR


def gaussian_kl_terms(q_mu: Tensor, q_sigma: Tensor, p_mu: Tensor, p_sigma: Tensor) -> Tensor:
    """``KL(N(q_mu, q_sigma^2) || N(p_mu, p_sigma^2))`` summed over ``(C, h, w)``: ``(B,)``."""
    ratio = q_sigma / p_sigma
    kl = 0.5 * (ratio.square() + ((q_mu - p_mu) / p_sigma).square()) - 0.5 - torch.log(ratio)
    return kl.flatten(1).sum(dim=1)


@dataclass
class GroupState:
    """One latent group of a pass: ``z`` and the posterior and prior it came from, each
    ``(B, L, h, w)``; ``q_mu``/``q_sigma`` are None where ``z`` was given (decoding)."""

    z: Tensor
    p_mu: Tensor
    p_sigma: Tensor
    q_mu: Tensor | None = None
    q_sigma: Tensor | None = None


class HierarchicalEncoder(nn.Module):
    """The bottom-up path plus the posterior's parts (combiners and heads); see the module doc."""

    def __init__(self, config: HierarchicalConfig) -> None:
        super().__init__()
        c, wn, se = config.encoder_channels, config.weight_norm, config.squeeze_excitation
        self.stem = WNConv2d(config.data_shape[0], c, 3, padding=1, weight_norm=wn)
        cells: list[nn.Module] = []
        for _ in range(config.preprocess_blocks):
            for i in range(config.preprocess_cells):
                down = i == config.preprocess_cells - 1
                cells.append(ResidualCell(c, CHANNEL_MULT * c if down else c, downsample=down,
                                          squeeze_excitation=se, weight_norm=wn))
                c = CHANNEL_MULT * c if down else c
        self.preprocess = nn.Sequential(*cells)
        scales = config.groups_per_scale
        groups: list[nn.Module] = []
        self.down = nn.ModuleList()
        channels: list[int] = []  # per group, bottom-up order
        for s, count in enumerate(scales):
            for _ in range(count):
                groups.append(nn.Sequential(*(ResidualCell(c, c, squeeze_excitation=se, weight_norm=wn)
                                              for _ in range(config.encoder_cells_per_group))))
                channels.append(c)
            if s < len(scales) - 1:
                self.down.append(ResidualCell(c, CHANNEL_MULT * c, downsample=True, squeeze_excitation=se,
                                              weight_norm=wn))
                c *= CHANNEL_MULT
        self.groups = nn.ModuleList(groups)
        self.top = ELUConv(c, c, 1, elu_after=True, weight_norm=wn)
        top_down = channels[::-1]  # the decoder's order
        dec = [config.decoder_channels * (ch // config.encoder_channels) for ch in top_down]
        self.combiners = nn.ModuleList(EncoderCombiner(e, d, wn)
                                       for e, d in zip(top_down[1:], dec[1:], strict=True))
        self.posterior = nn.ModuleList(WNConv2d(e, 2 * config.latent_channels, 3, padding=1, weight_norm=wn)
                                       for e in top_down)
        self.scales = scales

    def bottom_up(self, x: Tensor) -> tuple[list[Tensor], Tensor]:
        """``x (B, C, H', W')`` padded, in ``[-1, 1]`` -> (features that meet groups ``1..K-1``
        in top-down order, the top feature for group 0)."""
        s = self.preprocess(self.stem(x))
        features: list[Tensor] = []
        index = 0
        for scale, count in enumerate(self.scales):
            for _ in range(count):
                s = self.groups[index](s)
                features.append(s)
                index += 1
            if scale < len(self.scales) - 1:
                s = self.down[scale](s)
        features.pop()  # the last group's output continues to the top instead
        return features[::-1], self.top(s)


class HierarchicalDecoder(nn.Module):
    """The top-down path (generative model) and the prior heads; see the module doc."""

    def __init__(self, config: HierarchicalConfig) -> None:
        super().__init__()
        wn, se, latent = config.weight_norm, config.squeeze_excitation, config.latent_channels
        scales = config.groups_per_scale[::-1]  # coarsest first
        c = config.decoder_channels * CHANNEL_MULT ** (config.preprocess_blocks + len(scales) - 1)
        h, w = (side // config.downsampling for side in config.padded_size)
        #: NVAE's ``prior_ftr0``: the learnt state the top-down path starts from.
        self.initial_state = nn.Parameter(torch.rand(c, h, w))
        groups: list[nn.Module] = []
        self.up = nn.ModuleList()
        combiners: list[nn.Module] = []
        priors: list[nn.Module] = []
        for s, count in enumerate(scales):
            for g in range(count):
                first = s == 0 and g == 0
                groups.append(nn.Sequential(*(
                    InvertedResidualCell(c, c, expansion=config.decoder_expansion,
                                         kernel=config.depthwise_kernel, squeeze_excitation=se,
                                         weight_norm=wn)
                    for _ in range(0 if first else config.decoder_cells_per_group))))
                if not first:
                    priors.append(ELUConv(c, 2 * latent, 1, weight_norm=wn))
                combiners.append(DecoderCombiner(c, latent, wn))
            if s < len(scales) - 1:
                self.up.append(InvertedResidualCell(
                    c, c // CHANNEL_MULT, expansion=config.decoder_expansion, kernel=config.depthwise_kernel,
                    upsample=True, squeeze_excitation=se, weight_norm=wn))
                c //= CHANNEL_MULT
        self.groups = nn.ModuleList(groups)
        self.prior = nn.ModuleList(priors)
        self.combiners = nn.ModuleList(combiners)
        cells: list[nn.Module] = []
        for _ in range(config.postprocess_blocks):
            for i in range(config.postprocess_cells):
                up = i == 0
                cells.append(InvertedResidualCell(c, c // CHANNEL_MULT if up else c,
                                                  expansion=config.postprocess_expansion,
                                                  kernel=config.depthwise_kernel, upsample=up,
                                                  squeeze_excitation=se, weight_norm=wn))
                c = c // CHANNEL_MULT if up else c
        self.postprocess = nn.Sequential(*cells)
        self.out = ELUConv(c, config.data_shape[0], 3, weight_norm=wn)
        self.scales = scales


class HierarchicalVAE(VAE):
    """NVAE-style hierarchical VAE; build it with :func:`build_hierarchical_vae`.

    Submodules ``encoder`` (:class:`HierarchicalEncoder`) and ``decoder``
    (:class:`HierarchicalDecoder`) are the groups the gates' functions are chosen by.
    """

    def __init__(self, config: HierarchicalConfig, likelihood: Likelihood | None = None) -> None:
        super().__init__(likelihood)
        self.config = config
        self.data_shape = config.data_shape
        self.latent_dim = config.latent_dim
        self.encoder = HierarchicalEncoder(config)
        self.decoder = HierarchicalDecoder(config)
        self._latent_shapes = config.latent_shapes()
        # Power-iteration vectors per weight shape, as NVAE keeps them: state of the estimator,
        # not of the model, so they stay out of the state dict.
        self._power_vectors: dict[tuple[int, ...], tuple[Tensor, Tensor]] = {}

    # --- shapes ---------------------------------------------------------------------------

    def _pad(self, x: Tensor) -> Tensor:
        """``(B, C, H, W)`` in ``[0, 1]`` -> zero-padded ``(B, C, H', W')`` mapped to ``[-1, 1]``."""
        (ph, pw), (h, w) = self.config.padded_size, self.data_shape[1:]
        if (ph, pw) != (h, w):
            top, left = (ph - h) // 2, (pw - w) // 2
            x = F.pad(x, (left, pw - w - left, top, ph - h - top))
        return 2.0 * x - 1.0

    def _crop(self, output: Tensor) -> Tensor:
        (ph, pw), (h, w) = self.config.padded_size, self.data_shape[1:]
        top, left = (ph - h) // 2, (pw - w) // 2
        return output[:, :, top:top + h, left:left + w]

    def split_latents(self, flat: Tensor) -> list[Tensor]:
        """``(B, latent_dim)`` -> per-group ``(B, L, h, w)`` in top-down order."""
        if flat.dim() != 2 or flat.shape[1] != self.latent_dim:
            raise ValueError(
                f"expected latents of shape (B, {self.latent_dim}) (all groups flattened and "
                f"concatenated top-down), got {tuple(flat.shape)}"
            )
        sizes = [c * h * w for c, h, w in self._latent_shapes]
        parts = flat.split(sizes, dim=1)
        return [part.reshape(-1, *shape) for part, shape in zip(parts, self._latent_shapes, strict=True)]

    # --- the passes -----------------------------------------------------------------------

    def top_down(self, x: Tensor | None, *, noise: list[Tensor] | None = None,
                 latents: list[Tensor] | None = None, temperature: float = 1.0,
                 batch_size: int | None = None) -> tuple[Tensor, list[GroupState]]:
        """One pass through the hierarchy; β comes from the caller's :func:`beta_context`.

        * ``x (B, C, H, W)``: sample each ``z_k`` from the posterior with ``noise[k]``
          (standard normal ``(B, L, h, w)``; fresh if None; zeros give the posterior means).
        * ``x=None, latents``: decode the given ``z_k``.
        * ``x=None, latents=None``: sample from the prior, scales times ``temperature``.

        Returns the decoder output ``(B, C, H, W)`` (cropped) and one :class:`GroupState` per group.
        """
        enc, dec, residual = self.encoder, self.decoder, self.config.residual_posterior
        if x is not None:
            self.check_input(x)
            features, top = enc.bottom_up(self._pad(x))
            batch = x.shape[0]
        else:
            batch = latents[0].shape[0] if latents is not None else int(batch_size or 1)
        state = dec.initial_state.unsqueeze(0).expand(batch, -1, -1, -1)
        groups: list[GroupState] = []
        index = 0
        for scale, count in enumerate(dec.scales):
            for _ in range(count):
                state = dec.groups[index](state)
                if index == 0:
                    shape = (batch, *self._latent_shapes[0])
                    p_mu = state.new_zeros(shape)
                    p_sigma = state.new_ones(shape)
                    p_raw = (p_mu, p_mu)  # log-scale 0; adds nothing to a residual posterior
                else:
                    p_raw = dec.prior[index - 1](state).chunk(2, dim=1)
                    p_mu, p_sigma = gaussian_params(*p_raw)
                if x is not None:
                    feature = top if index == 0 else enc.combiners[index - 1](features[index - 1], state)
                    q_mu_raw, q_log_sigma_raw = enc.posterior[index](feature).chunk(2, dim=1)
                    if residual:
                        q_mu_raw, q_log_sigma_raw = q_mu_raw + p_raw[0], q_log_sigma_raw + p_raw[1]
                    q_mu, q_sigma = gaussian_params(q_mu_raw, q_log_sigma_raw)
                    eps = torch.randn_like(q_mu) if noise is None else noise[index]
                    if eps.shape != q_mu.shape:
                        raise ValueError(f"noise for latent group {index} has shape {tuple(eps.shape)}, "
                                         f"expected {tuple(q_mu.shape)}")
                    z = q_mu + q_sigma * eps
                    groups.append(GroupState(z, p_mu, p_sigma, q_mu, q_sigma))
                elif latents is not None:
                    z = latents[index]
                    groups.append(GroupState(z, p_mu, p_sigma))
                else:
                    z = p_mu + temperature * p_sigma * torch.randn_like(p_mu)
                    groups.append(GroupState(z, p_mu, p_sigma))
                state = dec.combiners[index](state, z)
                index += 1
            if scale < len(dec.scales) - 1:
                state = dec.up[scale](state)
        output = dec.out(dec.postprocess(state))
        return self._crop(output), groups

    def _forward(self, x: Tensor, beta: Tensor, noise: Tensor | None) -> dict[str, Tensor]:
        with beta_context(self, beta):
            output, groups = self.top_down(x, noise=None if noise is None else self.split_latents(noise))
        kl = torch.stack([gaussian_kl_terms(g.q_mu, g.q_sigma, g.p_mu, g.p_sigma)  # type: ignore[arg-type]
                          for g in groups], dim=1)
        result = beta_vae_loss(self.likelihood.distortion(output, x), kl.sum(dim=1), beta)
        if self.training and self.regularized:
            # A penalty on the weights, not on an example: every example carries all of it, so
            # the batch mean of ``loss`` gains exactly ``regularization()``; rate and distortion
            # stay the ELBO's.
            result["loss"] = result["loss"] + self.regularization()
        mu, logvar = _posterior_moments(groups)
        result.update(rate_per_group=kl, mu=mu, logvar=logvar)
        return result

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """``x (B, C, H, W)`` -> posterior ``mu, logvar (B, latent_dim)`` along the mean path
        (every ``z_k`` at its posterior mean)."""
        means = [x.new_zeros(x.shape[0], *shape) for shape in self._latent_shapes]
        return _posterior_moments(self.top_down(x, noise=means)[1])

    def decode(self, z: Tensor) -> Tensor:
        """``z (B, latent_dim)`` -> decoder output ``(B, C, H, W)`` (logits or mean)."""
        return self.top_down(None, latents=self.split_latents(z))[0]

    @torch.no_grad()
    def sample(self, n: int, beta: BetaLike, *, temperature: float = 1.0) -> Tensor:
        """``n`` draws from the prior at ``beta``, as mean images ``(n, C, H, W)``."""
        if not (isinstance(n, int) and n >= 1):
            raise ValueError(f"n must be an int >= 1, got {n!r}")
        device = self.decoder.initial_state.device
        with beta_context(self, as_beta_batch(beta, n, device=device)):
            output, _ = self.top_down(None, temperature=temperature, batch_size=n)
        return self.likelihood.mean(output)

    # --- NVAE's regularisers (Section 3.3) --------------------------------------------------

    @property
    def regularized(self) -> bool:
        return self.config.spectral_regularization > 0 or self.config.batchnorm_regularization > 0

    def regularization(self) -> Tensor:
        """``λ_SR * spectral_norm_loss() + λ_BN * batchnorm_loss()``, a scalar."""
        total = self.decoder.initial_state.new_zeros(())
        if self.config.spectral_regularization > 0:
            total = total + self.config.spectral_regularization * self.spectral_norm_loss()
        if self.config.batchnorm_regularization > 0:
            total = total + self.config.batchnorm_regularization * self.batchnorm_loss()
        return total

    def spectral_norm_loss(self) -> Tensor:
        """``sum_i sigma_max(W_i)`` over every conv, each weight seen as ``(C_out, -1)``; the
        largest singular values come from power iteration with persistent vectors, batched
        over convs of equal shape (NVAE's ``spectral_norm_parallel``). Updates the vectors."""
        by_shape: dict[tuple[int, ...], list[Tensor]] = {}
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                weight = module.normalized_weight() if isinstance(module, WNConv2d) else module.weight
                matrix = weight.reshape(weight.shape[0], -1)
                by_shape.setdefault(tuple(matrix.shape), []).append(matrix)
        total = self.decoder.initial_state.new_zeros(())
        for shape, matrices in by_shape.items():
            w = torch.stack(matrices)  # (n, rows, cols)
            key = (len(matrices), *shape)
            with torch.no_grad():
                if key in self._power_vectors:
                    u, v = self._power_vectors[key]
                    steps = self.config.power_iterations
                else:
                    factory = {"device": w.device, "dtype": w.dtype}
                    u = F.normalize(torch.randn(w.shape[0], w.shape[1], **factory), dim=1, eps=1e-3)
                    v = F.normalize(torch.randn(w.shape[0], w.shape[2], **factory), dim=1, eps=1e-3)
                    steps = FIRST_POWER_ITERATIONS
                for _ in range(steps):
                    v = F.normalize(torch.bmm(u.unsqueeze(1), w).squeeze(1), dim=1, eps=1e-3)
                    u = F.normalize(torch.bmm(w, v.unsqueeze(2)).squeeze(2), dim=1, eps=1e-3)
                self._power_vectors[key] = (u, v)
            total = total + torch.bmm(u.unsqueeze(1), torch.bmm(w, v.unsqueeze(2))).sum()
        return total

    def batchnorm_loss(self) -> Tensor:
        """``sum_l max_c |gamma_lc|`` over the BatchNorm layers (NVAE's ``batchnorm_loss``)."""
        scales = [m.weight.abs().max() for m in self.modules()
                  if isinstance(m, nn.BatchNorm2d) and m.weight is not None]
        return torch.stack(scales).sum() if scales else self.decoder.initial_state.new_zeros(())


def _posterior_moments(groups: list[GroupState]) -> tuple[Tensor, Tensor]:
    """Posterior ``mu, logvar (B, latent_dim)`` of a pass, groups flattened top-down."""
    mu = torch.cat([g.q_mu.flatten(1) for g in groups if g.q_mu is not None], dim=1)
    logvar = torch.cat([2.0 * torch.log(g.q_sigma).flatten(1) for g in groups if g.q_sigma is not None],
                       dim=1)
    return mu, logvar


def build_hierarchical_vae(config: HierarchicalConfig | None = None,
                           likelihood: Likelihood | None = None) -> HierarchicalVAE:
    """A plain (β-)VAE for ``config`` (default :meth:`HierarchicalConfig.paper`); Bernoulli by default."""
    return HierarchicalVAE(config or HierarchicalConfig(), likelihood)
