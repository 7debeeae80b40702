"""Runners: in this process or side by side, the same models; what no worker finished is never
trained again while loading."""

from functools import partial
from pathlib import Path

import pytest
import torch

from mrvae.models import MLPVAE
from mrvae.training import ConstantBeta, TrainConfig, train
from mrvae.training.checkpoints import CheckpointError
from mrvae_companion.runner import InProcess, SideBySide, runner_for

CONFIG = TrainConfig(epochs=1, batch_size=16, lr=1e-3, seed=0, log_lines=0)
BETAS = (0.5, 2.0)


def _fit(beta: float, root: Path | None, load_finished: bool = False) -> MLPVAE:
    torch.manual_seed(0)
    model = MLPVAE((1, 8, 8), hidden=8, latent_dim=2)
    data = (torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()
    train(model, data, ConstantBeta(beta), CONFIG, checkpoint_dir=None if root is None else root / f"beta_{beta:g}",
          log=lambda line: None, progress=False, load_finished=load_finished)
    return model


def _jobs(root: Path, betas=BETAS) -> list:
    return [partial(_fit, beta, root) for beta in betas]


def _collect(root: Path | None, finished: bool) -> list[MLPVAE]:
    return [_fit(beta, root, finished) for beta in BETAS]


def test_in_process_and_side_by_side_give_the_same_models(tmp_path) -> None:
    in_process = InProcess().run(_jobs, _collect, run_dir=None)
    lines: list[str] = []
    side_by_side = SideBySide(2).run(_jobs, _collect, run_dir=tmp_path, log=lines.append)
    for a, b in zip(in_process, side_by_side, strict=True):
        for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
            assert torch.equal(x, y)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["beta_0.5", "beta_2"]
    assert lines and lines[0].startswith("trained 2 models, one thread each, 2 at a time")


def test_side_by_side_without_a_run_dir_keeps_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    assert len(SideBySide(1).run(_jobs, _collect, run_dir=None)) == 2
    assert list(tmp_path.iterdir()) == []


def test_a_model_no_worker_finished_is_an_error_not_a_training(tmp_path) -> None:
    with pytest.raises(CheckpointError, match=r"beta_2.*should hold a finished run.*does not exist"):
        SideBySide(1).run(lambda root: _jobs(root, BETAS[:1]), _collect, run_dir=tmp_path)
    assert not (tmp_path / "beta_2" / "checkpoint.pt").exists()


@pytest.mark.parametrize(("workers", "device", "expected"), [
    (None, None, InProcess()), (2, None, SideBySide(2)), (2, "cpu", SideBySide(2)), (None, "cpu", InProcess())])
def test_runner_for_picks_side_by_side_only_with_workers_on_a_cpu(workers, device, expected) -> None:
    assert runner_for(workers, device) == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_one_gpu_trains_in_one_process() -> None:
    assert runner_for(2, "cuda") == InProcess()


@pytest.mark.parametrize("workers", [0, -1, 1.5, "2"])
def test_side_by_side_needs_a_positive_worker_count(workers) -> None:
    with pytest.raises((TypeError, ValueError), match="workers"):
        SideBySide(workers)
