"""Data parallelism on CPU: 2 gloo processes must reproduce single-process training.

One spawn of 2 processes runs every distributed scenario (the start-up dominates the cost);
the tests compare what it wrote with single-process runs made here.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import mrvae
from mrvae.data import dynamic_binarize
from mrvae.models import MLPVAE
from mrvae.training import ConstantBeta, MultiRateBeta, TrainConfig, train, train_sweep
from mrvae.training.distributed import Replica

WORLD = 2
BETA = MultiRateBeta(0.01, 10.0)
SWEEP = [ConstantBeta(b) for b in (0.1, 0.5, 1.0, 2.0, 5.0)]  # 5 models over 2 ranks: 3 + 2
#: Float32 all-reduce sums gradients in another order than one process does.
ATOL = 1e-5


def _config(epochs: int) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=16, lr=3e-3, seed=7, log_lines=0)


def _data() -> torch.Tensor:
    return torch.rand(69, 1, 6, 6, generator=torch.Generator().manual_seed(0))  # last batch: 5, split 2 + 3


def _mr_vae() -> MLPVAE:
    torch.manual_seed(1)
    return mrvae.convert(MLPVAE((1, 6, 6), hidden=12, latent_dim=3), mrvae.BetaRange(0.01, 10.0))


class _Coupled(MLPVAE):
    examples_independent = False


def _coupled_vae() -> MLPVAE:
    return mrvae.convert(_Coupled((1, 6, 6), hidden=12, latent_dim=3), mrvae.BetaRange(0.01, 10.0))


def _dropout_vae() -> MLPVAE:
    model = _mr_vae()
    model.decoder.insert(1, torch.nn.Dropout(0.1))
    return model


def _plain_vae() -> MLPVAE:
    return MLPVAE((1, 6, 6), hidden=12, latent_dim=3)


def _quiet(line: str) -> None:
    del line


def _worker(rank: int, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{out}/rendezvous", rank=rank, world_size=WORLD)
    out_dir = Path(out)
    try:
        assert Replica.current() == Replica(rank, WORLD)
        model = _mr_vae()
        train(model, _data(), BETA, _config(4), transform=dynamic_binarize, log=_quiet)
        # Resumable both ways: DDP writes epochs 1-2; and DDP resumes what one process wrote.
        train(_mr_vae(), _data(), BETA, _config(2), transform=dynamic_binarize, checkpoint_dir=out_dir / "ddp_first",
              log=_quiet)
        resumed = _mr_vae()
        train(resumed, _data(), BETA, _config(4), transform=dynamic_binarize, checkpoint_dir=out_dir / "single_first",
              log=_quiet)
        sweeps = {mode: train_sweep(_plain_vae, _data(), SWEEP, _config(2), noise=mode, log=_quiet)
                  for mode in ("shared", "independent")}
        refusals = {}
        for case, make, kwargs in [("sync_batchnorm", _mr_vae, {"sync_batchnorm": True}),
                                   ("coupled", _coupled_vae, {}), ("dropout", _dropout_vae, {}),
                                   ("unshared_checkpoints", _mr_vae,
                                    {"checkpoint_dir": out_dir / "split" / str(rank)})]:
            try:
                train(make(), _data(), BETA, _config(2), log=_quiet, **kwargs)
                refusals[case] = ""
            except (ValueError, RuntimeError) as error:
                refusals[case] = str(error)
        if rank == 0:
            torch.save({"ddp": model.state_dict(), "resumed": resumed.state_dict(), "refusals": refusals,
                        "sweeps": {mode: [m.state_dict() for m in s.models] for mode, s in sweeps.items()},
                        "histories": {mode: [r.history for r in s.results] for mode, s in sweeps.items()}},
                       out_dir / "results.pt")
    finally:
        dist.destroy_process_group()


@pytest.fixture(scope="module")
def distributed_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("ddp")
    # What the DDP run resumes: 2 epochs written by one process.
    train(_mr_vae(), _data(), BETA, _config(2), transform=dynamic_binarize, checkpoint_dir=out / "single_first",
          log=_quiet)
    # Rank 0 finds a checkpoint that rank 1 cannot see (as on nodes without a shared disk).
    train(_mr_vae(), _data(), BETA, _config(1), checkpoint_dir=out / "split" / "0", log=_quiet)
    mp.spawn(_worker, args=(str(out),), nprocs=WORLD, join=True)
    return out, torch.load(out / "results.pt", weights_only=True)


def _assert_close(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], atol=ATOL, rtol=0, msg=f"{name} differs")


def _single(epochs: int) -> MLPVAE:
    model = _mr_vae()
    train(model, _data(), BETA, _config(epochs), transform=dynamic_binarize, log=_quiet)
    return model


def test_data_parallel_training_equals_one_process(distributed_run) -> None:
    _, results = distributed_run
    _assert_close(results["ddp"], _single(4).state_dict())
    assert not torch.equal(results["ddp"]["encoder.1.gate.weight"], _mr_vae().state_dict()["encoder.1.gate.weight"])


def test_checkpoints_resume_across_process_counts(distributed_run) -> None:
    out, results = distributed_run
    uninterrupted = _single(4).state_dict()
    _assert_close(results["resumed"], uninterrupted)  # one process wrote, DDP resumed
    resumed = _mr_vae()  # DDP wrote, one process resumes
    train(resumed, _data(), BETA, _config(4), transform=dynamic_binarize, checkpoint_dir=out / "ddp_first", log=_quiet)
    _assert_close(resumed.state_dict(), uninterrupted)


@pytest.mark.parametrize("noise", ["shared", "independent"])
def test_a_sweep_spread_over_ranks_equals_the_single_process_sweep(distributed_run, noise) -> None:
    _, results = distributed_run
    single = train_sweep(_plain_vae, _data(), SWEEP, _config(2), noise=noise, log=_quiet)
    for gathered, model in zip(results["sweeps"][noise], single.models, strict=True):
        _assert_close(gathered, model.state_dict())
    for gathered, result in zip(results["histories"][noise], single.results, strict=True):
        assert [h["loss"] for h in gathered] == pytest.approx([h["loss"] for h in result.history], rel=1e-5)


@pytest.mark.parametrize("case, message", [
    ("sync_batchnorm", "needs CUDA"), ("coupled", "couples the examples"), ("dropout", "dropout"),
    ("unshared_checkpoints", "resumed from different epochs"),
])
def test_runs_that_would_not_equal_one_process_are_refused(distributed_run, case, message) -> None:
    _, results = distributed_run
    assert message in results["refusals"][case]
