"""Bad input at the public surface, one row per case: the exception type and a fragment of the
message that names the argument or the fix. Grouped by the classes of mistakes new users make
(issue: "Bad input never passes silently"); valid but unusual inputs are in ACCEPTED."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import mrvae
from mrvae import AnnealedBeta, BetaRange, ConstantBeta, MultiRateBeta, TrainConfig
from mrvae.models import MLPVAE
from mrvae.training import CheckpointError
from mrvae.training.checkpoints import read_checkpoint

RANGE = BetaRange(0.01, 10.0)
CONFIG = TrainConfig(epochs=1, batch_size=8, log_lines=0)


def plain() -> MLPVAE:
    torch.manual_seed(0)
    return MLPVAE((1, 8, 8), hidden=8, latent_dim=2)


def gated() -> MLPVAE:
    return mrvae.convert(plain(), RANGE)


def images(n: int = 16) -> torch.Tensor:
    return (torch.rand(n, 1, 8, 8, generator=torch.Generator().manual_seed(0)) > 0.5).float()


def train(model=None, data=None, beta=None, config=None, **kwargs):
    return mrvae.train(plain() if model is None else model, images() if data is None else data,
                       ConstantBeta(1.0) if beta is None else beta, CONFIG if config is None else config, **kwargs)


class NoParameters(mrvae.VAE):
    def encode(self, x):
        return x.flatten(1)[:, :2], x.flatten(1)[:, :2]

    def decode(self, z):
        return z


def on_meta() -> MLPVAE:
    with torch.device("meta"):
        return MLPVAE((1, 8, 8), hidden=8, latent_dim=2)


def with_nan() -> torch.Tensor:
    data = images()
    data[3, 0, 2, 2] = math.nan
    return data


def converted_twice():
    model = gated()
    return mrvae.convert(model, BetaRange(1.0, 100.0))


def nothing_to_gate():
    model = plain()
    model.encoder, model.decoder = nn.Identity(), nn.Identity()
    return mrvae.convert(model, RANGE)


Case = tuple[str, Callable[[], object], type[Exception], str]

TYPES_AND_NUMBERS: list[Case] = [
    ("epochs-float", lambda: TrainConfig(epochs=1.5), TypeError, "TrainConfig.epochs must be an int"),
    ("epochs-integral-float", lambda: TrainConfig(epochs=2.0), TypeError, "TrainConfig(epochs=1)"),
    ("epochs-bool", lambda: TrainConfig(epochs=True), TypeError, "TrainConfig.epochs must be an int"),
    ("epochs-zero", lambda: TrainConfig(epochs=0), ValueError, "TrainConfig.epochs must be an int >= 1"),
    ("batch-size-float", lambda: TrainConfig(batch_size=2.5), TypeError, "TrainConfig.batch_size must be an int"),
    ("batch-size-string", lambda: TrainConfig(batch_size="64"), TypeError, "TrainConfig.batch_size must be an int"),
    ("lr-nan", lambda: TrainConfig(lr=math.nan), ValueError, "TrainConfig.lr must be a finite number > 0"),
    ("lr-inf", lambda: TrainConfig(lr=math.inf), ValueError, "TrainConfig.lr must be a finite number > 0"),
    ("lr-negative", lambda: TrainConfig(lr=-1e-3), ValueError, "TrainConfig(lr=1e-3)"),
    ("lr-string", lambda: TrainConfig(lr="1e-3"), TypeError, "TrainConfig.lr must be a number"),
    ("lr-vector", lambda: TrainConfig(lr=torch.tensor([1e-3, 1e-3])), TypeError, "TrainConfig.lr must be a number"),
    ("warmup-negative", lambda: TrainConfig(lr_warmup_epochs=-1), ValueError, "lr_warmup_epochs must be an int >= 0"),
    ("seed-negative", lambda: TrainConfig(seed=-1), ValueError, "TrainConfig.seed must be an int >= 0"),
    ("flag-truthy-string", lambda: TrainConfig(cosine_decay="False"), TypeError,
     "TrainConfig.cosine_decay must be True or False"),
    ("flag-int", lambda: TrainConfig(cosine_decay=1), TypeError, "cosine_decay must be True or False"),
    ("gate-lr-zero", lambda: TrainConfig(hyper_lr_multiplier=0), ValueError, "hyper_lr_multiplier must be"),
    ("plateau-factor-one", lambda: TrainConfig(lr_plateau_factor=1.0), ValueError, "> 0 and < 1"),
    ("clip-negative", lambda: TrainConfig(grad_clip_norm=-5.0), ValueError, "grad_clip_norm must be"),
    ("optimizer-unknown", lambda: TrainConfig(optimizer="sgd"), ValueError, "optimizer must be one of"),
    ("range-string", lambda: BetaRange("0.01", 10), TypeError, "BetaRange.low must be a number"),
    ("range-bool", lambda: BetaRange(True, 10), TypeError, "BetaRange.low must be a number"),
    ("range-list", lambda: BetaRange([0.01], 10), TypeError, "BetaRange.low must be a number"),
    ("range-nan", lambda: BetaRange(0.01, math.nan), ValueError, "BetaRange.high must be a finite number"),
    ("range-zero", lambda: BetaRange(0.0, 10), ValueError, "low must be > 0"),
    ("range-reversed", lambda: BetaRange(10, 0.01), ValueError, "low < high"),
    ("grid-float", lambda: RANGE.grid(2.5), TypeError, "n must be an int"),
    ("grid-one", lambda: RANGE.grid(1), ValueError, "at least 2 points"),
    ("constant-zero", lambda: ConstantBeta(0.0), ValueError, "ConstantBeta.value must be a finite number > 0"),
    ("constant-string", lambda: ConstantBeta("1"), TypeError, "ConstantBeta.value must be a number"),
    ("annealed-float-steps", lambda: AnnealedBeta(1.0, 10.5), TypeError, "AnnealedBeta.warmup_steps must be an int"),
    ("multirate-truthy-string", lambda: MultiRateBeta(0.01, 10, per_example="no"), TypeError,
     "MultiRateBeta.per_example must be True or False"),
    ("multirate-reversed", lambda: MultiRateBeta(10, 0.01), ValueError, "low < high"),
]

DATA: list[Case] = [
    ("integer-tensor", lambda: train(data=images().long()), TypeError, "floating-point tensor, got torch.int64"),
    ("bool-tensor", lambda: train(data=images().bool()), TypeError, "floating-point tensor, got torch.bool"),
    ("float64-tensor", lambda: train(data=images().double()), TypeError,
     "data is torch.float64 but the model's parameters are torch.float32"),
    ("numpy-array", lambda: train(data=images().numpy()), TypeError, "torch.as_tensor"),
    ("list", lambda: train(data=images().tolist()), TypeError, "torch.as_tensor"),
    ("empty", lambda: train(data=images()[:0]), ValueError, "non-empty batch-first tensor"),
    ("no-batch-dim", lambda: train(data=images()[0, 0, 0]), ValueError, "non-empty batch-first tensor"),
    ("nan", lambda: train(data=with_nan()), ValueError, "NaN or inf"),
    ("outside-support", lambda: train(data=images() * 255), ValueError, "rescale"),
    ("wrong-shape", lambda: train(data=images().view(16, 64)), ValueError, "data_shape=(1, 8, 8)"),
    ("no-parameters", lambda: train(model=NoParameters()), ValueError, "has no parameters"),
    ("meta-device", lambda: train(model=on_meta()), ValueError, "meta device"),
    ("not-a-vae", lambda: train(model=nn.Linear(64, 64)), TypeError, "must be a mrvae.VAE"),
    ("validation-numpy", lambda: train(validation=images().numpy()), TypeError, "validation must be a torch.Tensor"),
    ("transform-not-callable", lambda: train(transform="binarize"), TypeError, "transform must be a function"),
    ("config-dict", lambda: train(config={"epochs": 1}), TypeError, "mrvae.TrainConfig(epochs=10"),
]

EVALUATION: list[Case] = [
    ("empty", lambda: mrvae.evaluate(plain(), images()[:0], 1.0), ValueError, "non-empty"),
    ("nan", lambda: mrvae.evaluate(plain(), with_nan(), 1.0), ValueError, "NaN or inf"),
    ("outside-support", lambda: mrvae.evaluate(plain(), images() * 255, 1.0), ValueError, "rescale"),
    ("numpy-data", lambda: mrvae.evaluate(plain(), images().numpy(), 1.0), TypeError, "torch.as_tensor"),
    ("batch-size-zero", lambda: mrvae.evaluate(plain(), images(), 1.0, batch_size=0), ValueError,
     "batch_size must be an int >= 1"),
    ("batch-size-float", lambda: mrvae.evaluate(plain(), images(), 1.0, batch_size=2.5), TypeError,
     "batch_size must be an int"),
    ("beta-list", lambda: mrvae.evaluate(plain(), images(), [0.1, 1.0]), TypeError, "rate_distortion_curve"),
    ("beta-vector", lambda: mrvae.evaluate(plain(), images(), torch.tensor([0.1, 1.0])), TypeError,
     "rate_distortion_curve"),
    ("beta-zero", lambda: mrvae.evaluate(plain(), images(), 0.0), ValueError, "beta must be a finite number > 0"),
    ("beta-string", lambda: mrvae.evaluate(plain(), images(), "1"), TypeError, "beta must be a number"),
    ("curve-betas-and-range", lambda: mrvae.rate_distortion_curve(gated(), images(), [0.1, 1.0], beta_range=RANGE),
     ValueError, "not both"),
    ("curve-betas-and-n", lambda: mrvae.rate_distortion_curve(gated(), images(), [0.1, 1.0], n=5), ValueError,
     "not both"),
    ("curve-no-betas", lambda: mrvae.rate_distortion_curve(gated(), images()), ValueError, "give either betas"),
    ("curve-empty-betas", lambda: mrvae.rate_distortion_curve(gated(), images(), []), ValueError, "betas is empty"),
    ("curve-betas-string", lambda: mrvae.rate_distortion_curve(gated(), images(), "0.1"), TypeError,
     "betas must be a list of numbers"),
    ("curve-range-tuple", lambda: mrvae.rate_distortion_curve(gated(), images(), beta_range=(0.01, 10)), TypeError,
     "beta_range must be a mrvae.BetaRange"),
    ("curve-unconverted", lambda: mrvae.rate_distortion_curve(plain(), images(), beta_range=RANGE), ValueError,
     "no β gates"),
]

CONVERSION: list[Case] = [
    ("encoder-typo", lambda: mrvae.convert(plain(), RANGE, encoder="encodr"), ValueError,
     "encoder=['encodr'] matches no submodule"),
    ("decoder-typo", lambda: mrvae.convert(plain(), RANGE, decoder=("decoder", "head")), ValueError,
     "decoder=['head'] matches no submodule"),
    ("exclude-typo", lambda: mrvae.convert(plain(), RANGE, exclude="decoder.nope"), ValueError,
     "exclude=['decoder.nope'] matches no submodule"),
    ("second-range", converted_twice, ValueError, "was converted with BetaRange(0.01, 10)"),
    ("not-a-vae", lambda: mrvae.convert(nn.Sequential(nn.Linear(2, 2)), RANGE), TypeError,
     "turns a mrvae.VAE into an MR-VAE"),
    ("nothing-to-gate", nothing_to_gate, ValueError, "no layer to gate"),
    ("range-tuple", lambda: mrvae.convert(plain(), (0.01, 10)), TypeError, "pass mrvae.BetaRange(0.01, 10)"),
    ("encoder-not-a-name", lambda: mrvae.convert(plain(), RANGE, encoder=3), TypeError,
     "encoder must be a module name"),
    ("flag-string", lambda: mrvae.convert(plain(), RANGE, gate_encoder_heads="yes"), TypeError,
     "gate_encoder_heads must be True or False"),
    ("gate-unknown", lambda: mrvae.convert(plain(), RANGE, decoder_gate="relu"), ValueError, "unknown gate"),
]

TRAINING: list[Case] = [
    ("schedule-other-range", lambda: train(model=gated(), beta=MultiRateBeta(1, 100)), ValueError,
     "outside the range the gates were converted with ([0.01, 10])"),
    ("schedule-float", lambda: train(beta=1.0), TypeError, "mrvae.ConstantBeta(1.0)"),
    ("schedule-range", lambda: train(model=gated(), beta=RANGE), TypeError, "mrvae.MultiRateBeta(0.01, 10)"),
    ("multirate-on-plain", lambda: train(beta=MultiRateBeta(0.01, 10)), ValueError, "has no β gates"),
]

PIECES: list[Case] = [
    ("likelihood-name", lambda: mrvae.Likelihood("poisson"), ValueError, "'bernoulli' or 'gaussian'"),
    ("likelihood-sigma2-string", lambda: mrvae.Likelihood("gaussian", "1"), TypeError,
     "Likelihood.sigma2 must be a number"),
    ("likelihood-sigma2-zero", lambda: mrvae.Likelihood("gaussian", 0.0), ValueError,
     "Likelihood.sigma2 must be a finite number > 0"),
    ("likelihood-flag-string", lambda: mrvae.Likelihood("gaussian", 1.0, "yes"), TypeError,
     "Likelihood.include_constant must be True or False"),
    ("active-units-one-example", lambda: mrvae.active_units(plain(), images(1), 1.0), ValueError, "at least 2"),
    ("active-units-threshold", lambda: mrvae.active_units(plain(), images(), 1.0, threshold=-1), ValueError,
     "threshold must be a finite number >= 0"),
    ("active-units-beta-list", lambda: mrvae.active_units(plain(), images(), [1.0]), TypeError,
     "beta must be one number"),
    ("beta-context-float", lambda: mrvae.beta_context(gated(), 0.5).__enter__(), TypeError,
     "a tensor of shape (B,)"),
    ("gate-features-float", lambda: mrvae.BetaGate(2.5), TypeError, "BetaGate.features must be an int"),
    ("gate-features-zero", lambda: mrvae.BetaGate(0), ValueError, "BetaGate.features must be an int >= 1"),
    ("gate-range-tuple", lambda: mrvae.BetaGate(4, "sigmoid", (0.01, 10)), TypeError,
     "BetaGate.beta_range must be a mrvae.BetaRange"),
]


def _checkpoint(tmp: Path, content: bytes | None) -> Path:
    path = tmp / "checkpoint.pt"
    if content is None:
        path.mkdir()
    else:
        path.write_bytes(content)
    return path


class _Foreign:
    pass


CHECKPOINT_FILES: list[tuple[str, Callable[[Path], Path], str]] = [
    ("empty", lambda tmp: _checkpoint(tmp, b""), "is empty"),
    ("garbage", lambda tmp: _checkpoint(tmp, b"not a checkpoint at all"), "is not a usable checkpoint"),
    ("truncated", lambda tmp: _truncated(tmp), "is not a usable checkpoint"),
    ("a-tensor", lambda tmp: _saved(tmp, torch.zeros(3)), "is not an mrvae training checkpoint"),
    ("a-foreign-dict", lambda tmp: _saved(tmp, {"model": torch.zeros(3)}), "is not an mrvae training checkpoint"),
    ("needs-unpickling", lambda tmp: _saved(tmp, _Foreign()), "is not a usable checkpoint"),
    ("a-folder", lambda tmp: _checkpoint(tmp, None), "is a folder"),
]


def _saved(tmp: Path, obj: object) -> Path:
    path = tmp / "checkpoint.pt"
    torch.save(obj, path)
    return path


def _truncated(tmp: Path) -> Path:
    path = tmp / "checkpoint.pt"
    train(checkpoint_dir=tmp)
    path.write_bytes(path.read_bytes()[:200])
    return path


def _table(*groups: tuple[str, list[Case]]) -> list:
    return [pytest.param(make, error, fragment, id=f"{group}/{name}")
            for group, cases in groups for name, make, error, fragment in cases]


@pytest.mark.parametrize("make, error, fragment", _table(
    ("types", TYPES_AND_NUMBERS), ("data", DATA), ("evaluate", EVALUATION), ("convert", CONVERSION),
    ("training", TRAINING), ("pieces", PIECES)))
def test_bad_input_gets_our_error_naming_the_fix(make, error, fragment) -> None:
    with pytest.raises(error) as info:
        make()
    assert fragment in str(info.value)


@pytest.mark.parametrize("name, make, fragment", CHECKPOINT_FILES, ids=[c[0] for c in CHECKPOINT_FILES])
def test_an_unusable_checkpoint_file_is_named_and_refused(tmp_path, name, make, fragment) -> None:
    path = make(tmp_path)
    with pytest.raises(CheckpointError) as info:
        read_checkpoint(path)
    assert fragment in str(info.value) and "checkpoint.pt" in str(info.value) and "start afresh" in str(info.value)
    if name != "a-folder":
        before = path.read_bytes()
        with pytest.raises(CheckpointError):  # train() resuming from it: same error, and the file is kept
            train(checkpoint_dir=tmp_path)
        assert path.read_bytes() == before


ACCEPTED: list[tuple[str, Callable[[], object]]] = [
    ("numpy-float-lr", lambda: TrainConfig(lr=np.float32(1e-3))),
    ("tensor-lr", lambda: TrainConfig(lr=torch.tensor(1e-3))),
    ("numpy-int-epochs", lambda: TrainConfig(epochs=np.int64(3))),
    ("tensor-batch-size", lambda: TrainConfig(batch_size=torch.tensor(8))),
    ("numpy-range", lambda: BetaRange(np.float64(0.01), np.float32(10))),
    ("int-range", lambda: BetaRange(1, 100)),
    ("numpy-beta", lambda: mrvae.evaluate(plain(), images(), np.float32(0.5))),
    ("tensor-beta", lambda: mrvae.evaluate(plain(), images(), torch.tensor(0.5))),
    ("curve-at-numpy-betas", lambda: mrvae.rate_distortion_curve(gated(), images(), np.array([0.1, 1.0]))),
    ("convert-twice-same-range", lambda: mrvae.convert(gated(), BetaRange(0.01, 10))),
    ("train-mr-vae", lambda: train(model=gated(), beta=MultiRateBeta(0.01, 10))),
]


@pytest.mark.parametrize("make", [m for _, m in ACCEPTED], ids=[n for n, _ in ACCEPTED])
def test_valid_but_unusual_input_is_accepted(make) -> None:
    make()


def test_numbers_are_stored_as_python_numbers() -> None:
    # Fingerprints and JSON provenance must read the same whatever kind of scalar was passed.
    config = TrainConfig(lr=np.float32(0.5), epochs=np.int64(3))
    assert type(config.lr) is float and type(config.epochs) is int
    assert type(BetaRange(np.float32(0.5), torch.tensor(2.0)).high) is float
    assert type(ConstantBeta(np.float64(2)).value) is float
