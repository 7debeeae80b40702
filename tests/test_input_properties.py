"""Properties of the configs' validation: any input is either accepted, stored as a plain Python
value and round-trips, or refused with our TypeError/ValueError naming the field, never a raw
torch or Python error from deeper down."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from mrvae import AnnealedBeta, BetaRange, ConstantBeta, MultiRateBeta, TrainConfig

#: Everything a user might pass where a number or a flag is meant.
ANYTHING = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=4), st.lists(st.floats(allow_nan=False), max_size=2),
    st.floats(width=32, allow_nan=True).map(np.float32), st.integers(-100, 100).map(np.int64),
    st.floats(allow_nan=True, allow_infinity=True).map(torch.tensor),
    st.integers(-100, 100).map(torch.tensor), st.just(torch.zeros(2)), st.just(np.array([1.0, 2.0])),
)

FIELDS = [f.name for f in dataclasses.fields(TrainConfig)]


def _plain(value: object) -> object:
    return value.item() if isinstance(value, (torch.Tensor, np.generic)) else value


@settings(max_examples=400, deadline=None)
@given(field=st.sampled_from(FIELDS), value=ANYTHING)
def test_a_train_config_field_is_stored_plain_or_refused_naming_the_field(field, value) -> None:
    try:
        config = TrainConfig(**{field: value})
    except (TypeError, ValueError) as error:
        assert f"TrainConfig.{field}" in str(error)
        return
    stored = getattr(config, field)
    assert type(stored) in (int, float, bool, str, type(None))
    plain = _plain(value)
    assert stored == plain or (isinstance(plain, float) and math.isclose(stored, plain))
    assert TrainConfig(**dataclasses.asdict(config)) == config  # round trip


@settings(max_examples=300, deadline=None)
@given(low=ANYTHING, high=ANYTHING)
def test_a_beta_range_is_stored_plain_or_refused_with_our_error(low, high) -> None:
    for make, name in ((BetaRange, "BetaRange"), (MultiRateBeta, "BetaRange")):
        try:
            made = make(low, high)
        except (TypeError, ValueError) as error:
            assert name in str(error)
            continue
        assert type(made.low) is float and type(made.high) is float and 0 < made.low < made.high
        assert made == make(made.low, made.high)


@settings(max_examples=200, deadline=None)
@given(value=ANYTHING, steps=ANYTHING)
def test_constant_and_annealed_beta_are_stored_plain_or_refused(value, steps) -> None:
    try:
        constant = ConstantBeta(value)
    except (TypeError, ValueError) as error:
        assert "ConstantBeta.value" in str(error)
    else:
        assert type(constant.value) is float and constant.value > 0
    try:
        annealed = AnnealedBeta(1.0, steps)
    except (TypeError, ValueError) as error:
        assert "AnnealedBeta.warmup_steps" in str(error)
    else:
        assert type(annealed.warmup_steps) is int and annealed.warmup_steps >= 1


@pytest.mark.parametrize("n", [2, 20, np.int64(5), torch.tensor(3)])
def test_a_grid_accepts_integer_scalars(n) -> None:
    assert len(BetaRange(0.01, 10).grid(n)) == int(n)
