"""The hypernetwork forms and the FiLM modulation of Appendix D (Figure 9)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import mrvae
from mrvae.hyper.layers import HYPERNETWORKS, BetaGate, BetaTrunk, beta_context, beta_gates, hyper_parameters
from mrvae.models import MLPVAE

R = mrvae.BetaRange(0.01, 10.0)
BETAS = torch.tensor([0.01, 0.1, 1.0, 10.0])


def _converted(hypernetwork: str, **kwargs: object) -> MLPVAE:
    torch.manual_seed(0)
    model = MLPVAE((1, 8, 8), hidden=16, latent_dim=4)
    return mrvae.convert(model, R, hypernetwork=hypernetwork, hyper_hidden=8, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("form", HYPERNETWORKS)
def test_open_gates_start_independent_of_beta_in_every_form(form: str) -> None:
    model = _converted(form)
    with beta_context(model, BETAS):
        for gate in beta_gates(model):
            values = gate.context_values
            assert values is not None and values.shape == (4, gate.features)
            assert torch.allclose(values, values[:1].expand_as(values))


@pytest.mark.parametrize("form", HYPERNETWORKS)
def test_uniform_gates_respond_to_beta_and_context_matches_explicit_beta(form: str) -> None:
    model = _converted(form, init="uniform")
    x = torch.rand(4, 1, 8, 8)
    with beta_context(model, BETAS):
        assert any(not torch.allclose(g.context_values[0], g.context_values[-1]) for g in beta_gates(model))
    if form != "mlp_shared":  # a shared gate needs the trunk, which only beta_context has
        gate = beta_gates(model)[0]
        with beta_context(model, BETAS):
            from_context = gate(torch.ones(4, gate.features))
        assert torch.allclose(from_context, gate(torch.ones(4, gate.features), BETAS))
    out = model(x, BETAS)
    assert out["loss"].shape == (4,)


def test_mlp_forms_have_the_stated_layers_and_count_as_hyper() -> None:
    features, hidden = 6, 8
    sizes = {form: sum(p.numel() for p in BetaGate(features, hypernetwork=form, hidden=hidden).parameters())
             for form in ("linear", "mlp", "mlp_shared", "mlp5")}
    assert sizes["linear"] == 2 * features
    assert sizes["mlp_shared"] == features * hidden + features
    assert sizes["mlp"] == (hidden + hidden) + features * hidden + features
    assert sizes["mlp5"] == sizes["mlp"] + 3 * (hidden * hidden + hidden)
    model = _converted("mlp5")
    counts = mrvae.count_parameters(model)
    assert counts["hyper"] == sum(p.numel() for p in hyper_parameters(model)) > 0
    assert counts["base"] == sum(p.numel() for p in MLPVAE((1, 8, 8), hidden=16, latent_dim=4).parameters())


def test_shared_trunk_is_added_once_and_shared() -> None:
    model = _converted("mlp_shared")
    trunks = [m for m in model.modules() if isinstance(m, BetaTrunk)]
    assert len(trunks) == 1 and model.beta_trunk is trunks[0]
    assert all(p in {id(q) for q in hyper_parameters(model)} for p in map(id, model.beta_trunk.parameters()))
    before = [n for n, _ in model.named_modules()]
    mrvae.convert(model, R, hypernetwork="mlp_shared", hyper_hidden=8)  # converting twice changes nothing
    assert [n for n, _ in model.named_modules()] == before
    # The trunk's output feeds every gate: its gradient collects from all of them.
    model(torch.rand(4, 1, 8, 8), BETAS)["loss"].sum().backward()
    assert model.beta_trunk.layer.weight.grad is not None


def test_shared_gate_without_a_trunk_names_the_fix() -> None:
    gate = BetaGate(3, hypernetwork="mlp_shared", hidden=4)
    with pytest.raises(ValueError, match="hypernetwork='mlp_shared'"):
        gate(torch.ones(2, 3), torch.ones(2))
    with pytest.raises(ValueError, match="exactly one BetaTrunk"), beta_context(nn.Sequential(gate), torch.ones(2)):
        pass


@pytest.mark.parametrize(("kwargs", "match"), [({"hypernetwork": "mlp3"}, "mlp_shared"),
                                               ({"hypernetwork": "mlp", "hidden": 0}, "hidden width")])
def test_bad_hypernetwork_settings_name_the_choices(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        BetaGate(3, **kwargs)


def test_film_is_scale_and_shift_and_starts_as_identity() -> None:
    gate = BetaGate(3, "film", R, dim=1)
    x = torch.randn(4, 3, 2, 2)
    assert torch.equal(gate(x, BETAS), x)
    with torch.no_grad():
        gate.bias.copy_(torch.tensor([2.0, 3.0, 4.0, 0.5, -1.0, 0.0]))
    expected = x * torch.tensor([2.0, 3.0, 4.0]).view(1, 3, 1, 1) + torch.tensor([0.5, -1.0, 0.0]).view(1, 3, 1, 1)
    assert torch.allclose(gate(x, BETAS), expected)
    relu = gate._apply_gate(x, BETAS, relu=True)
    assert torch.allclose(relu, expected.relu())  # relu(x * s + t), not relu(x) * s + t


def test_film_gates_train_through_convert_and_fused_relus() -> None:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 5), nn.ReLU(), nn.Linear(5, 2))
    holder = mrvae.VAE()
    holder.encoder = model
    mrvae.convert(holder, R, encoder="encoder", decoder=(), encoder_gate="film", gate_encoder_heads=False)
    gates = beta_gates(model)
    assert len(gates) == 2 and all(g.gate == "film" and g.outputs == 10 for g in gates)
    x = torch.randn(6, 4)
    with beta_context(model, torch.full((6,), 0.3)):
        model(x).sum().backward()
    assert all(g.bias.grad is not None and g.bias.grad[5:].abs().sum() > 0 for g in gates)  # shifts learn
    film = BetaGate(2, "film", R, init="uniform").double()
    x = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    torch.autograd.gradcheck(lambda t: film(t, torch.ones(3)), x)
