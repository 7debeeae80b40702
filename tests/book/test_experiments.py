"""The image-experiment plumbing: profiles, budgets, cached fits and per-β comparisons."""

from __future__ import annotations

import dataclasses
import shutil

import pytest
import torch

from mrvae.hyper.gates import BetaRange
from mrvae.hyper.layers import BetaGate
from mrvae.models.benchmark import GatePlacement, build_vae
from mrvae.training import CheckpointError
from mrvae_companion.experiments import (
    PAPER_BETA_RANGE,
    ExperimentData,
    ImageExperiment,
    baseline_betas,
    fit_beta_vaes,
    fit_mr_vae,
    fit_mr_vaes,
    fit_mr_vaes_on_panels,
    likelihood_for,
    load_experiment_data,
    mr_vae_checkpoint,
)
from mrvae_companion.panel_metrics import compare_at_betas
from mrvae_companion.profiles import IMAGE_PROFILES, image_profile


@pytest.fixture
def tiny() -> tuple[ImageExperiment, ExperimentData]:
    exp = ImageExperiment("binary_mnist", "resnet", width=1 / 32, latent_dim=4, epochs=2, batch_size=16,
                          lr_warmup_epochs=1)
    gen = torch.Generator().manual_seed(0)
    train = (torch.rand(48, 1, 28, 28, generator=gen) > 0.7).float()
    test = (torch.rand(32, 1, 28, 28, generator=gen) > 0.7).float()
    return exp, ExperimentData(train, test, None, "synthetic")


def test_baseline_betas_are_the_papers_logspace() -> None:
    torch.testing.assert_close(torch.tensor(baseline_betas(), dtype=torch.float64),
                               torch.logspace(-2, 1, 10, dtype=torch.float64))


def test_likelihoods_follow_the_data() -> None:
    assert likelihood_for("omniglot").name == "bernoulli"
    rgb = likelihood_for("cifar10")
    assert rgb.name == "gaussian" and rgb.sigma2 == 0.5  # distortion = summed squared error
    with pytest.raises(ValueError, match="unknown dataset"):
        likelihood_for("imagenet")


def test_profiles_give_matching_experiments() -> None:
    quick = image_profile("quick")
    assert quick.experiment("binary_mnist", "conv").width == 1 / 8
    assert quick.experiment("celeba64", "resnet").train_images == 1000  # (dataset, kind) wins
    assert quick.experiment("cifar10", "resnet").train_images == 2000  # dataset over base
    for dataset in ("binary_mnist", "omniglot"):
        for kind in ("conv", "resnet"):
            exp = quick.experiment(dataset, kind)
            assert exp.steps(exp.train_images) >= 1000  # the 28x28 panels' budget (issue 8)
    assert quick.experiment("svhn", "conv").architecture().latent == 32  # the authors' SVHN latent
    paper = IMAGE_PROFILES["paper"].experiment("binary_mnist", "resnet")
    assert (paper.epochs, paper.batch_size, paper.lr, paper.lr_warmup_epochs, paper.cosine_decay) == \
        (200, 128, 1e-3, 10, True)
    with pytest.raises(ValueError, match="choose one of"):
        image_profile("huge")


def test_a_bad_override_key_is_refused() -> None:
    from mrvae_companion.profiles import ImageProfile

    with pytest.raises(ValueError, match="not a dataset, a kind"):
        ImageProfile(datasets=("omniglot",), base={}, overrides={"mlp": {"width": 1.0}})
    with pytest.raises(TypeError):
        ImageProfile(datasets=("omniglot",), base={"widht": 1.0})


def test_response_metrics_sanity_bands() -> None:
    from mrvae_companion.panel_metrics import is_monotone, response_metrics

    grid = [0.01 * 10 ** (3 * i / 19) for i in range(20)]
    learned = [{"beta": b, "rate": 50.0 / (1.0 + 10 * b)} for b in grid]
    flat = [{"beta": b, "rate": 20.0} for b in grid]
    rows = [{"beta": b, "rate": 50.0 / (1.0 + 10 * b), "mr_rate": 50.0 / (1.0 + 10 * b), "gap": g}
            for b, g in zip(grid[::2], [0.01] * 9 + [0.2], strict=True)]
    good = response_metrics(learned, rows, rows)
    assert good["rate_ratio"] > 10 and good["monotone"] and good["beta_vae_monotone"]["constant"]
    assert good["median_gap"]["constant"] == pytest.approx(0.01) and good["worst_gap"]["annealed"] == 0.2
    useless = response_metrics(flat, rows, rows)
    assert useless["rate_ratio"] == pytest.approx(1.0)
    covering = [{**r, "mr_rate": r["rate"] * (0.5 if r["beta"] == grid[0] else 1.0)} for r in rows]
    assert response_metrics(learned, covering)["rate_coverage"]["constant"] == pytest.approx(0.5)
    constant_only = response_metrics(learned, rows)  # a family compared with constant-β β-VAEs only
    assert set(constant_only["median_gap"]) == set(constant_only["beta_vae_monotone"]) == {"constant"}
    assert is_monotone([10.0, 10.05, 9.0]) and not is_monotone([10.0, 10.2, 9.0])


def test_kl_warmup_covers_the_stated_fraction_of_training() -> None:
    exp = ImageExperiment("binary_mnist", "conv", epochs=10, batch_size=100, kl_warmup_fraction=0.1)
    assert exp.kl_warmup_steps(1000) == 10  # 10 epochs x 10 steps x 10%
    with pytest.raises(ValueError, match="kl_warmup_fraction"):
        ImageExperiment("binary_mnist", "conv", kl_warmup_fraction=0.0)


def test_batched_and_sequential_sweeps_give_the_same_models(tiny, tmp_path) -> None:
    exp, data = tiny
    betas = baseline_betas(3)
    sequential = fit_beta_vaes(exp, data, betas, annealed=True, log=lambda line: None)
    batched = fit_beta_vaes(exp, data, betas, annealed=True, batched=True, log=lambda line: None)
    for beta in betas:
        for (name, p), q in zip(sequential[beta].named_parameters(), batched[beta].parameters(), strict=True):
            torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4, msg=name)


def test_each_beta_vae_starts_from_its_place_in_the_sweep(tiny, monkeypatch) -> None:
    """The one seeding rule (sweep_model): at a seed each β-VAE starts from its own weights, the
    same whether it trains alone or with its sweep, and the MR-VAE's network from the first one's."""
    from mrvae_companion import experiments

    exp, data = tiny
    started: list[dict[str, torch.Tensor]] = []
    monkeypatch.setattr(experiments, "train", lambda model, *args, **kwargs:
                        started.append({k: v.clone() for k, v in model.state_dict().items()}))
    betas = baseline_betas(3)
    fit_beta_vaes(exp, data, betas, annealed=False, log=lambda line: None)
    fit_beta_vaes(exp, data, betas, annealed=True, members=[2], log=lambda line: None)
    fit_mr_vae(exp, data, log=lambda line: None)
    *sweep, member, mr_vae = started

    def same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> bool:
        return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)

    assert not same(sweep[0], sweep[1]) and not same(sweep[1], sweep[2]) and same(member, sweep[2])
    # a gated layer keeps its own weights as ``inner``, beside its ``gate``
    assert same({k.replace(".inner.", "."): v for k, v in mr_vae.items() if ".gate." not in k}, sweep[0])
    with pytest.raises(ValueError, match="position must be an int >= 0"):
        experiments.sweep_model(0, lambda: build_vae(exp.architecture()), -1)


def _assert_same_models(first, second) -> None:
    for a, b in zip(first, second, strict=True):
        for (name, p), q in zip(a.state_dict().items(), b.state_dict().values(), strict=True):
            assert torch.equal(p, q), name


def test_side_by_side_sweeps_do_not_depend_on_the_worker_count(tiny, tmp_path) -> None:
    exp, data = tiny
    betas = baseline_betas(3)
    in_process = fit_beta_vaes(exp, data, betas, annealed=True, workers=1, log=lambda line: None)
    side_by_side = fit_beta_vaes(exp, data, betas, annealed=True, workers=2, run_dir=tmp_path, log=lambda line: None)
    _assert_same_models(in_process.values(), side_by_side.values())
    assert len(list(tmp_path.glob("*/beta_vaes_annealed/*/checkpoint.pt"))) == 3  # kept for resuming
    torch.manual_seed(exp.seed)  # the first model's initialisation: training moved it
    untrained = build_vae(exp.architecture(), likelihood_for(exp.dataset))
    assert not all(torch.equal(a, b) for a, b in zip(side_by_side[betas[0]].parameters(), untrained.parameters(),
                                                      strict=True))


def test_side_by_side_mr_vaes_match_in_process_fits(tiny, tmp_path, monkeypatch) -> None:
    from mrvae_companion import runner

    exp, data = tiny
    submitted: list[int] = []
    real_run_jobs = runner.run_jobs
    monkeypatch.setattr(runner, "run_jobs", lambda jobs, workers: submitted.append(len(jobs))
                        or real_run_jobs(jobs, workers))
    variants = [(BetaRange(0.1, 10.0), GatePlacement()), (BetaRange(0.01, 10.0), GatePlacement(encoder_gate="sqrt")),
                (BetaRange(0.1, 10.0), None)]  # the default placement again: listed twice, trained once
    in_process = fit_mr_vaes(exp, data, variants, workers=1)
    side_by_side = fit_mr_vaes(exp, data, variants, workers=2, run_dir=tmp_path)
    _assert_same_models(in_process, side_by_side)
    assert len(list(tmp_path.glob("*/mrvae_*/checkpoint.pt"))) == 2 and submitted == [2, 2]  # per call
    # several panels (here one at two seeds) in one pool: the same models as one call per panel
    second = (dataclasses.replace(exp, seed=1), data)
    both = fit_mr_vaes_on_panels([(exp, data), second], variants, workers=2, run_dir=tmp_path / "both")
    assert submitted[-1] == 4
    _assert_same_models(in_process, both[0])
    _assert_same_models(fit_mr_vaes(*second, variants, workers=1), both[1])


def test_workers_refuse_synchronised_batch_norm(tiny) -> None:
    exp, data = tiny
    with pytest.raises(ValueError, match="leave workers=None"):
        fit_beta_vaes(exp, data, [1.0], annealed=False, workers=2, sync_batchnorm=True, log=lambda line: None)


def test_a_profile_is_batched_or_parallel_not_both() -> None:
    quick = image_profile("quick")
    assert quick.parallel and quick.workers is not None and quick.workers >= 1
    assert image_profile("paper").workers is None
    with pytest.raises(ValueError, match="set one of them"):
        type(quick)(datasets=("binary_mnist",), base={}, batched=True, parallel=True)


def test_the_quick_profile_trains_the_annealed_sweep_on_figure_1s_panel_only(tiny, tmp_path) -> None:
    from mrvae_companion.panels import _load_panel, _panel_jobs
    from mrvae_companion.profiles import ImageProfile

    quick = image_profile("quick")
    assert quick.trains_annealed(quick.experiment(*quick.headline))
    assert not quick.trains_annealed(quick.experiment("omniglot", "resnet"))
    assert not quick.trains_annealed(quick.experiment("binary_mnist", "conv"))
    assert all(IMAGE_PROFILES[name].trains_annealed(IMAGE_PROFILES[name].experiment("omniglot", "conv"))
               for name in ("cpu", "paper"))
    assert quick.describe()["annealed_sweeps"] == "headline"
    with pytest.raises(ValueError, match="'all' or 'headline'"):
        ImageProfile(datasets=("omniglot",), base={}, annealed_sweeps="none")  # type: ignore[arg-type]

    headline, data = tiny
    other = dataclasses.replace(headline, dataset="omniglot")
    profile = ImageProfile(datasets=("binary_mnist", "omniglot"), base={}, annealed_sweeps="headline")
    assert len(_panel_jobs(headline, data, tmp_path, None, annealed=None)) == 21  # None: every annealed β-VAE
    assert len(_panel_jobs(headline, data, tmp_path, None, annealed=[0, 3, 6, 9])) == 15
    assert len(_panel_jobs(other, data, tmp_path, None, annealed=False)) == 11
    with_annealed = _load_panel(headline, data, None, profile, tmp_path, None, lambda line: None)
    without = _load_panel(other, data, False, profile, tmp_path, None, lambda line: None)
    assert len(with_annealed.annealed) == 10
    assert without.annealed is None and len(without.constant) == 10


def test_the_quick_profile_trains_figure_1s_panel_on_three_seeds() -> None:
    from mrvae_companion.profiles import ImageProfile

    assert image_profile("quick").headline_seeds >= 3
    assert image_profile("quick").describe()["headline_seeds"] == image_profile("quick").headline_seeds
    for bad in (0, 1.5, True, "3"):
        with pytest.raises(ValueError, match="headline_seeds"):
            ImageProfile(datasets=("omniglot",), base={}, headline_seeds=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="replicate_every"):
            ImageProfile(datasets=("omniglot",), base={}, replicate_every=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="annealed_every"):
            ImageProfile(datasets=("omniglot",), base={}, annealed_every=bad)  # type: ignore[arg-type]
        with pytest.raises(ValueError, match=r"sweep_every\['conv'\]"):
            ImageProfile(datasets=("omniglot",), base={}, sweep_every={"conv": bad})
    with pytest.raises(ValueError, match="'mnist' is not a dataset"):
        ImageProfile(datasets=("omniglot",), base={}, sweep_every={"mnist": 3})
    with pytest.raises(ValueError, match="pipeline_checks"):
        ImageProfile(datasets=("omniglot",), base={}, pipeline_checks=("cifar10",))


def test_the_quick_profile_trains_every_beta_on_the_resnet_panels_and_the_decades_elsewhere() -> None:
    """The CI budget's trade: the ResNet 28x28 panels (Figure 1's, whose verdict rests on its sweep,
    and Omniglot's, which chapter 7 compares against) keep all ten β-VAEs and Figure 1's extra seeds
    every other β; the conv panels, the RGB pipeline checks and the annealed sweep train the four
    decades."""
    from mrvae_companion.profiles import ImageProfile

    quick = image_profile("quick")
    decades = pytest.approx([0.01, 0.1, 1.0, 10.0])
    for dataset in quick.datasets:
        for kind in ("conv", "resnet"):
            members = quick.sweep_members(quick.experiment(dataset, kind))
            if kind == "resnet" and dataset in ("binary_mnist", "omniglot"):
                assert members is None
            else:
                assert [baseline_betas()[i] for i in members] == decades, (dataset, kind)
    assert [baseline_betas()[i] for i in quick.annealed_members()] == decades
    assert len(quick.replicate_members()) == 5  # the headline's seeds: its verdict is read over them
    every = ImageProfile(datasets=("cifar10",), base={}, pipeline_checks=("cifar10",))
    assert every.sweep_members(every.experiment("cifar10", "conv")) is None and every.annealed_members() is None
    last_wins = ImageProfile(datasets=("cifar10",), base={}, sweep_every={"cifar10": 3, ("cifar10", "conv"): 1})
    assert last_wins.sweep_members(last_wins.experiment("cifar10", "conv")) is None
    assert quick.describe()["sweep_every"] == {"conv": 3, "cifar10": 3, "svhn": 3, "celeba64": 3}


def test_a_member_of_a_sweep_is_the_same_model_whether_or_not_the_others_train(tiny, tmp_path) -> None:
    exp, data = tiny
    betas = [0.1, 1.0, 10.0]
    alone = fit_beta_vaes(exp, data, betas, annealed=False, members=[2], log=lambda line: None)
    every = fit_beta_vaes(exp, data, betas, annealed=False, log=lambda line: None)
    assert list(alone) == [10.0]
    for p, q in zip(alone[10.0].parameters(), every[10.0].parameters(), strict=True):
        assert torch.equal(p, q)
    for bad in ([], [3], [1, 1], [-1]):
        with pytest.raises(ValueError, match="members must be distinct positions"):
            fit_beta_vaes(exp, data, betas, annealed=False, members=bad, log=lambda line: None)
    with pytest.raises(ValueError, match="batched sweep trains every member"):
        fit_beta_vaes(exp, data, betas, annealed=False, members=[0], batched=True, log=lambda line: None)


def test_fits_resume_from_the_run_directory(tiny, tmp_path) -> None:
    exp, data = tiny
    first, result = fit_mr_vae(exp, data, run_dir=tmp_path, log=lambda line: None)
    again, resumed = fit_mr_vae(exp, data, run_dir=tmp_path, log=lambda line: None)
    assert resumed.resumed_from_epoch == exp.epochs and result.resumed_from_epoch == 0
    for p, q in zip(first.parameters(), again.parameters(), strict=True):
        assert torch.equal(p, q)
    assert any(isinstance(m, BetaGate) for m in again.modules())


def test_the_model_cache_refuses_a_model_trained_with_other_settings(tiny, tmp_path) -> None:
    """The cache is the checkpoints' own check: a folder that another variant's name led to, or the
    same experiment on other data, is refused, never silently reused."""
    exp, data = tiny
    fit_mr_vae(exp, data, run_dir=tmp_path, log=lambda line: None)
    uniform = GatePlacement(init="uniform")  # the same parameter shapes as the default's
    shutil.copytree(mr_vae_checkpoint(exp, PAPER_BETA_RANGE, GatePlacement(), tmp_path),
                    mr_vae_checkpoint(exp, PAPER_BETA_RANGE, uniform, tmp_path))
    with pytest.raises(CheckpointError, match=r"gates\[encoder\.[^\]]*\]\.init: \"open\" -> \"uniform\""):
        fit_mr_vae(exp, data, placement=uniform, run_dir=tmp_path, log=lambda line: None)
    reordered = ExperimentData(data.train.flip(0), data.test, None, "synthetic")
    with pytest.raises(CheckpointError, match=r"data\.checksum"):
        fit_mr_vae(exp, reordered, run_dir=tmp_path, log=lambda line: None)


def test_comparison_gap_is_relative_and_signed(tiny) -> None:
    exp, data = tiny
    mr_vae, _ = fit_mr_vae(exp, data, log=lambda line: None)
    sweep = fit_beta_vaes(exp, data, [0.1, 1.0], annealed=False, log=lambda line: None)
    cache: dict = {}
    rows = compare_at_betas(mr_vae, sweep, data.test, mr_points=cache)
    assert sorted(cache) == [0.1, 1.0]
    for row in rows:
        assert row["loss"] == pytest.approx(row["distortion"] + row["beta"] * row["rate"])
        assert row["gap"] == pytest.approx((row["mr_loss"] - row["loss"]) / abs(row["loss"]))
    # the MR-VAE against itself has no gap
    rows_self = compare_at_betas(mr_vae, {0.5: mr_vae}, data.test)
    assert rows_self[0]["gap"] == pytest.approx(0.0, abs=1e-12)
    # the β-VAEs' evaluations, cached across MR-VAEs, give the very same rows
    other, _ = fit_mr_vae(dataclasses.replace(exp, seed=1), data, log=lambda line: None)
    shared: dict = {}
    cached = [compare_at_betas(m, sweep, data.test, baseline_points=shared) for m in (mr_vae, other, mr_vae)]
    assert sorted(shared) == [0.1, 1.0] and cached[0] == rows == cached[2]
    assert cached[1] == compare_at_betas(other, sweep, data.test)


def test_learning_curve_leaves_training_unchanged_and_is_cached(tiny, tmp_path) -> None:
    from mrvae_companion.learning_curves import response_learning_curve

    exp, data = tiny
    references = fit_beta_vaes(exp, data, [0.1, 1.0], annealed=False, log=lambda line: None)
    model, records = response_learning_curve(exp, data, references, run_dir=tmp_path)
    assert [r["epoch"] for r in records] == [0.0, 1.0, 2.0] and records[-1]["step"] == 2 * 3
    plain, _ = fit_mr_vae(exp, data, log=lambda line: None)
    for p, q in zip(model.parameters(), plain.parameters(), strict=True):
        assert torch.equal(p, q)  # evaluating along the way does not change what is trained
    _, again = response_learning_curve(exp, data, references, run_dir=tmp_path)
    assert again == records


def test_side_by_side_learning_curves_match_in_process_ones(tiny, tmp_path) -> None:
    from mrvae_companion.learning_curves import response_learning_curves

    exp, data = tiny
    references = fit_beta_vaes(exp, data, [0.1, 1.0], annealed=False, workers=1, log=lambda line: None)
    slower = dataclasses.replace(exp, hyper_lr_multiplier=1.0)
    variants = [(exp, GatePlacement()), (slower, GatePlacement(init="uniform"))]
    in_process = response_learning_curves(variants, data, references, workers=1)
    side_by_side = response_learning_curves(variants, data, references, workers=2, run_dir=tmp_path)
    _assert_same_models([m for m, _ in in_process], [m for m, _ in side_by_side])
    assert [c for _, c in in_process] == [c for _, c in side_by_side]
    assert len(list(tmp_path.rglob("learning_curve.json"))) == 2


def test_loading_what_workers_trained_never_trains_in_this_process(tiny, tmp_path) -> None:
    from mrvae.training.checkpoints import CheckpointError

    exp, data = tiny
    with pytest.raises(CheckpointError, match="should hold a finished run"):
        fit_mr_vae(exp, data, run_dir=tmp_path, log=lambda line: None, load_finished=True)
    with pytest.raises(CheckpointError, match="should hold a finished run"):
        fit_beta_vaes(exp, data, [1.0], annealed=False, run_dir=tmp_path, log=lambda line: None, load_finished=True)
    trained, _ = fit_mr_vae(exp, data, run_dir=tmp_path, log=lambda line: None)
    loaded, result = fit_mr_vae(exp, data, run_dir=tmp_path, log=lambda line: None, load_finished=True)
    _assert_same_models([trained], [loaded])
    assert result.resumed_from_epoch == exp.epochs and len(result.history) == exp.epochs


def test_replicates_of_the_headline_panel_have_their_own_seed_data_and_constant_sweep_only(tmp_path) -> None:
    from mrvae.data import DatasetNotFoundError
    from mrvae_companion.panels import train_image_experiments
    from mrvae_companion.profiles import ImageProfile

    profile = ImageProfile(datasets=("binary_mnist",), annealed_sweeps="headline", headline_seeds=3, replicate_every=2,
                           base={"width": 1 / 32, "latent_dim": 4, "epochs": 1, "batch_size": 16, "train_images": 32,
                                 "test_images": 16, "lr_warmup_epochs": 0})
    try:
        panels, not_run = train_image_experiments(profile, ("resnet",), seed=5, replicates=True, run_dir=tmp_path,
                                                  log=lambda line: None)
    except DatasetNotFoundError as error:
        pytest.skip(f"binary MNIST is not available: {error}")
    assert not not_run and set(panels) == {("binary_mnist", "resnet")}
    headline = panels[("binary_mnist", "resnet")]
    assert headline.annealed is not None and set(headline.replicates) == {6, 7}
    for seed, replicate in headline.replicates.items():
        assert replicate.experiment.seed == seed and replicate.annealed is None
        assert list(replicate.constant) == baseline_betas()[::2] == [baseline_betas()[i] for i in
                                                                     profile.replicate_members()]
        assert not torch.equal(replicate.data.train, headline.data.train)  # its own subset
    without, _ = train_image_experiments(profile, ("resnet",), seed=5, run_dir=tmp_path, log=lambda line: None)
    assert without[("binary_mnist", "resnet")].replicates == {}


def test_a_learning_curve_on_validation_images_needs_them(tiny) -> None:
    from mrvae_companion.learning_curves import response_learning_curve

    exp, data = tiny
    with pytest.raises(ValueError, match="validation_images=n"):
        response_learning_curve(exp, data, {}, split="validation")
    with pytest.raises(ValueError, match="'test' or 'validation'"):
        response_learning_curve(exp, data, {}, split="train")  # type: ignore[arg-type]


def test_validation_images_come_from_the_training_split_outside_the_training_subset() -> None:
    from mrvae.data import DatasetNotFoundError

    exp = ImageExperiment("binary_mnist", "resnet", train_images=200, test_images=50)
    try:
        data = load_experiment_data(exp, validation_images=100)
    except DatasetNotFoundError as error:
        pytest.skip(f"binary MNIST is not available: {error}")
    assert data.validation is not None and data.validation.shape == (100, 1, 28, 28)
    assert torch.equal(data.train, load_experiment_data(exp).train)  # holding out changes no training image
    rows = {tuple(row.flatten().tolist()) for row in data.train}
    assert sum(tuple(row.flatten().tolist()) in rows for row in data.validation) < 10  # duplicates only by chance
    assert "| validation: " in data.source and "fixed-seed 100 of the 49800 images left out" in data.source
    with pytest.raises(ValueError, match="whole training split"):
        load_experiment_data(ImageExperiment("binary_mnist", "resnet", test_images=50), validation_images=10)
    with pytest.raises(ValueError, match="validation_images must be"):
        load_experiment_data(exp, validation_images=-1)
