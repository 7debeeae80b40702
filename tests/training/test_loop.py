import pytest
import torch

import mrvae
import mrvae.training.loop as loop_module
import mrvae.training.optim as optim_module
from mrvae.hyper.layers import hyper_parameters
from mrvae.models import MLPVAE
from mrvae.training import (
    AnnealedBeta,
    ConstantBeta,
    MultiRateBeta,
    NonFiniteLossError,
    TrainConfig,
    parameter_groups,
    train,
)

CONFIG = TrainConfig(epochs=4, batch_size=16, lr=3e-3, seed=3, log_lines=0)
SCHEDULES = [MultiRateBeta(0.01, 10.0), MultiRateBeta(0.01, 10.0, per_example=False), ConstantBeta(1.0),
             AnnealedBeta(1.0, warmup_steps=10)]


def _model(multi_rate: bool) -> MLPVAE:
    torch.manual_seed(0)
    model = MLPVAE((1, 8, 8), hidden=16, latent_dim=4)
    return mrvae.convert(model, mrvae.BetaRange(0.01, 10.0)) if multi_rate else model


def _run(schedule, **kwargs):
    model = _model(isinstance(schedule, MultiRateBeta))
    gen = torch.Generator().manual_seed(0)
    data = (torch.rand(96, 1, 8, 8, generator=gen) > 0.5).float()
    return model, train(model, data, schedule, kwargs.pop("config", CONFIG), **kwargs)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: type(s).__name__)
def test_training_lowers_the_loss_and_is_deterministic(schedule) -> None:
    model_a, result_a = _run(schedule)
    model_b, result_b = _run(schedule)
    assert result_a.history[-1]["loss"] < result_a.history[0]["loss"]
    for a, b in zip(model_a.state_dict().values(), model_b.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("schedule", [SCHEDULES[0], SCHEDULES[3]], ids=["multi_rate", "annealed"])
def test_resume_equals_uninterrupted_run(tmp_path, schedule) -> None:
    full_model, full = _run(schedule)
    short = TrainConfig(**{**CONFIG.__dict__, "epochs": 2})
    _run(schedule, config=short, checkpoint_dir=tmp_path)  # "interrupted" after epoch 2
    resumed_model, resumed = _run(schedule, checkpoint_dir=tmp_path)
    assert resumed.resumed_from_epoch == 2
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    strip = [{k: v for k, v in h.items() if k != "seconds"} for h in full.history]
    assert strip == [{k: v for k, v in h.items() if k != "seconds"} for h in resumed.history]


def test_checkpoint_from_other_settings_is_refused(tmp_path) -> None:
    _run(ConstantBeta(1.0), checkpoint_dir=tmp_path)
    with pytest.raises(ValueError, match="different settings"):
        _run(ConstantBeta(2.0), checkpoint_dir=tmp_path)


class _NaNAfter(MLPVAE):
    """Produces a NaN decoder output from the ``poison_at``-th forward call on."""

    def __init__(self, poison_at: int) -> None:
        torch.manual_seed(0)
        super().__init__((1, 8, 8), hidden=16, latent_dim=4)
        self.calls, self.poison_at = 0, poison_at

    def decode(self, z):
        self.calls += 1
        out = super().decode(z)
        return out * float("nan") if self.calls >= self.poison_at else out


@pytest.mark.parametrize("check_every", [1, 3])
def test_nan_loss_stops_with_the_model_and_checkpoint_intact(tmp_path, monkeypatch, check_every) -> None:
    # check_every > 1 is what an accelerator does: the host reads the flag every few steps
    monkeypatch.setattr(loop_module, "host_check_interval", lambda device, fused=True: check_every)
    model = _NaNAfter(poison_at=6)  # 4 steps per epoch: the 2nd step of epoch 2 turns NaN
    data = (torch.rand(64, 1, 8, 8) > 0.5).float()
    with pytest.raises(NonFiniteLossError, match="lower lr") as info:
        train(model, data, ConstantBeta(1.0), TrainConfig(epochs=3, batch_size=16, log_lines=0),
              checkpoint_dir=tmp_path)
    assert "epoch 2, step 1" in str(info.value) and "checkpoint" in str(info.value)
    assert all(torch.isfinite(p).all() for p in model.parameters())
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    assert saved["epoch"] == 1 and all(torch.isfinite(v).all() for v in saved["state"].values())


@pytest.mark.parametrize("check_every", [1, 3])
def test_a_finite_loss_with_a_nan_gradient_is_not_applied(monkeypatch, check_every) -> None:
    # The loss stays finite; only the gradient of one weight turns NaN, from the 6th step on. The
    # error's promise, that the model keeps finite parameters, must hold: the step is refused.
    monkeypatch.setattr(loop_module, "host_check_interval", lambda device, fused=True: check_every)
    torch.manual_seed(0)
    model = MLPVAE((1, 8, 8), hidden=16, latent_dim=4)
    steps = {"n": 0}

    def poison(grad: torch.Tensor) -> torch.Tensor:
        steps["n"] += 1
        return grad * float("nan") if steps["n"] >= 6 else grad

    next(model.parameters()).register_hook(poison)
    data = (torch.rand(64, 1, 8, 8) > 0.5).float()
    with pytest.raises(NonFiniteLossError, match="in the gradient|epoch 2, step 1") as info:
        train(model, data, ConstantBeta(1.0), TrainConfig(epochs=3, batch_size=16, log_lines=0))
    assert "epoch 2, step 1" in str(info.value)
    assert all(torch.isfinite(p).all() for p in model.parameters())


def test_bad_data_is_rejected_before_training() -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        train(_model(False), torch.full((8, 1, 8, 8), 255.0), ConstantBeta(1.0), CONFIG)


def test_bad_schedules_and_configs() -> None:
    with pytest.raises(ValueError, match="low must be > 0"):
        MultiRateBeta(0.0, 1.0)
    with pytest.raises(ValueError, match="low < high"):
        MultiRateBeta(10.0, 0.01)
    with pytest.raises(ValueError):
        ConstantBeta(0.0)
    with pytest.raises(ValueError):
        TrainConfig(epochs=0)


def test_annealing_reaches_the_target() -> None:
    schedule = AnnealedBeta(2.0, warmup_steps=4)
    assert [float(schedule(s, 1)) for s in range(6)] == [0.5, 1.0, 1.5, 2.0, 2.0, 2.0]


def test_progress_is_a_few_lines() -> None:
    lines: list[str] = []
    config = TrainConfig(epochs=10, batch_size=32, log_lines=3)
    model = _model(False)
    train(model, (torch.rand(64, 1, 8, 8) > 0.5).float(), ConstantBeta(1.0), config, log=lines.append)
    assert 2 <= len(lines) <= 4 and lines[-1].startswith("epoch 10/10")


def _prototype_images(n: int = 512, seed: int = 0) -> torch.Tensor:
    """Noisy copies of 16 binary prototypes: data with information worth encoding."""
    gen = torch.Generator().manual_seed(seed)
    prototypes = (torch.rand(16, 1, 8, 8, generator=gen) > 0.5).float()
    flips = (torch.rand(n, 1, 8, 8, generator=gen) < 0.1).float()
    return (prototypes[torch.randint(0, 16, (n,), generator=gen)] - flips).abs()


def test_a_tiny_mr_vae_learns_to_lower_its_rate_as_beta_grows() -> None:
    """The paper's main claim in miniature: 80 Adam steps (about a second) suffice for one
    model's rate to fall by a clear factor from β = a to β = b. With gates that start
    β-independent and no faster learning rate for them, the ratio stays near 1."""
    data = _prototype_images()
    torch.manual_seed(0)
    model = mrvae.convert(MLPVAE((1, 8, 8), hidden=64, latent_dim=4), mrvae.BetaRange(0.01, 10.0))
    train(model, data, MultiRateBeta(0.01, 10.0), TrainConfig(epochs=10, batch_size=64, lr=3e-3, log_lines=0))
    rates = [mrvae.evaluate(model, data, beta)["rate"] for beta in (0.01, 0.1, 1.0, 10.0)]
    assert all(a > b for a, b in zip(rates, rates[1:], strict=False)), rates
    assert rates[0] / rates[-1] > 5.0, rates


def test_gates_get_their_own_learning_rate() -> None:
    model = _model(True)
    groups = parameter_groups(model, TrainConfig(lr=1e-3, hyper_lr_multiplier=10.0))
    assert [g["lr"] for g in groups] == [1e-3, 1e-2]
    assert {id(p) for p in groups[1]["params"]} == {id(p) for p in hyper_parameters(model)}
    assert len(groups[0]["params"]) + len(groups[1]["params"]) == len(list(model.parameters()))
    assert len(parameter_groups(_model(False), TrainConfig())) == 1
    with pytest.raises(ValueError, match="hyper_lr_multiplier"):
        TrainConfig(hyper_lr_multiplier=0.0)


def test_multi_rate_training_of_a_model_without_gates_names_convert() -> None:
    with pytest.raises(ValueError, match=r"no β gates.*mrvae\.convert\(model, mrvae\.BetaRange\(0\.01, 10\)\)"):
        train(_model(False), _prototype_images(32), MultiRateBeta(0.01, 10.0), CONFIG)


def test_data_of_the_wrong_shape_names_both_shapes() -> None:
    flat = _prototype_images(32).view(32, 64)
    with pytest.raises(ValueError, match=r"\(64,\).*data_shape=\(1, 8, 8\)"):
        train(_model(False), flat, ConstantBeta(1.0), CONFIG)
    with pytest.raises(ValueError, match=r"\(1, 8, 8\).*\(32, 64\)"):
        _model(False)(flat, 1.0)


def test_a_deferred_check_keeps_the_parameters_from_before_the_first_bad_step(monkeypatch) -> None:
    data = (torch.rand(64, 1, 8, 8, generator=torch.Generator().manual_seed(3)) > 0.5).float()
    kept = []
    for check_every in (1, 4):  # at once, or 2 steps after the bad one (those steps are skipped)
        monkeypatch.setattr(loop_module, "host_check_interval", lambda device, fused=True, every=check_every: every)
        model = _NaNAfter(poison_at=6)
        with pytest.raises(NonFiniteLossError):
            train(model, data, ConstantBeta(1.0), TrainConfig(epochs=3, batch_size=16, log_lines=0))
        kept.append([p.detach().clone() for p in model.parameters()])
    for immediate, deferred in zip(*kept, strict=True):
        assert torch.allclose(immediate, deferred, atol=1e-6)


def test_adamax_with_weight_decay_trains_and_resumes(tmp_path) -> None:
    config = TrainConfig(**{**CONFIG.__dict__, "optimizer": "adamax", "weight_decay": 3e-4, "lr": 1e-2})
    full_model, full = _run(MultiRateBeta(0.01, 10.0), config=config)
    assert full.history[-1]["loss"] < full.history[0]["loss"]
    _run(MultiRateBeta(0.01, 10.0), config=TrainConfig(**{**config.__dict__, "epochs": 2}), checkpoint_dir=tmp_path)
    resumed_model, _ = _run(MultiRateBeta(0.01, 10.0), config=config, checkpoint_dir=tmp_path)
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("field", "value", "match"), [("optimizer", "sgd", "adamax"),
                                                      ("weight_decay", -1.0, ">= 0"), ("eps", 0.0, "eps"),
                                                      ("grad_clip_norm", 0.0, "no clipping"),
                                                      ("grad_clip_norm", float("nan"), "grad_clip_norm")])
def test_bad_optimizer_settings_name_the_choices(field, value, match) -> None:
    with pytest.raises(ValueError, match=match):
        TrainConfig(**{field: value})


def test_custom_batches_replace_the_shuffled_slices() -> None:
    class Halves:
        """Every epoch: the first half of the data, then the second, unshuffled."""

        def __init__(self, data):
            self.data, self.examples, self.steps_per_epoch = data, data.shape[0], 2

        def epoch(self):
            yield from self.data.chunk(2)

    gen = torch.Generator().manual_seed(0)
    data = (torch.rand(32, 1, 8, 8, generator=gen) > 0.5).float()
    seen = []
    model = _model(False)
    original = model.forward
    model.forward = lambda x, beta, **kw: (seen.append(x.shape[0]), original(x, beta, **kw))[1]
    train(model, data, ConstantBeta(1.0), TrainConfig(epochs=2, batch_size=4, log_lines=0), batches=Halves(data))
    assert seen == [16, 16, 16, 16]


def test_plateau_rule_lowers_the_rate_after_patience_epochs_then_cools_down() -> None:
    factor = optim_module.LearningRateFactor(
        TrainConfig(epochs=10, lr_plateau_patience=2, lr_plateau_factor=0.5, lr_plateau_cooldown=1), 1)
    decisions = [factor.observe(v) for v in (3.0, 2.0, 2.5, 2.1, 2.2, 2.3, 2.4, 2.6)]
    # 2.5 and 2.1 do not beat 2.0: lowered; 2.2 falls in the cooldown; 2.3 and 2.4 lower it again.
    assert decisions == [False, False, False, True, False, False, True, False]
    assert factor.scale == 0.25 and factor(5) == 0.25
    off = optim_module.LearningRateFactor(TrainConfig(epochs=3), 1)
    assert not any(off.observe(v) for v in (1.0, 2.0, 3.0)) and off.scale == 1.0


def test_plateau_needs_validation_data_and_resumes_its_state(tmp_path) -> None:
    config = TrainConfig(**{**CONFIG.__dict__, "lr_plateau_patience": 1, "lr": 3e-2})
    with pytest.raises(ValueError, match="validation="):
        _run(ConstantBeta(1.0), config=config)
    noise = (torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(1)) > 0.5).float()
    full_model, _ = _run(MultiRateBeta(0.01, 10.0), config=config, validation=noise, checkpoint_dir=tmp_path / "a")
    scale = torch.load(tmp_path / "a" / "checkpoint.pt", weights_only=True)["scheduler"]["lr_lambdas"][0]["scale"]
    assert scale < 1.0  # the rule fired, so resuming must restore it
    short = TrainConfig(**{**config.__dict__, "epochs": 2})
    _run(MultiRateBeta(0.01, 10.0), config=short, validation=noise, checkpoint_dir=tmp_path / "b")
    resumed_model, _ = _run(MultiRateBeta(0.01, 10.0), config=config, validation=noise, checkpoint_dir=tmp_path / "b")
    for a, b in zip(full_model.state_dict().values(), resumed_model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_bad_plateau_settings_name_the_fields() -> None:
    with pytest.raises(ValueError, match="lr_plateau_factor"):
        TrainConfig(lr_plateau_patience=2, lr_plateau_factor=1.5)


def test_a_resumed_factor_keeps_its_plateau_state_but_takes_the_new_schedule() -> None:
    old = optim_module.LearningRateFactor(TrainConfig(epochs=2, cosine_decay=True, lr_plateau_patience=1), 10)
    old.observe(1.0)
    old.observe(2.0)  # lowered once
    extended = TrainConfig(epochs=4, cosine_decay=True, lr_plateau_patience=1)
    new = optim_module.LearningRateFactor(extended, 10)
    new.__dict__.update(old.__dict__)  # what LambdaLR.load_state_dict does
    new.configure(extended, 10)
    assert new.total == 40 and new.scale == 0.5 and new.best == 1.0


@pytest.mark.parametrize("optimizer", ["adam", "adamax"])
def test_the_optimiser_takes_the_configured_epsilon(optimizer) -> None:
    config = TrainConfig(optimizer=optimizer, eps=1e-3)
    built = optim_module.make_optimizer([torch.nn.Parameter(torch.zeros(2))], config, torch.device("cpu"))
    assert built.param_groups[0]["eps"] == 1e-3


def test_gradient_clipping_bounds_every_step_and_is_off_by_default(monkeypatch) -> None:
    norms: list[float] = []
    original = torch.nn.utils.clip_grad_norm_

    def spy(parameters, max_norm, **kwargs):
        parameters = list(parameters)
        total = original(parameters, max_norm, **kwargs)
        norms.append(float(torch.linalg.vector_norm(torch.stack([p.grad.norm() for p in parameters]))))
        return total

    monkeypatch.setattr(torch.nn.utils, "clip_grad_norm_", spy)
    _run(MultiRateBeta(0.01, 10.0))
    assert norms == []
    config = TrainConfig(**{**CONFIG.__dict__, "grad_clip_norm": 0.5})
    _, result = _run(MultiRateBeta(0.01, 10.0), config=config)
    assert len(norms) == config.epochs * 6  # 96 examples in batches of 16
    assert max(norms) <= 0.5 + 1e-5
    assert result.history[-1]["loss"] < result.history[0]["loss"]


def test_a_sweep_refuses_gradient_clipping_and_names_the_fix() -> None:
    data = (torch.rand(32, 1, 8, 8) > 0.5).float()
    config = TrainConfig(**{**CONFIG.__dict__, "grad_clip_norm": 1.0})
    with pytest.raises(ValueError, match="one by one"):
        mrvae.training.train_sweep(lambda: _model(False), data, [ConstantBeta(0.1), ConstantBeta(1.0)], config,
                                   log=lambda line: None)


def test_the_resume_line_names_the_checkpoint_relative_to_the_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    _run(ConstantBeta(1.0), checkpoint_dir=tmp_path / "runs")
    lines: list[str] = []
    _run(ConstantBeta(1.0), checkpoint_dir=tmp_path / "runs", log=lines.append)
    resumed = [line for line in lines if line.startswith("resumed from ")]
    assert resumed and resumed[0].startswith("resumed from runs/"), lines
