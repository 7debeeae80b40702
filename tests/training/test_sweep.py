"""A batched sweep of β-VAEs must equal training them one by one."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from conftest import TinyConvVAE  # tests/ is on sys.path (rootdir conftest)
from torch import Tensor, nn

import mrvae
from mrvae.models import MLPVAE
from mrvae.training import AnnealedBeta, ConstantBeta, MultiRateBeta, TrainConfig, train
from mrvae.training.sweep import SweepDivergedError, SweepResult, train_sweep

CONFIG = TrainConfig(epochs=3, batch_size=16, lr=3e-3, seed=3, log_lines=0)
WARM_COSINE = TrainConfig(
    epochs=3, batch_size=16, lr=3e-3, seed=3, log_lines=0, lr_warmup_epochs=1, cosine_decay=True
)
SCHEDULES = [ConstantBeta(0.1), AnnealedBeta(1.0, warmup_steps=7), ConstantBeta(5.0)]
MAKERS: dict[str, Callable[[], mrvae.VAE]] = {
    "mlp": lambda: MLPVAE((1, 8, 8), hidden=16, latent_dim=4),
    "conv": TinyConvVAE,
}
ATOL = 1e-5  # batched kernels may reassociate float sums; observed differences are ~1e-7


def _data(n: int = 80) -> Tensor:  # 80 = 5 batches of 16
    gen = torch.Generator().manual_seed(0)
    return (torch.rand(n, 1, 8, 8, generator=gen) > 0.5).float()


def _binarize(x: Tensor) -> Tensor:
    return torch.bernoulli(x)  # draws from the global generator, like a real dynamic binarisation


def _sequential(make_model, data, schedules, config, **kwargs) -> tuple[list[mrvae.VAE], list]:
    """The reference: build the models as the sweep documents, then one mrvae.train per model."""
    torch.manual_seed(config.seed)
    models = [make_model() for _ in schedules]
    results = [
        train(m, data, s, config, log=lambda _: None, **kwargs)
        for m, s in zip(models, schedules, strict=True)
    ]
    return models, results


def _assert_same_models(a: list[nn.Module], b: list[nn.Module], atol: float = ATOL) -> None:
    assert len(a) == len(b)
    for model_a, model_b in zip(a, b, strict=True):
        state_a, state_b = model_a.state_dict(), model_b.state_dict()
        assert state_a.keys() == state_b.keys()
        for key in state_a:
            torch.testing.assert_close(state_a[key], state_b[key], atol=atol, rtol=0, msg=key)


def _assert_same_histories(sweep: SweepResult, results: list, rtol: float = 1e-5) -> None:
    for ours, theirs in zip(sweep.results, results, strict=True):
        assert len(ours.history) == len(theirs.history)
        for h_ours, h_theirs in zip(ours.history, theirs.history, strict=True):
            for key in ("epoch", "loss", "rate", "distortion"):
                assert h_ours[key] == pytest.approx(h_theirs[key], rel=rtol, abs=1e-6), key


@pytest.mark.parametrize(
    "arch, config, transform",
    [("mlp", CONFIG, None), ("mlp", WARM_COSINE, _binarize), ("conv", WARM_COSINE, None)],
    ids=["mlp-constant-lr", "mlp-warmup-cosine-binarized", "conv-warmup-cosine"],
)
def test_sweep_equals_sequential_train(arch, config, transform) -> None:
    make_model = MAKERS[arch]
    data = (
        _data()
        if transform is None
        else torch.rand(80, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    )
    sweep = train_sweep(
        make_model, data, SCHEDULES, config, transform=transform, log=lambda _: None
    )
    models, results = _sequential(make_model, data, SCHEDULES, config, transform=transform)
    _assert_same_models(sweep.models, models)
    _assert_same_histories(sweep, results)
    # Training moved the parameters well beyond the tolerance, so the comparison has teeth.
    torch.manual_seed(config.seed)
    untrained = make_model()
    moved = max(
        (a - b).abs().max()
        for a, b in zip(untrained.parameters(), models[0].parameters(), strict=True)
    )
    assert moved > 1000 * ATOL


def test_single_model_sweep_matches_train_exactly() -> None:
    sweep = train_sweep(
        MAKERS["mlp"], _data(), [AnnealedBeta(2.0, 5)], WARM_COSINE, log=lambda _: None
    )
    models, results = _sequential(MAKERS["mlp"], _data(), [AnnealedBeta(2.0, 5)], WARM_COSINE)
    _assert_same_models(sweep.models, models, atol=1e-6)
    _assert_same_histories(sweep, results, rtol=1e-6)


def test_independent_noise_equals_a_per_model_reference_loop() -> None:
    """Model i gets slice i of an (N, B, latent) draw; replay that stream model by model."""
    data, config = _data(), CONFIG
    sweep = train_sweep(
        MAKERS["mlp"], data, SCHEDULES, config, noise="independent", log=lambda _: None
    )
    torch.manual_seed(config.seed)
    models = [MAKERS["mlp"]() for _ in SCHEDULES]
    steps = -(-data.shape[0] // config.batch_size)
    for index, (model, schedule) in enumerate(zip(models, SCHEDULES, strict=True)):
        optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
        torch.manual_seed(config.seed)
        for epoch in range(config.epochs):
            perm = torch.randperm(data.shape[0])
            for i in range(steps):
                x = data[perm[i * config.batch_size : (i + 1) * config.batch_size]]
                eps = torch.randn(len(SCHEDULES), x.shape[0], 4)[index]
                mu, logvar = model.encode(x)
                output = model.decode(mu + (0.5 * logvar).exp() * eps)
                beta = schedule(epoch * steps + i, x.shape[0])
                loss = (
                    model.likelihood.distortion(output, x) + beta * mrvae.gaussian_kl(mu, logvar)
                ).mean()
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
    _assert_same_models(sweep.models, models)
    shared = train_sweep(MAKERS["mlp"], data, SCHEDULES, config, log=lambda _: None)
    assert not torch.allclose(shared.models[0].decoder[0].weight, sweep.models[0].decoder[0].weight)


def test_each_model_uses_its_own_beta_and_is_a_plain_module() -> None:
    data = _data()
    betas = [0.01, 1.0, 10.0]
    sweep = train_sweep(
        MAKERS["mlp"], data, [ConstantBeta(b) for b in betas], CONFIG, log=lambda _: None
    )
    assert sweep.betas == betas
    for beta, model, result in zip(betas, sweep.models, sweep.results, strict=True):
        assert type(model) is MLPVAE and not model.training
        assert all(p.dim() <= 2 for p in model.parameters())  # unstacked: no model axis left
        # Eq. 1 averaged over the data: mean loss = mean distortion + β · mean rate.
        for h in result.history:
            assert h["loss"] == pytest.approx(h["distortion"] + beta * h["rate"], rel=1e-5)
    held_out = [mrvae.evaluate(m, data, b) for m, b in zip(sweep.models, betas, strict=True)]
    rates = [r["rate"] for r in held_out]
    assert rates[0] > rates[1] > rates[2]  # a larger KL weight buys a lower rate


def test_resumed_sweep_equals_uninterrupted(tmp_path) -> None:
    data, config = _data(), TrainConfig(**{**CONFIG.__dict__, "lr_warmup_epochs": 1})  # no cosine:
    # its decay depends on config.epochs, so a 2-epoch run is not a prefix of a 3-epoch one
    full = train_sweep(MAKERS["mlp"], data, SCHEDULES, config, log=lambda _: None)
    short = TrainConfig(**{**config.__dict__, "epochs": 2})
    train_sweep(MAKERS["mlp"], data, SCHEDULES, short, checkpoint_dir=tmp_path, log=lambda _: None)
    lines: list[str] = []
    resumed = train_sweep(
        MAKERS["mlp"], data, SCHEDULES, config, checkpoint_dir=tmp_path, log=lines.append
    )
    assert resumed.resumed_from_epoch == 2 and "resumed" in lines[0]
    _assert_same_models(full.models, resumed.models, atol=0.0)
    _assert_same_histories(full, resumed.results, rtol=0.0)
    with pytest.raises(ValueError, match="different settings"):
        train_sweep(
            MAKERS["mlp"], data, SCHEDULES[:2], config, checkpoint_dir=tmp_path, log=lambda _: None
        )


def test_divergence_names_the_beta_and_keeps_finite_models() -> None:
    built = []

    def make_model() -> MLPVAE:
        model = MAKERS["mlp"]()
        if len(built) == 1:  # the second model's decoder emits NaN from the first step
            with torch.no_grad():
                model.decoder[2].bias.fill_(float("nan"))
        built.append(model)
        return model

    with pytest.raises(SweepDivergedError, match=r"#1 \(AnnealedBeta, β=1\)") as info:
        train_sweep(make_model, _data(), SCHEDULES, CONFIG, log=lambda _: None)
    assert info.value.diverged == [1] and "lower lr" in str(info.value)
    healthy = info.value.partial.models[0]
    assert all(torch.isfinite(p).all() for p in healthy.parameters())


@pytest.mark.parametrize(
    "schedules, error, match",
    [
        ([], ValueError, "empty"),
        ([ConstantBeta(1.0), MultiRateBeta(0.01, 10.0)], TypeError, r"schedules\[1\].*mrvae.train"),
        (ConstantBeta(1.0), TypeError, "sequence"),
    ],
    ids=["empty", "multi-rate", "not-a-sequence"],
)
def test_bad_schedules_are_rejected(schedules, error, match) -> None:
    with pytest.raises(error, match=match):
        train_sweep(MAKERS["mlp"], _data(), schedules, CONFIG, log=lambda _: None)


def test_mismatched_models_and_data_are_rejected() -> None:
    sizes = iter([16, 8])
    with pytest.raises(ValueError, match="different shapes"):
        train_sweep(
            lambda: MLPVAE((1, 8, 8), hidden=next(sizes), latent_dim=4),
            _data(),
            [ConstantBeta(1.0)] * 2,
            CONFIG,
            log=lambda _: None,
        )
    with pytest.raises(ValueError, match=r"data_shape=\(1, 6, 6\)"):
        train_sweep(
            MAKERS["mlp"], _data()[:, :, :6, :6], [ConstantBeta(1.0)], CONFIG, log=lambda _: None
        )
    with pytest.raises(ValueError, match=r"data_shape=\(1, 4, 4\)"):
        train_sweep(
            TinyConvVAE, _data()[:, :, :4, :4], [ConstantBeta(1.0)], CONFIG, log=lambda _: None
        )
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        train_sweep(MAKERS["mlp"], 2 * _data(), [ConstantBeta(1.0)], CONFIG, log=lambda _: None)
    with pytest.raises(ValueError, match="noise"):
        train_sweep(
            MAKERS["mlp"],
            _data(),
            [ConstantBeta(1.0)],
            CONFIG,
            noise="per-model",
            log=lambda _: None,
        )
    model = MAKERS["mlp"]()
    with pytest.raises(ValueError, match="same instance"):
        train_sweep(lambda: model, _data(), [ConstantBeta(1.0)] * 2, CONFIG, log=lambda _: None)


def test_a_sweep_of_gated_models_runs_under_vmap() -> None:
    def make_model() -> MLPVAE:
        torch.manual_seed(0)
        return mrvae.convert(MLPVAE((1, 8, 8), hidden=16, latent_dim=4), mrvae.BetaRange(0.01, 10.0))

    result = train_sweep(make_model, _data(), [ConstantBeta(1.0), ConstantBeta(2.0)],
                         TrainConfig(epochs=1, batch_size=16, log_lines=0), log=lambda _: None)
    assert len(result.models) == 2
