"""Linear-VAE theory against analytic answers (closed form, Theorem 1)."""


import pytest
import torch

from mrvae.hyper.gates import BetaRange
from mrvae.models.linear import (
    LinearVAE,
    dead_gates,
    learned_response,
    minimise_from_random_starts,
    population_objective,
)
from mrvae.models.linear_closed_form import (
    Spectrum,
    closed_form_response,
    data_covariance,
    expected_rate_distortion,
    optimal_rate_distortion,
    response_errors,
    theorem1_construction,
)
from mrvae.training import ConstantBeta, MultiRateBeta, NonFiniteLossError, train_population

SIGMA2, K = 1.0, 3
BETAS = [0.05, 0.5, 1.0, 3.0, 8.0, 50.0]  # crosses the collapse points λ_i/σ² = 10, 4, 1.5


@pytest.fixture(scope="module")
def spectrum() -> Spectrum:
    gen = torch.Generator().manual_seed(0)
    q, _ = torch.linalg.qr(torch.randn(6, 6, generator=gen, dtype=torch.float64))
    lam = torch.tensor([10.0, 4.0, 1.5, 0.6, 0.3, 0.1], dtype=torch.float64)
    return Spectrum.of(q @ torch.diag(lam) @ q.T)


def _loss(encoder, log_var, decoder, spectrum, beta):
    rate, distortion = expected_rate_distortion(encoder, log_var.exp(), decoder, spectrum.covariance(), SIGMA2)
    return distortion + beta * rate


@pytest.mark.parametrize("beta", BETAS)
def test_closed_form_rate_distortion_matches_exact_expectation(spectrum, beta) -> None:
    e, c, d = closed_form_response(spectrum, SIGMA2, beta, K)
    rate, distortion = expected_rate_distortion(e, c, d, spectrum.covariance(), SIGMA2)
    assert (float(rate), float(distortion)) == pytest.approx(
        optimal_rate_distortion(spectrum.eigenvalues, SIGMA2, beta, K), abs=1e-12)


@pytest.mark.parametrize("beta", BETAS)
def test_gradient_vanishes_at_the_closed_form(spectrum, beta) -> None:
    e, c, d = (t.clone().requires_grad_(True) for t in closed_form_response(spectrum, SIGMA2, beta, K))
    log_var = c.detach().log().requires_grad_(True)
    _loss(e, log_var, d, spectrum, beta).backward()
    assert max(float(g.abs().max()) for g in (e.grad, log_var.grad, d.grad)) < 1e-10


@pytest.mark.parametrize("beta", [0.5, 3.0, 8.0])
def test_random_restarts_never_beat_the_closed_form(spectrum, beta) -> None:
    best = _loss(*[(t if i != 1 else t.log()) for i, t in enumerate(closed_form_response(spectrum, SIGMA2, beta, K))],
                 spectrum, beta)
    found = minimise_from_random_starts(spectrum.covariance(), SIGMA2, beta, K, restarts=5, seed=1)
    assert min(found) >= float(best) - 1e-8
    assert min(found) == pytest.approx(float(best), abs=1e-4)  # and a restart does find it


def test_collapse_beyond_the_eigenvalue(spectrum) -> None:
    e, c, d = closed_form_response(spectrum, SIGMA2, 5.0, K)  # λ = 10 stays, 4 and 1.5 collapse
    assert d[:, 1:].abs().max() == 0 and e[1:].abs().max() == 0 and c[1:].tolist() == [1.0, 1.0]
    assert optimal_rate_distortion(spectrum.eigenvalues, SIGMA2, 20.0, K)[0] == 0.0


@pytest.fixture(scope="module")
def constructions(spectrum):
    beta_range = BetaRange(1e-2, 1e2)
    grid = torch.logspace(-2, 2, 150, dtype=torch.float64)
    return {gate: theorem1_construction(spectrum, SIGMA2, K, beta_range, encoder_gate=gate, fit_betas=grid)[0]
            for gate in ("sqrt", "sigmoid")}, grid


def test_theorem1_decoder_and_sqrt_encoder_are_exact(spectrum, constructions) -> None:
    hypers, grid = constructions
    errors = response_errors(hypers["sqrt"], spectrum, SIGMA2, K, grid)
    assert errors["D"] <= 1e-10 and errors["E"] <= 1e-10


def test_theorem1_sigmoid_gates_only_approximate(spectrum, constructions) -> None:
    hypers, grid = constructions
    paper = response_errors(hypers["sigmoid"], spectrum, SIGMA2, K, grid)
    exact = response_errors(hypers["sqrt"], spectrum, SIGMA2, K, grid)
    assert paper["D"] <= 1e-10
    assert 1e-3 < paper["E"] < 0.2  # close, but a sigmoid never reaches 0 at collapse
    assert 1e-3 < exact["C"] < 0.2 and paper["C"] == pytest.approx(exact["C"])  # no gate is exact for C


# The objective shares W₁ S across β and factors the gates out: every placement must give the
# same numbers as the minibatch objective and the per-β closed form.
@pytest.mark.parametrize("conversion", [None, {}, {"encoder_gate": "sqrt"}, {"gate_decoder_output": False},
                                        {"init": "uniform"}], ids=["plain", "default", "sqrt-encoder",
                                                                   "plain-output", "uniform-init"])
def test_population_objective_is_the_mean_of_the_minibatch_objective(conversion) -> None:
    torch.manual_seed(0)
    x = torch.randn(4000, 5, dtype=torch.float64) @ torch.diag(torch.tensor([3.0, 2.0, 1.0, 0.5, 0.1],
                                                                          dtype=torch.float64))
    mean, cov = data_covariance(x)
    model = LinearVAE(5, 2, 0.5, mean, dtype=torch.float64)
    if conversion is not None:
        model.multi_rate(BetaRange(0.1, 10), **conversion)
    for p in model.parameters():
        p.data.add_(0.3 * torch.randn_like(p))
    betas = torch.tensor([0.2, 1.0, 7.0], dtype=torch.float64)
    with torch.no_grad():  # values only: float() of a graph tensor warns
        exact = population_objective(model, cov, betas)
        for i, beta in enumerate(betas.tolist()):
            per_example = model(x, beta)
            assert float(per_example["loss"].mean()) == pytest.approx(float(exact["loss"][i]), rel=1e-8)
            assert model.exact_rate_distortion(cov, beta) == pytest.approx(
                (float(exact["rate"][i]), float(exact["distortion"][i])), rel=1e-8)


def test_training_approaches_the_optimum() -> None:
    lam = torch.tensor([4.0, 2.0, 1.0, 0.25], dtype=torch.float64)
    spectrum = Spectrum(lam, torch.eye(4, dtype=torch.float64))
    torch.manual_seed(0)
    mr = LinearVAE(4, 2, 0.5, dtype=torch.float64).multi_rate(BetaRange(0.1, 10))
    beta_vae = LinearVAE(4, 2, 0.5, dtype=torch.float64)
    train_population(mr, spectrum.covariance(), MultiRateBeta(0.1, 10), steps=1500, lr=2e-2, log_lines=0)
    train_population(beta_vae, spectrum.covariance(), ConstantBeta(1.0), steps=1500, lr=2e-2, log_lines=0)
    for model, betas in ((mr, [0.2, 1.0, 5.0]), (beta_vae, [1.0])):
        for beta in betas:
            rate, distortion = model.exact_rate_distortion(spectrum.covariance(), beta)
            opt_rate, opt_distortion = optimal_rate_distortion(lam, 0.5, beta, 2)
            optimum = opt_distortion + beta * opt_rate
            assert optimum <= distortion + beta * rate + 1e-9
            assert (distortion + beta * rate - optimum) / optimum < 0.05


def test_population_training_runs_the_shared_loop_and_stops_on_a_non_finite_loss() -> None:
    spectrum = Spectrum(torch.tensor([3.0, 2.0, 1.0, 0.5], dtype=torch.float64),
                        torch.eye(4, dtype=torch.float64))
    model = LinearVAE(4, 2, sigma2=0.5, dtype=torch.float64)
    lines: list[str] = []
    trace = train_population(model, spectrum.covariance(), ConstantBeta(1.0), steps=40, lr=1e-2, log_lines=2,
                             log=lines.append)
    assert [line.split()[:2] for line in lines] == [["step", "1/40"], ["step", "20/40"], ["step", "40/40"]]
    assert trace[-1]["step"] == 39 and trace[-1]["loss"] < trace[0]["loss"]
    with torch.no_grad():
        model.encoder["E1"].weight.fill_(float("nan"))
    with pytest.raises(NonFiniteLossError, match="non-finite loss or gradient at step 1 "):
        train_population(model, spectrum.covariance(), ConstantBeta(1.0), steps=5, lr=1e-2, log_lines=0)


def test_a_population_job_returns_the_model_it_trained_the_same_in_a_worker_as_here() -> None:
    from functools import partial

    from mrvae.training.pool import one_thread, run_jobs
    from mrvae.training.population import trained_population

    spectrum = Spectrum(torch.tensor([3.0, 2.0, 1.0, 0.5], dtype=torch.float64), torch.eye(4, dtype=torch.float64))

    def job() -> partial:
        torch.manual_seed(0)
        return partial(trained_population, LinearVAE(4, 2, sigma2=0.5, dtype=torch.float64), spectrum.covariance(),
                       ConstantBeta(1.0), steps=20, lr=1e-2, log_lines=0)

    with one_thread():  # as a worker trains
        here = job()()
    before = job().args[0].state_dict()
    there, _ = run_jobs([job(), job()], workers=2)
    assert any(not torch.equal(value, before[name]) for name, value in here.state_dict().items())
    for name, value in here.state_dict().items():
        assert torch.equal(value, there.state_dict()[name])

def test_theorem1_placement_leaves_the_decoder_output_plain_and_init_is_passed_on() -> None:
    from mrvae.hyper.layers import BetaGate

    every = LinearVAE(4, 2, 0.5, dtype=torch.float64).multi_rate(BetaRange(0.1, 10))
    placed = LinearVAE(4, 2, 0.5, dtype=torch.float64).multi_rate(BetaRange(0.1, 10), gate_decoder_output=False,
                                                                  init="uniform")

    def gated(model):
        return {name.removesuffix(".gate"): m for name, m in model.named_modules() if isinstance(m, BetaGate)}

    assert set(gated(every)) == {"encoder.E1", "encoder.E2", "encoder.C1", "encoder.C2", "decoder.D1", "decoder.D2"}
    assert set(gated(placed)) == set(gated(every)) - {"decoder.D2"}
    assert {m.init for m in gated(placed).values()} == {"uniform"}
    assert bool((gated(placed)["decoder.D1"].weight != 0).all())  # U(-1, 1): β-dependent from the start


def test_dead_gates_are_sqrt_gates_closed_over_the_whole_range() -> None:
    model = LinearVAE(4, 2, 0.5, dtype=torch.float64).multi_rate(BetaRange(0.1, 10))
    gate = model.decoder["D1"].gate
    assert dead_gates(model) == {"decoder.D1": 0, "decoder.D2": 0}  # open at the start
    with torch.no_grad():
        gate.weight.copy_(torch.tensor([-1.0, 1.0], dtype=torch.float64))
        gate.bias.copy_(torch.tensor([1.8, 1.0], dtype=torch.float64))  # 1.8 - √3 >= 0: closed everywhere
    assert dead_gates(model)["decoder.D1"] == 1
    nu = torch.linspace(-3**0.5, 3**0.5, 101, dtype=torch.float64)
    values = gate.values(nu)
    assert bool((values[:, 0] == 0).all()) and bool((values[:, 1] > 0).any())
    # ... and a dead gate gets no gradient, so no training reopens it
    (values.sum()).backward()
    assert gate.bias.grad[0] == 0 and gate.weight.grad[0] == 0


def test_learned_response_scores_the_closed_form_at_zero_and_a_collapsed_latent_as_inactive() -> None:
    lam = torch.tensor([4.0, 2.0, 1.0, 0.25], dtype=torch.float64)
    spectrum = Spectrum(lam, torch.eye(4, dtype=torch.float64))
    betas = torch.tensor([0.2, 1.0, 5.0], dtype=torch.float64)
    beta_vae = LinearVAE(4, 2, 0.5, dtype=torch.float64)
    train_population(beta_vae, spectrum.covariance(), ConstantBeta(0.2), steps=800, lr=2e-2, log_lines=0)
    report = learned_response(beta_vae, spectrum.covariance(), betas[:1])
    assert report["max_relative_gap"] == pytest.approx(0.0, abs=1e-3)
    assert report["active_latents"] == 2 and len(report["relative_gaps"]) == 1
    with torch.no_grad():
        beta_vae.decoder["D1"].weight[:, 1] = 0.0  # a collapsed latent: its decoder column is zero
    report = learned_response(beta_vae, spectrum.covariance(), betas[:1])
    assert report["active_latents"] == 1 and report["max_relative_gap"] > 0.05


def test_population_training_gives_the_gates_their_own_learning_rate() -> None:
    spectrum = Spectrum(torch.tensor([3.0, 2.0, 1.0, 0.5], dtype=torch.float64), torch.eye(4, dtype=torch.float64))
    moved = {}
    for multiplier in (1.0, 30.0):
        torch.manual_seed(0)
        model = LinearVAE(4, 2, 0.5, dtype=torch.float64).multi_rate(BetaRange(0.1, 10))
        before = model.decoder["D1"].gate.bias.detach().clone()
        train_population(model, spectrum.covariance(), MultiRateBeta(0.1, 10), steps=1, lr=1e-3, log_lines=0,
                         hyper_lr_multiplier=multiplier)
        moved[multiplier] = float((model.decoder["D1"].gate.bias.detach() - before).abs().max())
    assert moved[30.0] == pytest.approx(30 * moved[1.0], rel=1e-6)  # Adam's first step is lr in size
