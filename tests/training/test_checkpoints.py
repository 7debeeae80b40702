"""Checkpoints: every trainer shares one format, and a file from other settings is refused."""

import pytest
import torch

from mrvae.models import MLPVAE
from mrvae.training import ConstantBeta, TrainConfig, train, train_sweep
from mrvae.training.checkpoints import FORMAT, CheckpointError, fingerprint

CONFIG = TrainConfig(epochs=1, batch_size=16, lr=1e-3, seed=0, log_lines=0)


def _data() -> torch.Tensor:
    return (torch.rand(32, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()


def _model() -> MLPVAE:
    return MLPVAE((1, 8, 8), hidden=8, latent_dim=2)


def test_train_and_sweep_write_the_same_checkpoint_layout(tmp_path) -> None:
    train(_model(), _data(), ConstantBeta(1.0), CONFIG, checkpoint_dir=tmp_path / "one", log=lambda line: None)
    train_sweep(_model, _data(), [ConstantBeta(0.5), ConstantBeta(2.0)], CONFIG, checkpoint_dir=tmp_path / "sweep",
                log=lambda line: None)
    one = torch.load(tmp_path / "one" / "checkpoint.pt", weights_only=True)
    sweep = torch.load(tmp_path / "sweep" / "sweep_checkpoint.pt", weights_only=True)
    assert one.keys() == sweep.keys()
    assert len(one["histories"]) == 1 and len(sweep["histories"]) == 2
    assert f'"format": {FORMAT}' in one["fingerprint"]


@pytest.mark.parametrize("change", ["lr", "format"])
def test_a_checkpoint_from_other_settings_is_refused_naming_the_fix(tmp_path, change) -> None:
    train(_model(), _data(), ConstantBeta(1.0), CONFIG, checkpoint_dir=tmp_path, log=lambda line: None)
    if change == "format":  # as an older mrvae would have written it
        path = tmp_path / "checkpoint.pt"
        saved = torch.load(path, weights_only=True)
        saved["fingerprint"] = saved["fingerprint"].replace(f'"format": {FORMAT}', '"format": 1')
        torch.save(saved, path)
        config = CONFIG
    else:
        config = TrainConfig(epochs=1, batch_size=16, lr=2e-3, seed=0, log_lines=0)
    with pytest.raises(ValueError, match="(?s)different settings.*delete that file"):
        train(_model(), _data(), ConstantBeta(1.0), config, checkpoint_dir=tmp_path, log=lambda line: None)


def test_the_fingerprint_ignores_only_the_epoch_count_and_logging() -> None:
    model = _model()
    base = fingerprint(model, [ConstantBeta(1.0)], CONFIG)
    longer = TrainConfig(epochs=9, batch_size=16, lr=1e-3, seed=0, log_lines=3)
    assert fingerprint(model, [ConstantBeta(1.0)], longer) == base
    assert fingerprint(model, [ConstantBeta(2.0)], CONFIG) != base
    assert fingerprint(model, [ConstantBeta(1.0)], CONFIG, noise="shared") != base


def test_load_finished_loads_a_finished_run_and_trains_nothing(tmp_path) -> None:
    trained = _model()
    torch.manual_seed(1)
    train(trained, _data(), ConstantBeta(1.0), CONFIG, checkpoint_dir=tmp_path, log=lambda line: None)
    loaded = _model()
    result = train(loaded, _data(), ConstantBeta(1.0), CONFIG, checkpoint_dir=tmp_path, log=lambda line: None,
                   load_finished=True)
    assert result.resumed_from_epoch == CONFIG.epochs and len(result.history) == CONFIG.epochs
    for a, b in zip(trained.state_dict().values(), loaded.state_dict().values(), strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize(("where", "message"), [
    ("unfinished", "stops at epoch 1 of 2"), ("missing", "does not exist"), ("none", "pass the checkpoint_dir")])
def test_load_finished_refuses_to_train_what_is_not_finished(tmp_path, where, message) -> None:
    train(_model(), _data(), ConstantBeta(1.0), CONFIG, checkpoint_dir=tmp_path / "run", log=lambda line: None)
    longer = TrainConfig(epochs=2, batch_size=16, lr=1e-3, seed=0, log_lines=0)
    folder = {"unfinished": tmp_path / "run", "missing": tmp_path / "elsewhere", "none": None}[where]
    error = ValueError if where == "none" else CheckpointError
    with pytest.raises(error, match=message):
        train(_model(), _data(), ConstantBeta(1.0), longer if where == "unfinished" else CONFIG,
              checkpoint_dir=folder, log=lambda line: None, load_finished=True)
    assert not (tmp_path / "elsewhere").exists() or not any((tmp_path / "elsewhere").iterdir())
