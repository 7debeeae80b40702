"""Resume refuses a different run: one case per field the checkpoint's fingerprint records.

Each case trains one epoch into a checkpoint, then resumes with one thing changed. The error
must name the field, show the saved and the new value, say how to start afresh, and leave the
checkpoint untouched (nothing is lost)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import torch

import mrvae
from mrvae import BetaRange, ConstantBeta, Likelihood, MultiRateBeta, TrainConfig
from mrvae.models import MLPVAE
from mrvae.training import CheckpointError, train_sweep
from mrvae.training.checkpoints import CHECKSUM_ROWS, data_fingerprint, fingerprint, fingerprint_differences

RANGE = BetaRange(0.01, 10.0)
CONFIG = TrainConfig(epochs=1, batch_size=16, lr=1e-3, seed=0, log_lines=0)


def _images(n: int = 96, seed: int = 0) -> torch.Tensor:
    return (torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(seed)) > 0.5).float()


def _plain(hidden: int = 8, likelihood: Likelihood | None = None) -> MLPVAE:
    torch.manual_seed(0)
    return MLPVAE((1, 8, 8), hidden=hidden, latent_dim=2, likelihood=likelihood)


def _gated(beta_range: BetaRange = RANGE, **options: Any) -> MLPVAE:
    return mrvae.convert(_plain(), beta_range, **options)


def _flip(x: torch.Tensor) -> torch.Tensor:
    return x.flip(-1)


@dataclass
class Run:
    """One training call: what the saved run used, or what a resume changes."""

    model: Callable[[], torch.nn.Module] = _gated
    data: Callable[[], torch.Tensor] = _images
    beta: Any = field(default_factory=lambda: MultiRateBeta(RANGE.low, RANGE.high))
    config: TrainConfig = CONFIG
    options: dict[str, Any] = field(default_factory=dict)

    def train(self, folder) -> None:
        mrvae.train(self.model(), self.data(), self.beta, self.config, checkpoint_dir=folder, log=lambda line: None,
                    **self.options)


SAVED = Run()
#: (what changes, the resume that changes it, the field the error must name, the saved value shown)
CHANGES: list[tuple[str, Run, str, str]] = [
    ("architecture: a wider layer", Run(model=lambda: mrvae.convert(_plain(hidden=12), RANGE)),
     "architecture.shapes", "[8, 64]"),
    ("gate function: sigmoid and sqrt swapped", Run(model=lambda: _gated(encoder_gate="sqrt")),
     "gates[encoder.1.gate].function", '"sigmoid"'),
    ("gate range: the gates' β range", Run(model=lambda: _gated(BetaRange(1.0, 100.0)),
                                           beta=MultiRateBeta(1.0, 100.0)), "gates[encoder.1.gate].beta_range", "0.01"),
    ("gate placement: the decoder's input layer gated too", Run(model=lambda: _gated(gate_decoder_input=True)),
     "gates[decoder.0.gate]", "(absent)"),
    ("gate initialisation", Run(model=lambda: _gated(init="uniform")), "gates[encoder.1.gate].init", '"open"'),
    ("gate fused with its ReLU or not", Run(model=lambda: _gated(fuse_relu=False)),
     "gates[encoder.1.gate].fused_relu", "true"),
    ("likelihood", Run(model=lambda: mrvae.convert(_plain(likelihood=Likelihood("gaussian", sigma2=0.5)), RANGE)),
     "objective.likelihood.name", '"bernoulli"'),
    ("schedule: constant instead of multi-rate", Run(beta=ConstantBeta(1.0)), "schedules", "MultiRateBeta"),
    ("schedule: one β per batch instead of per example",
     Run(beta=MultiRateBeta(RANGE.low, RANGE.high, per_example=False)), "schedules", '"per_example": true'),
    ("TrainConfig.lr", Run(config=TrainConfig(epochs=1, batch_size=16, lr=2e-3, seed=0, log_lines=0)),
     "config.lr", "0.001"),
    ("TrainConfig.batch_size", Run(config=TrainConfig(epochs=1, batch_size=32, lr=1e-3, seed=0, log_lines=0)),
     "config.batch_size", "16"),
    ("TrainConfig.seed", Run(config=TrainConfig(epochs=1, batch_size=16, lr=1e-3, seed=1, log_lines=0)),
     "config.seed", "0"),
    ("TrainConfig.hyper_lr_multiplier",
     Run(config=TrainConfig(epochs=1, batch_size=16, lr=1e-3, seed=0, log_lines=0, hyper_lr_multiplier=1.0)),
     "config.hyper_lr_multiplier", "30.0"),
    ("data: other rows", Run(data=lambda: _images(seed=1)), "data.checksum", '"'),
    ("data: a subset", Run(data=lambda: _images()[:80]), "data.shape", "[96, 1, 8, 8]"),
    ("data: another order", Run(data=lambda: _images().flip(0)), "data.checksum", '"'),
    ("data: a batch transform", Run(options={"transform": _flip}), "data.transform", "null"),
    ("validation data", Run(options={"validation": _images(32, seed=2)}), "validation", "null"),
]


@pytest.mark.parametrize(("label", "resume", "field_name", "saved_value"), CHANGES, ids=[c[0] for c in CHANGES])
def test_a_resume_with_one_setting_changed_names_it_and_keeps_the_checkpoint(
        tmp_path, label, resume, field_name, saved_value) -> None:
    SAVED.train(tmp_path)
    path = tmp_path / "checkpoint.pt"
    before = path.read_bytes()
    with pytest.raises(CheckpointError) as info:
        resume.train(tmp_path)
    message = str(info.value)
    differing = [line.strip() for line in message.splitlines() if " -> " in line and ":" in line]
    named = [line for line in differing if line.startswith(field_name)]
    assert named, f"{field_name!r} not among the differences:\n{message}"
    assert any(saved_value in line.split(" -> ")[0] for line in named), named
    assert "different settings" in message and "start afresh" in message and "delete that file" in message
    assert path.read_bytes() == before


def test_a_resume_with_the_same_settings_continues(tmp_path) -> None:
    """The control: the same run, given more epochs, resumes instead of refusing."""
    SAVED.train(tmp_path)
    longer = Run(config=TrainConfig(epochs=2, batch_size=16, lr=1e-3, seed=0, log_lines=0))
    lines: list[str] = []
    mrvae.train(longer.model(), longer.data(), longer.beta, longer.config, checkpoint_dir=tmp_path, log=lines.append)
    assert any("resumed" in line for line in lines)


def test_a_sweep_refuses_other_data(tmp_path) -> None:
    schedules = [ConstantBeta(0.5), ConstantBeta(2.0)]
    train_sweep(_plain, _images(), schedules, CONFIG, checkpoint_dir=tmp_path, log=lambda line: None)
    with pytest.raises(CheckpointError, match=r"data\.checksum"):
        train_sweep(_plain, _images(seed=1), schedules, CONFIG, checkpoint_dir=tmp_path, log=lambda line: None)


def test_an_older_format_is_named_as_such(tmp_path) -> None:
    SAVED.train(tmp_path)
    path = tmp_path / "checkpoint.pt"
    saved = torch.load(path, weights_only=True)
    saved["fingerprint"] = '{"format": 2, "model": "MLPVAE"}'  # what mrvae 0.x wrote
    torch.save(saved, path)
    with pytest.raises(CheckpointError, match=r"format: 2 -> 3 \(written by an older version of mrvae"):
        SAVED.train(tmp_path)


def test_the_data_fingerprint_reads_fixed_rows_of_any_dtype() -> None:
    data = _images(1000)
    print_ = data_fingerprint(data)
    assert print_ == data_fingerprint(data.clone()) and print_["shape"] == [1000, 1, 8, 8]
    changed = data.clone()
    changed[0, 0, 0, 0] = 1 - changed[0, 0, 0, 0]  # row 0 is always read
    assert data_fingerprint(changed)["checksum"] != print_["checksum"]
    unread = data.clone()
    unread[1] = 1 - unread[1]  # a row between the fixed ones: the price of a cheap checksum
    assert data_fingerprint(unread)["checksum"] == print_["checksum"]
    assert CHECKSUM_ROWS < 1000
    for dtype in (torch.float64, torch.bfloat16, torch.long, torch.bool):
        assert data_fingerprint(data.to(dtype))["dtype"] == str(dtype).removeprefix("torch.")


def test_identical_fingerprints_have_no_differences() -> None:
    model = _gated()
    one = fingerprint(model, [ConstantBeta(1.0)], CONFIG, data=_images())
    assert fingerprint_differences(one, one) == []
    assert fingerprint_differences("not json", one)[0].startswith("format: unknown -> 3")
