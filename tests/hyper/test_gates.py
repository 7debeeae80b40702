import math

import pytest
import torch

from mrvae.hyper.gates import BetaRange, as_beta_batch, gate_function, sigmoid_gate, sqrt_gate


def test_sqrt_gate_matches_definition_inside_the_open_region() -> None:
    x = torch.linspace(-20, -1e-3, 200, dtype=torch.float64)
    assert torch.allclose(sqrt_gate(x), torch.sqrt(1 - torch.exp(x)), atol=1e-14)


def test_sqrt_gate_is_zero_and_finite_at_and_beyond_the_edge() -> None:
    x = torch.tensor([0.0, 1e-8, 1.0, 50.0, 1e4, float("inf"), -float("inf")], requires_grad=True)
    y = sqrt_gate(x)
    y.sum().backward()
    assert y[:6].eq(0).all() and y[6] == 1
    assert torch.isfinite(x.grad).all()
    assert x.grad[:6].eq(0).all()


@pytest.mark.parametrize("gate", [sigmoid_gate, sqrt_gate])
def test_gradcheck(gate) -> None:
    x = torch.linspace(-6, -0.05, 25, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(gate, (x,))


def test_gates_lie_in_unit_interval() -> None:
    x = torch.linspace(-30, 30, 1001)
    for gate in (sigmoid_gate, sqrt_gate):
        y = gate(x)
        assert (y >= 0).all() and (y <= 1).all()


def test_unknown_gate_lists_the_valid_names() -> None:
    with pytest.raises(ValueError, match="sigmoid"):
        gate_function("tanh")


def test_standardised_input_has_zero_mean_unit_variance() -> None:
    r = BetaRange(0.01, 10.0)
    torch.manual_seed(0)
    nu = r.standardize(r.sample(200_000).double())
    assert abs(float(nu.mean())) < 0.01
    assert abs(float(nu.std()) - 1.0) < 0.01
    ends = r.standardize(torch.tensor([0.01, 10.0], dtype=torch.float64))
    assert torch.allclose(ends, torch.tensor([-math.sqrt(3), math.sqrt(3)], dtype=torch.float64))


def test_samples_are_log_uniform_within_range() -> None:
    r = BetaRange(1e-3, 1e3)
    torch.manual_seed(0)
    b = r.sample(100_000)
    assert float(b.min()) >= 1e-3 * (1 - 1e-6) and float(b.max()) <= 1e3 * (1 + 1e-6)
    # log-uniform: half the mass below the geometric midpoint 1
    assert abs(float((b < 1).float().mean()) - 0.5) < 0.01


def test_grid_has_paper_default_of_twenty_points() -> None:
    g = BetaRange(0.01, 10).grid()
    assert g.shape == (20,) and math.isclose(g[0], 0.01) and math.isclose(g[-1], 10.0)


@pytest.mark.parametrize("low, high, match", [(0.0, 1.0, "low must be > 0"), (-1, 1, "low must be > 0"),
                                              (1.0, 1.0, "low < high"), (10, 0.1, "low < high"),
                                              (float("nan"), 1.0, "finite")])
def test_bad_ranges_name_the_problem(low, high, match) -> None:
    with pytest.raises(ValueError, match=match):
        BetaRange(low, high)


def test_beta_batch_accepts_scalars_and_per_example_values() -> None:
    assert as_beta_batch(0.5, 3).tolist() == [0.5, 0.5, 0.5]
    assert as_beta_batch(torch.tensor(2.0), 2).tolist() == [2.0, 2.0]
    assert as_beta_batch(torch.tensor([1.0, 2.0]), 2).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("beta, match", [(0.0, "> 0"), (-1.0, "> 0"), (float("nan"), "finite"),
                                         (torch.ones(3), r"shape \(batch,\)"), (torch.ones(2, 1), "shape"),
                                         ("1", "number or a tensor")])
def test_bad_beta_values_raise(beta, match) -> None:
    with pytest.raises(ValueError, match=match):
        as_beta_batch(beta, 2)
