import math

import pytest
import torch
from torch import nn

from mrvae.hyper.gates import BetaRange
from mrvae.hyper.layers import (
    BetaGate,
    Gated,
    GatedConv2d,
    GatedConvTranspose2d,
    GatedLinear,
    beta_context,
    beta_gates,
    hyper_parameters,
)

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
    plain = sum(p.numel() for p in layer.inner.parameters())
    assert sum(p.numel() for p in layer.parameters()) - plain == 2 * out
    assert sum(p.numel() for p in hyper_parameters(layer)) == 2 * out


@pytest.mark.parametrize("layer, x, out", _layers())
def test_output_is_preactivation_times_per_example_gate(layer, x, out) -> None:
    beta = torch.tensor([0.01, 0.1, 1.0, 10.0])
    with torch.no_grad():
        layer.gate.weight.normal_()
    y = layer(x, beta)
    gates = layer.gate.gate_values(beta)
    shape = (4, *([1] * (y.dim() - 2)), out) if isinstance(layer, GatedLinear) else (4, out, 1, 1)
    assert torch.allclose(y, layer.inner(x) * gates.view(shape), atol=1e-6)
    # different β → different outputs for the same input
    assert not torch.allclose(y[0], layer(x[:1], 10.0)[0])


@pytest.mark.parametrize("layer, x, out", _layers())
def test_gradients_reach_hypernetwork(layer, x, out) -> None:
    with torch.no_grad():
        layer.gate.weight.fill_(0.3)
    layer(x, torch.tensor([0.02, 0.2, 2.0, 8.0])).square().sum().backward()
    assert layer.gate.weight.grad.abs().sum() > 0 and layer.gate.bias.grad.abs().sum() > 0


def test_gradcheck_through_gated_linear() -> None:
    layer = GatedLinear(3, 2, gate="sqrt", beta_range=R).double()
    with torch.no_grad():
        layer.gate.weight.copy_(torch.tensor([0.5, -0.7], dtype=torch.float64))
    x = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    beta = torch.tensor([0.05, 0.5, 1.0, 5.0], dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda inp: layer(inp, beta), (x,))


def test_gradcheck_through_the_gate_parameters() -> None:
    gate = BetaGate(3, "sigmoid", R, init="uniform", dim=1).double()
    x = torch.randn(4, 3, 2, 2, dtype=torch.float64)
    beta = torch.tensor([0.05, 0.5, 1.0, 5.0], dtype=torch.float64)

    def through(w: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        return torch.func.functional_call(gate, {"weight": w, "bias": c}, (x, beta))

    w, c = (gate.weight.detach().clone().requires_grad_(), gate.bias.detach().clone().requires_grad_())
    assert torch.autograd.gradcheck(through, (w, c))


def test_gate_after_a_norm_scales_each_channel_by_its_gate() -> None:
    torch.manual_seed(0)
    block = Gated(nn.BatchNorm2d(3), BetaGate(3, "sigmoid", R, init="uniform"))
    x = torch.randn(8, 3, 4, 4)
    beta = torch.full((8,), 0.3)
    normalised = block.inner(x)
    assert torch.allclose(block(x, beta), normalised * block.gate.gate_values(beta)[:, :, None, None])


def test_uniform_init_responds_to_beta_and_never_starts_closed() -> None:
    torch.manual_seed(0)
    nu_edges = torch.tensor([-math.sqrt(3.0), math.sqrt(3.0)])
    sigmoid = BetaGate(256, "sigmoid", R, init="uniform")
    sqrt = BetaGate(256, "sqrt", R, init="uniform")
    for gate in (sigmoid, sqrt):
        values = gate.values(nu_edges)
        assert (values[0] - values[1]).abs().mean() > 0.05  # it responds to β from step 0
        assert bool((values > 0).all())  # no gate starts closed anywhere on the range
    assert sigmoid.weight.abs().max() <= 1 and sigmoid.bias.abs().max() <= 1


def test_authors_init_is_their_linear_default_and_closes_sqrt_gates() -> None:
    """``"authors"``: ``w, c ~ U(-1, 1)`` with no shift, as their ``nn.Linear(1, F)``; then about
    half of the ``sqrt`` gates are closed at any β, and some at every β of the range."""
    torch.manual_seed(0)
    gate = BetaGate(4096, "sqrt", R, init="authors")
    assert gate.weight.abs().max() <= 1 and gate.bias.abs().max() <= 1 and gate.bias.min() < -0.9
    nu = torch.linspace(-math.sqrt(3.0), math.sqrt(3.0), 41)
    closed = gate.values(nu) == 0  # (41 β, 4096 gates)
    assert 0.4 < float(closed.float().mean()) < 0.6
    assert 0.05 < float(closed.all(0).float().mean()) < 0.25
    torch.manual_seed(0)
    shifted = BetaGate(4096, "sqrt", R, init="uniform")
    assert torch.equal(shifted.weight, gate.weight) and torch.allclose(shifted.bias, gate.bias - 1 - math.sqrt(3.0))


def test_open_init_is_beta_independent() -> None:
    gate = BetaGate(4, "sqrt", R, init="open")
    values = gate.values(torch.tensor([-1.7, 0.0, 1.7]))
    assert torch.allclose(values, values[:1].expand(3, -1)) and bool((values > 0.9).all())


def test_unknown_init_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown gate init 'zeros'.*open"):
        BetaGate(2, init="zeros")  # type: ignore[arg-type]


def test_context_supplies_beta_and_is_restored() -> None:
    model = nn.Sequential(GatedLinear(2, 2, beta_range=R), nn.ReLU(), GatedLinear(2, 1, beta_range=R))
    x = torch.randn(3, 2)
    beta = torch.tensor([0.1, 1.0, 5.0])
    with beta_context(model, beta):
        y = model(x)
    assert all(gate.context_nu is None for gate in beta_gates(model))
    manual = model[2](torch.relu(model[0](x, beta)), beta)
    assert torch.allclose(y, manual)


def test_context_computes_nu_once_per_range() -> None:
    model = nn.Sequential(GatedLinear(2, 2, beta_range=R), GatedLinear(2, 2, beta_range=R),
                          GatedLinear(2, 2, beta_range=BetaRange(0.1, 1.0)))
    with beta_context(model, torch.tensor([0.5, 2.0])):
        nus = [gate.context_nu for gate in beta_gates(model)]
        assert nus[0] is nus[1] and nus[2] is not nus[0]
        assert not torch.allclose(nus[0], nus[2])


def test_missing_beta_names_the_fix() -> None:
    with pytest.raises(ValueError, match="beta_context"):
        GatedLinear(2, 2)(torch.randn(3, 2))


def test_context_beta_of_wrong_size_is_rejected() -> None:
    layer = GatedLinear(2, 2)
    with beta_context(layer, torch.ones(5)), pytest.raises(ValueError, match="one β per example"):
        layer(torch.randn(3, 2))


def test_unbatched_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="unsqueeze"):
        BetaGate(5)(torch.randn(5), 1.0)


def test_wrong_feature_count_names_both() -> None:
    with pytest.raises(ValueError, match=r"3 features along dim 1.*\(2, 4, 5, 5\)"):
        BetaGate(3)(torch.randn(2, 4, 5, 5), 1.0)


def test_beta_range_survives_a_state_dict_round_trip() -> None:
    a = GatedLinear(2, 2, beta_range=BetaRange(0.001, 100.0))
    b = GatedLinear(2, 2, beta_range=BetaRange(0.01, 10.0))
    b.load_state_dict(a.state_dict())
    assert b.gate.beta_range.low == pytest.approx(0.001) and b.gate.beta_range.high == pytest.approx(100.0)
    x = torch.randn(2, 2)
    assert torch.equal(a(x, 3.0), b(x, 3.0))


# --- The gate product: one pass for its gradient's sums, fused with a following ReLU --------


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("shape, dim", [((3, 4, 5, 2), 1), ((3, 6, 4), -1), ((3, 4), 1)])
def test_gate_product_gradcheck(relu, shape, dim) -> None:
    from mrvae.hyper.product import _GateProduct

    gen = torch.Generator().manual_seed(0)
    features = shape[dim]
    # away from the ReLU's kink and from closed gates, where the derivatives are one-sided
    x = (torch.rand(shape, generator=gen, dtype=torch.float64) + 0.1) * torch.where(
        torch.rand(shape, generator=gen) > 0.5, 1.0, -1.0).double()
    gates = torch.rand(shape[0], features, generator=gen, dtype=torch.float64) + 0.05
    x.requires_grad_(True)
    gates.requires_grad_(True)
    for in_place in ([False, True] if relu else [False]):
        def product(x, gates, in_place=in_place):
            return _GateProduct.apply(x.clone() if in_place else x, gates, None, dim % len(shape), relu, in_place)

        assert torch.autograd.gradcheck(product, (x, gates))


@pytest.mark.parametrize("gate", ["sigmoid", "sqrt"])
def test_fused_relu_gate_equals_gate_then_relu_including_closed_gates(gate) -> None:
    gen = torch.Generator().manual_seed(1)
    conv = nn.Conv2d(2, 6, 3, padding=1)
    fused = Gated(conv, BetaGate(6, gate, R, init="uniform"), relu=True)
    if gate == "sqrt":
        with torch.no_grad():  # close half the gates: c >= |w| sqrt(3) keeps g = 0 on the range
            fused.gate.bias[:3] = 3.0
    beta = R.sample(5, generator=gen)
    x = torch.randn(5, 2, 4, 4, generator=gen)

    def grads(out):
        (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        found = [p.grad.clone() for p in fused.parameters()]
        fused.zero_grad()
        return found

    fused_out = fused(x, beta)
    fused_grads = grads(fused_out)
    reference = torch.relu(fused.gate(conv(x), beta))
    reference_grads = grads(reference)
    assert torch.allclose(fused_out, reference, atol=1e-6)
    for ours, theirs in zip(fused_grads, reference_grads, strict=True):
        assert torch.allclose(ours, theirs, atol=1e-5)
    if gate == "sqrt":
        assert (fused.gate.gate_values(beta)[:, :3] == 0).all()


def test_a_fused_gate_never_overwrites_its_input() -> None:
    fused = Gated(nn.Identity(), BetaGate(3, "sigmoid", R), relu=True)
    x = torch.randn(4, 3)
    kept = x.clone()
    out = fused(x, 1.0)
    assert torch.equal(x, kept) and torch.allclose(out, torch.relu(kept) * fused.gate.gate_values(torch.ones(4)))


def test_context_gate_values_are_each_gates_own() -> None:
    model = nn.Sequential(GatedLinear(2, 3, beta_range=R, init="uniform"),
                          GatedLinear(3, 4, gate="sqrt", beta_range=R, init="uniform"),
                          GatedLinear(4, 2, beta_range=R, init="uniform"))
    beta = torch.tensor([0.02, 0.5, 7.0])
    with beta_context(model, beta):
        for gate in beta_gates(model):
            assert torch.allclose(gate.context_values, gate.gate_values(beta))
    assert all(gate.context_values is None for gate in beta_gates(model))


def test_range_key_follows_a_loaded_state_dict() -> None:
    gate, other = BetaGate(2, beta_range=R), BetaGate(2, beta_range=BetaRange(0.1, 1.0))
    gate.load_state_dict(other.state_dict())
    assert gate.range_key == pytest.approx(other.range_key)


@pytest.mark.parametrize("fuse", [True, False])
@pytest.mark.parametrize("shape", [(3, 4, 5, 6), (3, 4, 7), (2, 3, 2, 2, 2)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_feature_sums_fused_or_by_product(monkeypatch, fuse, shape, dtype) -> None:
    from mrvae.hyper import product

    monkeypatch.setattr(product, "_sums_fuse", lambda grad, saved: fuse)
    gen = torch.Generator().manual_seed(0)
    grad, saved = torch.randn(shape, generator=gen, dtype=dtype), torch.randn(shape, generator=gen, dtype=dtype)
    spatial = tuple(range(2, len(shape)))
    assert torch.allclose(product._feature_sums(grad, saved, 1), (grad * saved).sum(spatial), atol=1e-5)
    others = tuple(range(1, len(shape) - 1))
    assert torch.allclose(product._feature_sums(grad, saved, len(shape) - 1), (grad * saved).sum(others), atol=1e-5)


def test_feature_sums_fuse_only_contiguous_cpu_floats() -> None:
    from mrvae.hyper.product import _sums_fuse

    maps = torch.randn(2, 3, 4, 4)
    assert _sums_fuse(maps, maps)
    assert not _sums_fuse(maps.transpose(2, 3), maps)  # a view the fused pass cannot flatten
    assert not _sums_fuse(maps.half(), maps.half())
    assert not _sums_fuse(maps.double(), maps)
    assert not _sums_fuse(maps.to("meta"), maps.to("meta"))  # measured on CPUs only
    empty = torch.randn(0, 3, 4, 4)
    assert not _sums_fuse(empty, empty)


@pytest.mark.parametrize("shape", [(0, 3, 4, 4), (2, 0, 4, 4)])
def test_gate_backward_on_an_empty_batch(shape) -> None:
    from mrvae.hyper.product import _GateProduct

    x = torch.randn(shape, requires_grad=True)
    gates = torch.rand(shape[0], shape[1], requires_grad=True)
    _GateProduct.apply(x, gates, None, 1, True, False).sum().backward()
    assert x.grad.shape == x.shape and gates.grad.shape == gates.shape


def test_gated_with_a_residual_adds_it_in_one_pass() -> None:
    layer = GatedConv2d(3, 3, 3, padding=1, beta_range=R, init="uniform").double()
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64, requires_grad=True)
    beta = torch.tensor([0.05, 3.0], dtype=torch.float64)
    assert torch.allclose(layer(x, beta, residual=x), x + layer(x, beta))
    assert torch.autograd.gradcheck(lambda x, w: layer(x, beta, residual=x * w),
                                    (x, torch.tensor(0.7, dtype=torch.float64, requires_grad=True)))
    with pytest.raises(ValueError, match="shape"):
        layer(x, beta, residual=x[:, :2])
