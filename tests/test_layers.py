import pytest
import torch
from torch import nn

from mrvae.gates import BetaRange
from mrvae.layers import GatedConv2d, GatedConvTranspose2d, GatedLinear, beta_context, gated_layers

R = BetaRange(0.01, 10.0)


def _layers():
    return [
        (GatedLinear(5, 3, gate="sigmoid", beta_range=R), torch.randn(4, 5), 3),
        (GatedLinear(5, 3, gate="sqrt", beta_range=R), torch.randn(4, 7, 5), 3),
        (GatedConv2d(2, 3, 3, padding=1, gate="sigmoid", beta_range=R), torch.randn(4, 2, 6, 6), 3),
        (GatedConvTranspose2d(2, 3, 4, stride=2, padding=1, gate="sqrt", beta_range=R), torch.randn(4, 2, 3, 3), 3),
    ]


@pytest.mark.parametrize("layer, x, out", _layers())
def test_exactly_two_extra_parameters_per_output_unit(layer, x, out) -> None:
    plain = sum(p.numel() for n, p in layer.named_parameters() if not n.startswith("hyper"))
    assert sum(p.numel() for p in layer.parameters()) - plain == 2 * out


@pytest.mark.parametrize("layer, x, out", _layers())
def test_output_is_preactivation_times_per_example_gate(layer, x, out) -> None:
    beta = torch.tensor([0.01, 0.1, 1.0, 10.0])
    with torch.no_grad():
        layer.hyper_weight.normal_()
    y = layer(x, beta)
    plain = type(layer).__mro__[2].forward(layer, x)  # the base nn layer's forward
    gates = layer.gate_values(beta)
    shape = (4, *([1] * (y.dim() - 2)), out) if isinstance(layer, GatedLinear) else (4, out, 1, 1)
    assert torch.allclose(y, plain * gates.view(shape), atol=1e-6)
    # different β → different outputs for the same input
    assert not torch.allclose(y[0], layer(x[:1], 10.0)[0])


@pytest.mark.parametrize("layer, x, out", _layers())
def test_gradients_reach_hypernetwork(layer, x, out) -> None:
    with torch.no_grad():
        layer.hyper_weight.fill_(0.3)
    layer(x, torch.tensor([0.02, 0.2, 2.0, 8.0])).square().sum().backward()
    assert layer.hyper_weight.grad.abs().sum() > 0 and layer.hyper_bias.grad.abs().sum() > 0


def test_gradcheck_through_gated_linear() -> None:
    layer = GatedLinear(3, 2, gate="sqrt", beta_range=R).double()
    with torch.no_grad():
        layer.hyper_weight.copy_(torch.tensor([0.5, -0.7], dtype=torch.float64))
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    beta = torch.tensor([0.05, 0.5, 1.0, 5.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda inp: layer(inp, beta), (x,))


def test_context_supplies_beta_and_is_restored() -> None:
    model = nn.Sequential(GatedLinear(2, 2, beta_range=R), nn.ReLU(), GatedLinear(2, 1, beta_range=R))
    x = torch.randn(3, 2)
    beta = torch.tensor([0.1, 1.0, 5.0])
    with beta_context(model, beta):
        y = model(x)
    assert all(layer.context_beta is None for layer in gated_layers(model))
    manual = model[2](torch.relu(model[0](x, beta)), beta)
    assert torch.allclose(y, manual)


def test_missing_beta_names_the_fix() -> None:
    with pytest.raises(ValueError, match="beta_context"):
        GatedLinear(2, 2)(torch.randn(3, 2))


def test_context_beta_of_wrong_size_is_rejected() -> None:
    layer = GatedLinear(2, 2)
    with beta_context(layer, torch.ones(5)), pytest.raises(ValueError, match="one β per example"):
        layer(torch.randn(3, 2))


def test_unbatched_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsqueeze"):
        GatedConv2d(1, 1, 3)(torch.randn(1, 5, 5), 1.0)


def test_beta_range_survives_a_state_dict_round_trip() -> None:
    a = GatedLinear(2, 2, beta_range=BetaRange(0.001, 100.0))
    b = GatedLinear(2, 2, beta_range=BetaRange(0.01, 10.0))
    b.load_state_dict(a.state_dict())
    assert b.beta_range.low == pytest.approx(0.001) and b.beta_range.high == pytest.approx(100.0)
    x = torch.randn(2, 2)
    assert torch.equal(a(x, 3.0), b(x, 3.0))
