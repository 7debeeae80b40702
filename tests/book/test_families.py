"""The other families' book experiments, end to end on tiny settings."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from mrvae.data import DatasetNotFoundError
from mrvae.data.text import TextData
from mrvae_companion.families import (
    FAMILY_PROFILES,
    FamilyProfile,
    HierarchicalExperiment,
    TextExperiment,
    evaluate_family_panel,
    family_profile,
    fit_hierarchical_panel,
    fit_text_panel,
    text_budget_study,
    train_family_panels,
)

pytestmark = pytest.mark.usefixtures("one_thread")

RESPONSE_KEYS = {"rate_ratio", "monotone", "median_gap", "worst_gap", "beta_vae_monotone"}


def test_profiles_are_valid_and_unknown_names_list_the_choices() -> None:
    assert set(FAMILY_PROFILES) == {"quick", "cpu", "paper"}
    quick = family_profile("quick")
    assert [e.dataset for e in quick.hierarchical] == ["binary_mnist", "omniglot"]
    assert quick.text is not None and quick.describe()["text"]["max_vocab"] == 2000
    with pytest.raises(ValueError, match="quick"):
        family_profile("fast")


def test_experiment_settings_are_checked_and_keyed() -> None:
    with pytest.raises(ValueError, match="binary dataset"):
        HierarchicalExperiment("cifar10")
    with pytest.raises(ValueError, match="kl_warmup_fraction"):
        TextExperiment(kl_warmup_fraction=0.0)
    a, b = HierarchicalExperiment("omniglot", "quick"), HierarchicalExperiment("omniglot", "quick", epochs=3)
    assert a.tag == b.tag == "omniglot-nvae-quick" and a.key != b.key
    # The MR-VAE-only setting does not change where the β-VAEs are cached.
    assert a.key == HierarchicalExperiment("omniglot", "quick", hyper_lr_multiplier=1.0).key
    assert TextExperiment().tag == "yahoo-lstm"


def _corpus() -> TextData:
    gen = torch.Generator().manual_seed(0)
    words = [f"w{i}" for i in range(12)]

    def documents(n: int) -> list[list[str]]:
        # Two "topics" so that a latent code helps: documents draw from one half of the words.
        out = []
        for _ in range(n):
            half = words[:6] if torch.rand(1, generator=gen) < 0.5 else words[6:]
            length = int(torch.randint(3, 8, (1,), generator=gen))
            out.append([half[int(i)] for i in torch.randint(0, 6, (length,), generator=gen)])
        return out

    return TextData.from_documents(documents(96), documents(16), documents(32))


def test_text_panel_trains_both_sweeps_and_reports_the_response(tmp_path) -> None:
    exp = TextExperiment(embed_dim=8, hidden_dim=8, latent_dim=2, epochs=1, batch_size=32, lr=3e-3)
    panel = fit_text_panel(exp, data=_corpus(), run_dir=tmp_path, log=lambda line: None)
    assert len(panel.constant) == len(panel.annealed) == 10
    assert panel.parameters["mr_vae"] > panel.parameters["beta_vae"]
    result = evaluate_family_panel(panel)
    assert RESPONSE_KEYS <= set(result.response.to_json())
    assert set(result.response.median_gap) == set(result.comparisons) == {"constant", "annealed"}
    assert len(result.curve) == 20 and result.source == panel.source
    # Cached: a second call trains nothing and gives the same models.
    again = fit_text_panel(exp, data=_corpus(), run_dir=tmp_path, log=lambda line: None)
    assert all(torch.equal(p, q) for p, q in zip(panel.mr_vae.parameters(), again.mr_vae.parameters(), strict=True))
    # The budget study reuses the panel's MR-VAE at 1x and trains a longer one at 2x.
    rows = text_budget_study(panel, exp, _corpus(), (1, 2), run_dir=tmp_path)
    assert [r["epochs"] for r in rows] == [1.0, 2.0]
    assert rows[0]["train_seconds"] == panel.mr_train_seconds
    assert all(r["rate"] >= 0 and r["coverage"] >= 0 for r in rows)
    with pytest.raises(ValueError, match=">= 1"):
        text_budget_study(panel, exp, _corpus(), (0,))
    with pytest.raises(ValueError, match="not one of the panel"):
        text_budget_study(panel, exp, _corpus(), (1,), beta=0.5)
    # The annealed sweep at the decades only: the same models as in the full sweep, 4 of them.
    decades = fit_text_panel(exp, data=_corpus(), run_dir=tmp_path, log=lambda line: None, annealed_every=3)
    assert sorted(decades.annealed) == pytest.approx([0.01, 0.1, 1.0, 10.0]) and len(decades.constant) == 10
    for beta, model in decades.annealed.items():
        assert all(torch.equal(p, q) for p, q in zip(model.parameters(), panel.annealed[beta].parameters(),
                                                     strict=True))
    assert len(evaluate_family_panel(decades).comparisons["annealed"]) == 4


def test_the_quick_profile_trains_the_text_annealed_sweep_at_the_decades() -> None:
    from mrvae_companion.families import FamilyProfile

    assert family_profile("quick").text_annealed_every == 3
    assert family_profile("quick").describe()["text_annealed_every"] == 3
    for bad in (0, 1.5, True):
        with pytest.raises(ValueError, match="text_annealed_every"):
            FamilyProfile(hierarchical=(), text=None, text_annealed_every=bad)  # type: ignore[arg-type]


def test_hierarchical_panel_trains_four_constant_beta_vaes(tmp_path) -> None:
    exp = HierarchicalExperiment("binary_mnist", "quick", channels=2, train_images=64, test_images=16, epochs=1,
                                 batch_size=32, lr_warmup_epochs=0)
    try:
        panel = fit_hierarchical_panel(exp, run_dir=tmp_path, log=lambda line: None)
    except DatasetNotFoundError:
        pytest.skip("binary MNIST files not available")
    assert sorted(panel.constant) == pytest.approx([0.01, 0.1, 1.0, 10.0])
    assert panel.annealed is None
    result = evaluate_family_panel(panel)
    assert set(result.response.median_gap) == set(result.comparisons) == {"constant"}


def _same(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(p, q) for p, q in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_side_by_side_panels_equal_the_in_process_ones(tmp_path) -> None:
    hierarchical = HierarchicalExperiment("binary_mnist", "quick", channels=2, train_images=64, test_images=16,
                                          epochs=1, batch_size=32, lr_warmup_epochs=0)
    text = TextExperiment(embed_dim=8, hidden_dim=8, latent_dim=2, epochs=1, batch_size=32, lr=3e-3)
    profile = FamilyProfile(hierarchical=(hierarchical,), text=text, parallel=True)
    try:
        side_by_side = train_family_panels(profile, text_data=_corpus(), run_dir=tmp_path, log=lambda line: None)
    except DatasetNotFoundError:
        pytest.skip("binary MNIST files not available")
    in_process = train_family_panels(dataclasses.replace(profile, parallel=False), text_data=_corpus(),
                                     log=lambda line: None)
    assert [p.tag for p in side_by_side] == [p.tag for p in in_process] == [hierarchical.tag, text.tag]
    for a, b in zip(side_by_side, in_process, strict=True):
        assert _same(a.mr_vae, b.mr_vae)
        for sweep in ("constant", "annealed"):
            models_a, models_b = getattr(a, sweep) or {}, getattr(b, sweep) or {}
            assert models_a.keys() == models_b.keys()
            assert all(_same(models_a[beta], models_b[beta]) for beta in models_a)
    assert len(list(tmp_path.rglob("checkpoint.pt"))) == 5 + 21  # cached for the book build
