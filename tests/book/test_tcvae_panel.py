"""Figure 8's models (mrvae_companion.tcvae): run names, input checks, and a cache that gives back the
same model."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest
import torch

from mrvae.hyper.gates import BetaRange
from mrvae.hyper.layers import BetaGate
from mrvae_companion.tcvae import TCVAEExperiment, TCVAERun, _fit, fit_tcvae_models

SMALL = TCVAEExperiment(dataset_size=16, latent_dim=3, hidden=8, epochs=1, batch_size=8, lr=1e-3,
                        beta_range=BetaRange(0.1, 10.0), betas=(0.1, 1.0, 10.0))


def _images(n: int = 16) -> torch.Tensor:
    return (torch.rand(n, 1, 64, 64, generator=torch.Generator().manual_seed(0)) > 0.8).float()


@pytest.mark.parametrize(("run", "name"), [(TCVAERun(0), "mr_vae_seed0"), (TCVAERun(0, budget=4), "mr_vae_seed0_x4"),
                                           (TCVAERun(1, 0.1), "tcvae_seed1_beta0.1"),
                                           (TCVAERun(2, 3.1622776), "tcvae_seed2_beta3.162")])
def test_every_run_has_its_own_checkpoint_folder(run: TCVAERun, name: str) -> None:
    assert run.name == name


@pytest.mark.parametrize(("make", "error", "fragment"), [
    (lambda: TCVAERun(0, budget=0), ValueError, "budget must be a positive int"),
    (lambda: TCVAERun(0, budget=1.5), ValueError, "budget must be a positive int"),
    (lambda: TCVAERun(0, beta=-1.0), ValueError, "beta must be positive"),
    (lambda: TCVAEExperiment(16, 3, 8.0, 1, 8, 1e-3, BetaRange(0.1, 10.0), (1.0,)), ValueError,
     "hidden must be a positive int"),
    (lambda: TCVAEExperiment(16, 3, 8, 1, 8, 1e-3, (0.1, 10.0), (1.0,)), TypeError, "BetaRange(0.1, 10.0)"),
    (lambda: TCVAEExperiment(16, 3, 8, 1, 8, 1e-3, BetaRange(0.1, 10.0), (10.0, 1.0)), ValueError,
     "betas must be a tuple of increasing positive floats"),
    (lambda: TCVAEExperiment(16, 3, 8, 1, 8, 1e-3, BetaRange(0.1, 10.0), [1.0]), ValueError, "got [1.0]"),
    (lambda: fit_tcvae_models(SMALL, _images(), [TCVAERun(0, 2.0)], run_dir=None), ValueError,
     "runs at β [2.0] are not on the panel's grid [0.1, 1.0, 10.0]"),
    (lambda: fit_tcvae_models(SMALL, _images(15), [TCVAERun(0)], run_dir=None), ValueError, "dataset_size = 16"),
    (lambda: fit_tcvae_models(SMALL, _images(), [], run_dir=None), ValueError, "runs is empty"),
])
def test_bad_settings_name_what_to_pass(make, error: type[Exception], fragment: str) -> None:
    with pytest.raises(error, match=re.escape(fragment)):
        make()


def test_the_mr_vae_is_gated_and_a_cached_run_loads_as_the_same_model(tmp_path: Path) -> None:
    runs = [TCVAERun(0), TCVAERun(0, 1.0), TCVAERun(0)]
    mr_vae, tcvae, again = fit_tcvae_models(SMALL, _images(), runs, run_dir=tmp_path)
    assert any(isinstance(m, BetaGate) for m in mr_vae.modules())
    assert not any(isinstance(m, BetaGate) for m in tcvae.modules())
    assert sorted(p.name for p in (tmp_path / SMALL.key).iterdir()) == ["mr_vae_seed0", "tcvae_seed0_beta1"]
    assert SMALL.key != dataclasses.replace(SMALL, hidden=SMALL.hidden + 1).key
    for a, b in zip(mr_vae.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    loaded = _fit(SMALL, _images(), TCVAERun(0, 1.0), tmp_path, None, load_finished=True)  # not trained again
    for a, b in zip(tcvae.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_at_one_seed_each_model_starts_from_its_own_place_in_the_grid(monkeypatch) -> None:
    """The seeding rule: the MR-VAE's network and the first β-TCVAE share their initial weights;
    the other β-TCVAEs each start from their own, and which does not depend on the other runs."""
    from mrvae_companion import tcvae

    started: dict[TCVAERun, dict[str, torch.Tensor]] = {}
    monkeypatch.setattr(tcvae, "train", lambda model, *args, checkpoint_dir=None, **kwargs: None)
    runs = [TCVAERun(0), TCVAERun(0, 0.1), TCVAERun(0, 1.0), TCVAERun(0, 10.0)]
    for run in runs:
        model = _fit(SMALL, _images(), run, None, None)
        started[run] = {k.replace(".inner.", "."): v for k, v in model.state_dict().items() if ".gate." not in k}
    first = started[runs[1]]
    assert all(torch.equal(started[runs[0]][k], v) for k, v in first.items())
    assert not torch.equal(started[runs[2]]["encoder.1.weight"], first["encoder.1.weight"])
    assert not torch.equal(started[runs[3]]["encoder.1.weight"], started[runs[2]]["encoder.1.weight"])
    again = _fit(SMALL, _images(), runs[3], None, None).state_dict()
    assert all(torch.equal(again[k], v) for k, v in started[runs[3]].items())
