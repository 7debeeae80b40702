"""Fixtures shared by the book's tests."""

from __future__ import annotations

import pytest
import torch

import mrvae
from mrvae.models.mlp import MLPVAE
from mrvae_companion.explorer import MIN_EXPLORER_BETAS, explorer_frames, explorer_html


@pytest.fixture
def tiny_explorer():
    """``(**html_options) -> str``: the β explorer of an untrained MR-VAE whose gates start
    β-dependent (the authors' U(-1, 1), decoder input gated too), so every frame differs."""

    def make(steps: int = MIN_EXPLORER_BETAS, **html: object) -> str:
        torch.manual_seed(0)
        model = mrvae.convert(MLPVAE((1, 6, 6), hidden=16, latent_dim=3), mrvae.BetaRange(0.01, 10.0),
                              init="uniform", gate_decoder_input=True)
        frames = explorer_frames(model, torch.rand(20, 1, 6, 6).round(), beta_range=mrvae.BetaRange(0.01, 10.0),
                                 steps=steps, images=4)
        return explorer_html(frames, baselines=[(0.1, 5.0, 20.0), (1.0, 2.0, 24.0)], **html)

    return make
