"""Seed summaries and budget trends: the interval's coverage against its closed form and a
simulation, the rules' three outcomes, and bad input."""

from __future__ import annotations

import json
import math
import random

import pytest

from mrvae_companion.seeds import BudgetTrend, Rule, SeedSummary, order_statistic_coverage, summarize


@pytest.mark.parametrize(("n", "k", "coverage"), [(3, 1, 0.75), (4, 1, 0.875), (5, 1, 0.9375), (1, 1, 0.0),
                                                  (10, 2, 1 - 2 * 11 / 1024)])
def test_order_statistic_coverage_closed_form(n: int, k: int, coverage: float) -> None:
    assert order_statistic_coverage(n, k) == pytest.approx(coverage)


def test_the_range_of_three_seeds_covers_the_median_three_times_in_four() -> None:
    rng = random.Random(0)
    trials = 20_000
    hits = 0
    for _ in range(trials):  # a skewed distribution: the interval is distribution-free
        draws = [rng.expovariate(1.0) for _ in range(3)]
        hits += min(draws) <= math.log(2) <= max(draws)
    assert hits / trials == pytest.approx(0.75, abs=0.01)


def test_summarize_takes_the_narrowest_interval_that_still_covers_ninety_percent() -> None:
    three = summarize([0.03, 0.01, 0.02], seeds=[4, 5, 6])
    assert (three.median, three.low, three.high, three.coverage, three.n) == (0.02, 0.01, 0.03, 0.75, 3)
    assert three.seeds == (4, 5, 6) and three.values == (0.03, 0.01, 0.02)
    ten = summarize(list(range(10)))
    assert (ten.low, ten.high) == (1.0, 8.0)  # k = 2: coverage 97.9%; k = 3 would cover only 89%
    assert ten.coverage >= 0.9 and order_statistic_coverage(10, 3) < 0.9
    one = summarize([5.0])
    assert (one.low, one.high, one.coverage) == (5.0, 5.0, 0.0)


def test_a_summary_round_trips_through_json() -> None:
    summary = summarize([1.0, 3.0, 2.0])
    record = json.loads(json.dumps(summary.to_json()))
    assert record["method"] == "order statistics" and record["interval"] == [1.0, 3.0]
    assert SeedSummary.is_summary(record)
    assert SeedSummary.from_json(record) == summary


@pytest.mark.parametrize(("values", "seeds", "message"), [
    ([], None, "at least one value"),
    ([1.0, math.nan], None, "finite"),
    ([1.0, 2.0], [0, 0], "distinct seed"),
    ([1.0, 2.0], [0], "one distinct seed per value"),
])
def test_summarize_refuses_bad_input(values: list[float], seeds: list[int] | None, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        summarize(values, seeds)


def test_from_json_names_what_is_missing() -> None:
    with pytest.raises(ValueError, match=r"needs \['coverage'\]"):
        SeedSummary.from_json({"seeds": [0], "values": [1.0], "median": 1.0, "interval": [1.0, 1.0]})


def test_a_rule_judges_the_whole_interval() -> None:
    at_most = Rule(0.05)
    assert at_most.judge(summarize([0.01, 0.02, 0.04])) == "met"
    assert at_most.judge(summarize([0.01, 0.04, 0.06])) == "straddles"
    assert at_most.judge(summarize([0.06, 0.07, 0.09])) == "missed"
    at_least = Rule(10.0, "at_least")
    assert at_least.judge(summarize([11.0, 12.0, 30.0])) == "met"
    assert at_least.shortfall(4.0) == 6.0 and at_least.shortfall(12.0) == 0.0


@pytest.mark.parametrize(("values", "kind"), [
    ((2.0, 1.0), "toward"),  # half the distance closed
    ((1.35, 1.346), "plateau"),  # Theorem 1, learned, from 30 to 100 epochs
    ((0.2, 0.04), "met"),
    ((0.2, 0.3), "plateau"),  # worse with more budget
])
def test_a_budget_trend_moves_toward_the_rule_or_plateaus(values: tuple[float, float], kind: str) -> None:
    assert BudgetTrend((30.0, 100.0), values, "epochs").kind(Rule(0.05)) == kind


@pytest.mark.parametrize(("budgets", "values", "message"), [
    ((1.0,), (0.1,), "at least 2 budgets"),
    ((1.0, 2.0), (0.1,), "at least 2 budgets"),
    ((2.0, 1.0), (0.1, 0.2), "must increase"),
    ((1.0, 1.0), (0.1, 0.2), "must increase"),
])
def test_a_budget_trend_refuses_bad_budgets(budgets: tuple[float, ...], values: tuple[float, ...],
                                            message: str) -> None:
    with pytest.raises(ValueError, match=message):
        BudgetTrend(budgets, values, "epochs")


def test_a_budget_trend_round_trips_through_json() -> None:
    trend = BudgetTrend((1.0, 10.0, 100.0), (2.6, 1.36, 1.35), "epochs")
    assert BudgetTrend.from_json(json.loads(json.dumps(trend.to_json()))) == trend


def test_the_mig_panel_summary_reads_span_coverage_spreads_and_best_ratio_per_seed() -> None:
    from mrvae_companion.seeds import summarize_mig_panel

    summary = summarize_mig_panel(
        mr_rates={0: [20.0, 10.0, 2.0], 1: [30.0, 3.0]}, tcvae_rates={0: [40.0, 1.0], 1: [30.0, 2.0]},
        mr_mig={0: [0.1, 0.2], 1: [0.3, 0.3]}, tcvae_mig={0: [0.1, 0.4], 1: [0.2, 0.6]})
    assert summary["rate_ratio"]["values"] == [10.0, 10.0]
    assert summary["rate_coverage"]["values"] == [0.5, 1.0]
    assert summary["mig_spread"]["values"] == pytest.approx([0.1, 0.0])
    assert summary["tcvae_mig_spread"]["values"] == pytest.approx([0.3, 0.4])
    assert summary["best_mig_ratio"]["values"] == pytest.approx([0.5, 0.5])
    with pytest.raises(ValueError, match="tcvae_rates must cover the seeds"):
        summarize_mig_panel({0: [2.0, 1.0]}, {1: [2.0]}, {0: [0.1]}, {0: [0.1]})
    with pytest.raises(ValueError, match="two β or more"):
        summarize_mig_panel({0: [2.0]}, {0: [2.0]}, {0: [0.1]}, {0: [0.1]})
