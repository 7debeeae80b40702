"""The statistics of step timings (the timings themselves are never asserted)."""

import math
import random

import pytest

from mrvae.training.timing import median_interval


def _coverage(n: int, k: int) -> float:
    """P(the k-th smallest and k-th largest of n draws bracket the median)."""
    return 1.0 - 2.0 * sum(math.comb(n, i) for i in range(k)) / 2.0 ** n


def test_the_median_interval_takes_the_binomial_order_statistics() -> None:
    values = [float(v) for v in range(1, 16)]
    random.Random(0).shuffle(values)
    assert median_interval(values) == (4.0, 12.0)  # ranks 4 and 12 of 15: 96.5% coverage
    assert _coverage(15, 4) >= 0.95 > _coverage(15, 5)
    assert median_interval(range(1, 101)) == (40, 61)  # the textbook interval for n = 100
    assert median_interval(range(1, 101), confidence=0.5) == (47, 54)
    assert median_interval([3.0, 1.0]) == (1.0, 3.0)  # too few for 95%: the whole range
    assert median_interval([2.0]) == (2.0, 2.0)
    assert median_interval(range(5000)) == (2430, 2569)  # no float overflow in 2 ** n


def test_the_median_interval_covers_the_median_about_as_often_as_it_says() -> None:
    rng = random.Random(0)
    hits = 0
    for _ in range(2000):
        lo, hi = median_interval([rng.gauss(1.0, 0.1) for _ in range(30)])
        hits += lo <= 1.0 <= hi
    assert 0.94 <= hits / 2000 <= 0.995


def test_bad_input_names_the_fix() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        median_interval([])
    with pytest.raises(ValueError, match=r"confidence must lie in \(0, 1\)"):
        median_interval([1.0, 2.0], confidence=95)
