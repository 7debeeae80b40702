"""The β explorer's frames and HTML (the browser test moves its slider: tests/book/test_browser.py)."""

from __future__ import annotations

import re

import pytest
import torch

import mrvae
from mrvae.models.mlp import MLPVAE
from mrvae_companion.explorer import explorer_frames

RANGE = mrvae.BetaRange(0.01, 10.0)


def test_frames_cover_the_range_and_change_with_beta() -> None:
    torch.manual_seed(0)
    model = mrvae.convert(MLPVAE((1, 6, 6), hidden=16, latent_dim=3), RANGE, init="uniform",
                          gate_decoder_input=True)
    frames = explorer_frames(model, torch.rand(20, 1, 6, 6).round(), beta_range=RANGE, steps=31, images=4)
    assert len(frames.betas) == len(frames.rates) == len(frames.reconstructions) == len(frames.samples) == 31
    assert frames.betas[0] == pytest.approx(0.01) and frames.betas[-1] == pytest.approx(10.0)
    assert len(set(frames.reconstructions)) > 1 and len(set(frames.samples)) > 1
    assert model.training  # restored


@pytest.mark.parametrize(("kwargs", "message"), [({"steps": 10}, "steps must be"),
                                                 ({"images": 50}, "pass at least images=50")])
def test_bad_settings_name_the_fix(kwargs: dict, message: str) -> None:
    model = mrvae.convert(MLPVAE((1, 6, 6), hidden=8, latent_dim=2), RANGE)
    with pytest.raises(ValueError, match=message):
        explorer_frames(model, torch.rand(20, 1, 6, 6), beta_range=RANGE, **kwargs)


def test_the_html_is_self_contained_and_starts_at_the_asked_beta(tiny_explorer) -> None:
    page = tiny_explorer(start=0.1)
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # nothing fetched: works offline
    assert page.count("data:image/png;base64,") >= 3 and 'type="range"' in page
    assert re.search(r'<output id="beta-explorer-beta">0\.1\d*</output>', page)
    assert 'alt="the MR-VAE' in page
    with pytest.raises(ValueError, match="element_id"):
        tiny_explorer(element_id="bad id")
