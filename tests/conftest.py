"""Shared fixtures: tiny models and data that make tests fast and deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import torch
from torch import Tensor, nn

import mrvae
from mrvae.models import MLPVAE
from mrvae.training import pool


class TinyConvVAE(mrvae.VAE):
    """Conv encoder, transposed-conv decoder, 8x8 single-channel images."""

    def __init__(self, latent_dim: int = 4) -> None:
        super().__init__(mrvae.Likelihood("bernoulli"))
        self.encoder = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(), nn.Flatten(),
                                     nn.Linear(4 * 4 * 4, 2 * latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 4 * 4 * 4), nn.ReLU(), nn.Unflatten(1, (4, 4, 4)),
                                     nn.ConvTranspose2d(4, 1, 4, stride=2, padding=1))

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)


@pytest.fixture(autouse=True)
def _no_downloads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests never reach the internet, even under `make test` (which sets MRVAE_DOWNLOAD=1
    for the notebooks): downloads are tested against a local server (tests/data/test_fetch.py)."""
    monkeypatch.delenv("MRVAE_DOWNLOAD", raising=False)
    monkeypatch.delenv("MRVAE_DATA_MIRROR", raising=False)


@pytest.fixture
def one_thread() -> Iterator[None]:
    """Run a test on one torch thread. Tiny LSTMs and small feature maps gain nothing from a
    second thread, and on a machine whose cores are busy OpenMP's spinning thread barriers make
    each op many times slower (a forward of 5 images: 2.5 s instead of 0.03 s)."""
    with pool.one_thread():
        yield


@pytest.fixture
def binary_images() -> Tensor:
    gen = torch.Generator().manual_seed(0)
    return (torch.rand(64, 1, 8, 8, generator=gen) > 0.5).float()


@pytest.fixture(params=["mlp", "conv"])
def plain_vae(request: pytest.FixtureRequest) -> mrvae.VAE:
    torch.manual_seed(0)
    if request.param == "mlp":
        return MLPVAE((1, 8, 8), hidden=16, latent_dim=4)
    return TinyConvVAE()


@pytest.fixture
def beta_range() -> mrvae.BetaRange:
    return mrvae.BetaRange(0.01, 10.0)


@pytest.fixture
def tiny_explorer():
    """``(**html_options) -> str``: the companion's β explorer of an untrained MR-VAE whose gates
    start β-dependent (the authors' U(-1, 1), decoder input gated too), so every frame differs."""
    from mrvae_companion.explorer import MIN_EXPLORER_BETAS, explorer_frames, explorer_html

    def make(steps: int = MIN_EXPLORER_BETAS, **html: object) -> str:
        torch.manual_seed(0)
        beta_range = mrvae.BetaRange(0.01, 10.0)
        model = mrvae.convert(MLPVAE((1, 6, 6), hidden=16, latent_dim=3), beta_range, init="uniform",
                              gate_decoder_input=True)
        frames = explorer_frames(model, torch.rand(20, 1, 6, 6).round(), beta_range=beta_range, steps=steps, images=4)
        return explorer_html(frames, baselines=[(0.1, 5.0, 20.0), (1.0, 2.0, 24.0)], **html)

    return make


PANEL_BETAS = (0.01, 0.1, 1.0, 10.0)


def synthetic_panel(span: float = 100.0, gap: float = 0.01, coverage: float = 0.9, monotone: bool = True,
                    baselines_monotone: bool = True, annealed: bool = True,
                    gaps: tuple[float, ...] | None = None) -> dict[str, Any]:
    """A rate–distortion panel's figure-file record (:meth:`PanelResult.to_json`) whose MR-VAE
    spans ``span`` in rate over its curve, with gap ``gap`` at every sweep β (or ``gaps``), the
    annealed sweep's half of it, and ``coverage`` of the β-VAE's rate at β = 0.01."""
    from mrvae_companion.panel_result import PanelResult

    grid = [0.01 * 1000 ** (i / 19) for i in range(20)]
    rates = [50.0 * span ** (-i / 19) for i in range(20)]
    if not monotone:
        rates[10] = 2 * rates[9]
    curve = [{"beta": b, "rate": r, "distortion": 100.0, "loss": 100.0 + b * r}
             for b, r in zip(grid, rates, strict=True)]

    def rows(sweep_gaps: tuple[float, ...]) -> list[dict[str, float]]:
        out = []
        for i, (beta, g) in enumerate(zip(PANEL_BETAS, sweep_gaps, strict=True)):
            rate = 100.0 if not baselines_monotone and i == 2 else 60.0 / 10 ** i
            loss = 100.0 + beta * rate
            mr_rate = coverage * rate if i == 0 else rate
            out.append({"beta": beta, "mr_rate": mr_rate, "mr_distortion": 100.0, "mr_loss": loss * (1 + g),
                        "rate": rate, "distortion": 100.0, "loss": loss, "gap": g})
        return out

    constant = gaps or (gap,) * len(PANEL_BETAS)
    comparisons = {"constant": rows(constant)}
    if annealed:
        comparisons["annealed"] = rows(tuple(g / 2 for g in constant))
    return PanelResult.from_measurements("synthetic", curve, comparisons).to_json()


def seed_summaries_json(**values: list[float]) -> dict[str, Any]:
    """``metrics.seeds`` as a chapter writes it: metric name → its seed summary over ``values``."""
    from mrvae_companion.seeds import summarize

    return {name: summarize(v).to_json() for name, v in values.items()}


@pytest.fixture
def kernel_spread(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The cross-kernel readings the scoreboard consults (figures/kernel_spread.json), empty and
    editable: the committed ones belong to the committed figures, not to a test's files."""
    spread: dict[str, Any] = {"profile": "quick", "runs": []}
    monkeypatch.setattr("mrvae_companion.scoreboard.rules.load_spread", lambda: spread)
    return spread
