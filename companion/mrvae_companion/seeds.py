"""Seeds, intervals and budget trends: what a verdict rests on.

A claim measured on one seed can flip on the next (Figure 1's median gap read +2.4% with seed 0
and +4.3% with seed 1, around a 3% target). So the metrics a verdict decides on are measured on
several seeds, each with its own data subset, initialisation and batch order, and stored as a
:class:`SeedSummary`: the per-seed values, their median and a distribution-free interval for the
median from order statistics.

**The interval.** For ``n`` independent runs, the interval between the ``k``-th smallest and the
``k``-th largest value covers the median of the run-to-run distribution with probability
``1 - 2 P(Binomial(n, 1/2) < k)``, whatever that distribution is. With 3 to 5 seeds the only
choice is ``k = 1``, the range: it covers the median with probability 75% (3 seeds), 87.5% (4)
and 93.75% (5). With more seeds, :func:`summarize` takes the narrowest interval that still covers
with at least :data:`TARGET_COVERAGE`. Each summary records the coverage it has. We do not
bootstrap: with 3 values a bootstrap interval is the range with a false sense of precision.

**The budget trend.** A claim that misses its rule at our budget might meet it at a larger one, or
not. :class:`BudgetTrend` records the same metric at two or more budgets; :meth:`BudgetTrend.kind`
says whether it moves toward the rule (*toward*: a larger budget may meet it) or has stopped
moving (*plateau*: the miss is not the budget's).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["PLATEAU_PROGRESS", "TARGET_COVERAGE", "BudgetTrend", "Rule", "SeedSummary", "order_statistic_coverage",
           "summarize", "summarize_mig_panel", "summarize_responses"]

#: Coverage :func:`summarize` aims for when there are enough seeds to choose.
TARGET_COVERAGE = 0.9
#: A larger budget "moves toward" a rule when it closes at least this fraction of the remaining
#: distance to the threshold; less than that is a plateau. A tenth: run-to-run noise moves our
#: metrics by a few percent, so a smaller step is not evidence that more budget helps.
PLATEAU_PROGRESS = 0.1


def order_statistic_coverage(n: int, k: int) -> float:
    """Probability that ``[x_(k), x_(n-k+1)]`` of ``n`` i.i.d. draws covers their median."""
    if not 1 <= k <= n // 2 + (n % 2):
        raise ValueError(f"need 1 <= k <= ceil(n/2), got n={n}, k={k}")
    below = sum(math.comb(n, i) for i in range(k)) / 2.0**n
    return 1.0 - 2.0 * below


@dataclass(frozen=True)
class SeedSummary:
    """One metric over seeds: the values, their median and an order-statistic interval.

    Attributes:
        seeds: the seed of each run.
        values: the metric of each run, in the order of ``seeds``.
        median: the median of ``values``.
        low, high: the interval for the median (:func:`summarize`).
        coverage: the probability that ``[low, high]`` covers the median of the run-to-run
            distribution (:func:`order_statistic_coverage`); 0 for a single seed.
    """

    seeds: tuple[int, ...]
    values: tuple[float, ...]
    median: float
    low: float
    high: float
    coverage: float

    @property
    def n(self) -> int:
        return len(self.values)

    def to_json(self) -> dict[str, Any]:
        return {"seeds": list(self.seeds), "values": list(self.values), "median": self.median,
                "interval": [self.low, self.high], "coverage": self.coverage, "method": "order statistics"}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> SeedSummary:
        """The summary a :meth:`to_json` record holds; ``ValueError`` naming what is missing."""
        missing = [k for k in ("seeds", "values", "median", "interval", "coverage") if k not in record]
        if missing:
            raise ValueError(f"a seed summary needs {missing}; got keys {sorted(record)}")
        low, high = record["interval"]
        return cls(tuple(int(s) for s in record["seeds"]), tuple(float(v) for v in record["values"]),
                   float(record["median"]), float(low), float(high), float(record["coverage"]))

    @staticmethod
    def is_summary(value: Any) -> bool:
        """Whether ``value`` is a :meth:`to_json` record."""
        return isinstance(value, Mapping) and {"values", "median", "interval"} <= value.keys()


def summarize(values: Sequence[float], seeds: Sequence[int] | None = None) -> SeedSummary:
    """The :class:`SeedSummary` of ``values`` (one per seed; ``seeds`` default 0, 1, ...).

    The interval is ``[x_(k), x_(n-k+1)]`` with the largest ``k`` whose coverage is still at
    least :data:`TARGET_COVERAGE`, or the range (``k = 1``) when even that covers less.
    """
    values = [float(v) for v in values]
    if not values:
        raise ValueError("summarize needs at least one value")
    if not all(math.isfinite(v) for v in values):
        raise ValueError(f"every value must be finite, got {values}")
    seeds = list(range(len(values))) if seeds is None else [int(s) for s in seeds]
    if len(seeds) != len(values) or len(set(seeds)) != len(seeds):
        raise ValueError(f"need one distinct seed per value, got seeds {seeds} for {len(values)} values")
    n, ordered = len(values), sorted(values)
    if n == 1:
        return SeedSummary(tuple(seeds), tuple(values), values[0], values[0], values[0], 0.0)
    k = 1
    while k + 1 <= (n + 1) // 2 and order_statistic_coverage(n, k + 1) >= TARGET_COVERAGE:
        k += 1
    return SeedSummary(tuple(seeds), tuple(values), statistics.median(values), ordered[k - 1], ordered[n - k],
                       order_statistic_coverage(n, k))


@dataclass(frozen=True)
class Rule:
    """A threshold a metric must meet: ``value <= threshold`` (``at_most``) or ``>=`` (``at_least``)."""

    threshold: float
    direction: Literal["at_most", "at_least"] = "at_most"

    def met(self, value: float) -> bool:
        return value <= self.threshold if self.direction == "at_most" else value >= self.threshold

    def shortfall(self, value: float) -> float:
        """How far ``value`` is from meeting the rule (0 when it meets it)."""
        miss = value - self.threshold if self.direction == "at_most" else self.threshold - value
        return max(miss, 0.0)

    def judge(self, summary: SeedSummary) -> Literal["met", "straddles", "missed"]:
        """``met`` if the whole interval meets the rule, ``missed`` if none of it does."""
        return self.judge_interval(summary.low, summary.high)

    def judge_interval(self, low: float, high: float) -> Literal["met", "straddles", "missed"]:
        """:meth:`judge` of the interval ``[low, high]``."""
        low_ok, high_ok = self.met(low), self.met(high)
        if low_ok and high_ok:
            return "met"
        return "straddles" if low_ok or high_ok else "missed"

    def describe(self) -> str:
        return f"{'≤' if self.direction == 'at_most' else '≥'} {self.threshold:g}"


@dataclass(frozen=True)
class BudgetTrend:
    """One metric (a median over seeds, or one run's value) at increasing training budgets.

    Attributes:
        budgets: the budgets, increasing (epochs, steps or images; ``unit`` says which).
        values: the metric at each budget.
        unit: what a budget counts.
    """

    budgets: tuple[float, ...]
    values: tuple[float, ...]
    unit: str

    def __post_init__(self) -> None:
        if len(self.budgets) < 2 or len(self.budgets) != len(self.values):
            raise ValueError(f"a budget trend needs a value at each of at least 2 budgets, got "
                             f"{len(self.budgets)} budgets and {len(self.values)} values")
        if list(self.budgets) != sorted(set(self.budgets)):
            raise ValueError(f"budgets must increase, got {list(self.budgets)}")

    def kind(self, rule: Rule) -> Literal["met", "toward", "plateau"]:
        """Between the last two budgets: ``met`` if the larger one meets ``rule``; ``toward`` if
        it closes at least :data:`PLATEAU_PROGRESS` of the smaller one's shortfall; else ``plateau``."""
        before, after = rule.shortfall(self.values[-2]), rule.shortfall(self.values[-1])
        if after == 0.0:
            return "met"
        return "toward" if after <= (1.0 - PLATEAU_PROGRESS) * before else "plateau"

    def to_json(self) -> dict[str, Any]:
        return {"budgets": list(self.budgets), "values": list(self.values), "unit": self.unit}

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> BudgetTrend:
        missing = [k for k in ("budgets", "values", "unit") if k not in record]
        if missing:
            raise ValueError(f"a budget trend needs {missing}; got keys {sorted(record)}")
        return cls(tuple(float(b) for b in record["budgets"]), tuple(float(v) for v in record["values"]),
                   str(record["unit"]))


def summarize_responses(responses: Mapping[int, Mapping[str, Any]],
                        rows: Mapping[int, Sequence[Mapping[str, Any]]]) -> dict[str, dict[str, Any]]:
    """One rate–distortion panel over seeds, as ``metrics.seeds`` JSON.

    ``responses`` maps each seed to the panel's ``response_metrics`` at that seed and ``rows`` to
    its per-β comparison with the constant-β sweep (``compare_at_betas``). Returns a
    :class:`SeedSummary` (as JSON) of the ``rate_ratio``, the ``median_gap`` and ``worst_gap`` to
    the constant-β sweep, its ``rate_coverage`` and ``worse_at``, the number of β at which the
    MR-VAE's ``D + βR`` is above that β-VAE's. The constant-β sweep is the one every seed trains.
    """
    seeds = sorted(responses)
    if not seeds or sorted(rows) != seeds:
        raise ValueError(f"responses and rows must cover the same seeds, got {sorted(responses)} and {sorted(rows)}")
    per_metric = {
        "rate_ratio": [float(responses[s]["rate_ratio"]) for s in seeds],
        "median_gap": [float(responses[s]["median_gap"]["constant"]) for s in seeds],
        "worst_gap": [float(responses[s]["worst_gap"]["constant"]) for s in seeds],
        "rate_coverage": [float(responses[s]["rate_coverage"]["constant"]) for s in seeds],
        "worse_at": [float(sum(float(row["gap"]) > 0 for row in rows[s])) for s in seeds],
    }
    return {name: summarize(values, seeds).to_json() for name, values in per_metric.items()}


def summarize_mig_panel(mr_rates: Mapping[int, Sequence[float]], tcvae_rates: Mapping[int, Sequence[float]],
                        mr_mig: Mapping[int, Sequence[float]],
                        tcvae_mig: Mapping[int, Sequence[float]]) -> dict[str, dict[str, Any]]:
    """Figure 8's MR-VAE against its β-TCVAEs over seeds, as ``metrics.seeds`` JSON.

    Each mapping goes from a seed to that seed's values over β, in increasing β: the MR-VAE's
    rates and MIGs at the β it is read at, the β-TCVAEs' at the β they were trained at. Both
    lists of rates start at the range's lowest β. Returns a :class:`SeedSummary` (as JSON) of:

    * ``rate_ratio``: the MR-VAE's rate at the lowest β over its rate at the highest (its span);
    * ``rate_coverage``: its rate at the lowest β over the β-TCVAE's there (same seed);
    * ``mig_spread`` and ``tcvae_mig_spread``: max − min MIG over β of each;
    * ``best_mig_ratio``: the MR-VAE's best MIG over the best β-TCVAE's of the same seed.
    """
    seeds = sorted(mr_rates)
    for name, values in (("tcvae_rates", tcvae_rates), ("mr_mig", mr_mig), ("tcvae_mig", tcvae_mig)):
        if sorted(values) != seeds:
            raise ValueError(f"{name} must cover the seeds of mr_rates {seeds}, got {sorted(values)}")
        if any(not values[s] for s in seeds):
            raise ValueError(f"{name} has a seed with no values")
    if any(len(mr_rates[s]) < 2 for s in seeds):
        raise ValueError("mr_rates needs the MR-VAE's rate at two β or more per seed")
    per_metric = {
        "rate_ratio": [mr_rates[s][0] / mr_rates[s][-1] for s in seeds],
        "rate_coverage": [mr_rates[s][0] / tcvae_rates[s][0] for s in seeds],
        "mig_spread": [max(mr_mig[s]) - min(mr_mig[s]) for s in seeds],
        "tcvae_mig_spread": [max(tcvae_mig[s]) - min(tcvae_mig[s]) for s in seeds],
        "best_mig_ratio": [max(mr_mig[s]) / max(tcvae_mig[s]) for s in seeds],
    }
    return {name: summarize(values, seeds).to_json() for name, values in per_metric.items()}
