"""What a panel's numbers say: the MR-VAE against the β-VAEs at each β, and the response
metrics every chapter and the scoreboard read (span, coverage, gaps, monotonicity), computed here once."""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from torch import Tensor

from mrvae.metrics.rate_distortion import evaluate
from mrvae.models.base import VAE
from mrvae_companion.schema import FigureSchemaError


def compare_at_betas(
    mr_vae: VAE, beta_vaes: dict[float, VAE], test: Tensor, *, seed: int = 0,
    mr_points: dict[float, dict[str, float]] | None = None,
    baseline_points: dict[float, dict[str, float]] | None = None, batch_size: int = 1000,
) -> list[dict[str, float]]:
    """Per β of the sweep: test rate, distortion and ``D + βR`` of the MR-VAE at β and of the
    β-VAE trained at β, and ``gap = (L_MR − L_β-VAE) / |L_β-VAE|`` (negative: MR-VAE better).

    ``mr_points`` caches the MR-VAE's evaluations by β (filled in here), so comparing it with
    two sweeps evaluates it once per β; ``baseline_points`` likewise the β-VAEs', so comparing
    many MR-VAEs with one sweep on the same ``test`` and ``seed`` evaluates each β-VAE once
    (the numbers are the same: an evaluation draws its noise from ``seed``). ``batch_size``:
    examples per evaluation batch.
    """
    mr_points = {} if mr_points is None else mr_points
    baseline_points = {} if baseline_points is None else baseline_points
    rows = []
    for beta, model in sorted(beta_vaes.items()):
        if beta not in mr_points:
            mr_points[beta] = evaluate(mr_vae, test, beta, seed=seed, batch_size=batch_size)
        if beta not in baseline_points:
            baseline_points[beta] = evaluate(model, test, beta, seed=seed, batch_size=batch_size)
        mr, base = mr_points[beta], baseline_points[beta]
        rows.append({"beta": beta, "mr_rate": mr["rate"], "mr_distortion": mr["distortion"], "mr_loss": mr["loss"],
                     "rate": base["rate"], "distortion": base["distortion"], "loss": base["loss"],
                     "gap": (mr["loss"] - base["loss"]) / abs(base["loss"])})
    return rows


def is_monotone(rates: Sequence[float], *, tolerance: float = 0.01) -> bool:
    """Whether ``rates`` (ordered by increasing β) never rise by more than ``tolerance`` (relative)."""
    return all(later <= earlier * (1.0 + tolerance) + 1e-9 for earlier, later in zip(rates, rates[1:], strict=False))


def _low_beta_row(rows: Sequence[Mapping[str, float]]) -> Mapping[str, float]:
    return min(rows, key=lambda row: row.get("beta", 0.0))


@dataclass(frozen=True)
class ResponseMetrics:
    """The numbers that say whether an MR-VAE learned its β response and matches the sweeps.

    ``rate_ratio`` = R(a)/R(b) over the MR-VAE's curve (``rate_at_a``, ``rate_at_b``);
    ``monotone``: its rate is non-increasing in β within 1%; ``median_gap`` and ``worst_gap``,
    keyed by sweep (``"constant"``, ``"annealed"``), of the relative gap in D + βR;
    ``rate_coverage``, per sweep, the MR-VAE's rate at the sweep's smallest β over that
    β-VAE's (near 1: the MR-VAE reaches the sweep's high-rate end; a small gap there says
    little, since at small β the loss barely depends on the rate); ``beta_vae_monotone``:
    whether each β-VAE sweep is monotone in rate.

    Figure files hold :meth:`to_json`; readers parse them with :meth:`from_json`, which fails
    on a missing, renamed or mistyped field instead of reading it as absent.
    """

    rate_ratio: float
    rate_at_a: float
    rate_at_b: float
    monotone: bool
    median_gap: dict[str, float]
    worst_gap: dict[str, float]
    rate_coverage: dict[str, float]
    beta_vae_monotone: dict[str, bool]

    @classmethod
    def compute(cls, curve: Sequence[Mapping[str, float]], rows_constant: Sequence[Mapping[str, float]],
                rows_annealed: Sequence[Mapping[str, float]] | None = None) -> ResponseMetrics:
        """From the MR-VAE's test points at increasing β (``curve``, the paper's 20-point grid)
        and :func:`compare_at_betas` against each β-VAE sweep (a family without an annealed
        sweep, such as the paper's NVAE, passes ``rows_annealed=None``)."""
        rates = [point["rate"] for point in curve]
        sweeps = {"constant": rows_constant, **({} if rows_annealed is None else {"annealed": rows_annealed})}
        gaps = {k: [r["gap"] for r in rows] for k, rows in sweeps.items()}
        coverage = {k: _low_beta_row(rows)["mr_rate"] / max(_low_beta_row(rows)["rate"], 1e-12)
                    for k, rows in sweeps.items()}
        return cls(
            rate_ratio=rates[0] / max(rates[-1], 1e-12), rate_at_a=rates[0], rate_at_b=rates[-1],
            monotone=is_monotone(rates),
            median_gap={k: statistics.median(v) for k, v in gaps.items()},
            worst_gap={k: max(v) for k, v in gaps.items()},
            rate_coverage=coverage,
            beta_vae_monotone={k: is_monotone([r["rate"] for r in rows]) for k, rows in sweeps.items()},
        )

    def to_json(self) -> dict[str, Any]:
        """The figure-file form, read back by :meth:`from_json`."""
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, record: Any, where: str = "a response record") -> ResponseMetrics:
        """Parse :meth:`to_json`'s form; :class:`~mrvae_companion.schema.FigureSchemaError`
        names the field that is missing, unknown (a rename) or of the wrong type."""
        if not isinstance(record, Mapping):
            raise FigureSchemaError(f"{where} is not a response record, got {type(record).__name__}")
        fields = {f.name for f in dataclasses.fields(cls)}
        missing = sorted(fields - record.keys())
        unknown = sorted(record.keys() - fields)
        if missing or unknown:
            raise FigureSchemaError(f"{where}: response fields missing {missing}, unknown {unknown} "
                                    f"(expected {sorted(fields)})")

        def number(name: str) -> float:
            value = record[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise FigureSchemaError(f"{where}: {name} must be a number, got {value!r}")
            return float(value)

        def per_sweep(name: str, kind: type) -> dict[str, Any]:
            value = record[name]
            def valid(v: Any) -> bool:
                return isinstance(v, bool) if kind is bool else isinstance(v, (int, float)) and not isinstance(v, bool)

            if not isinstance(value, Mapping) or "constant" not in value or not all(map(valid, value.values())):
                raise FigureSchemaError(f"{where}: {name} must map each sweep ('constant', ...) to a "
                                        f"{kind.__name__}, got {value!r}")
            return {str(k): kind(v) if kind is bool else float(v) for k, v in value.items()}

        if not isinstance(record["monotone"], bool):
            raise FigureSchemaError(f"{where}: monotone must be true or false, got {record['monotone']!r}")
        return cls(number("rate_ratio"), number("rate_at_a"), number("rate_at_b"), record["monotone"],
                   per_sweep("median_gap", float), per_sweep("worst_gap", float),
                   per_sweep("rate_coverage", float),
                   per_sweep("beta_vae_monotone", bool))

    @property
    def finite(self) -> bool:
        """Whether the span and every gap are finite numbers (a diverged run's are not)."""
        return math.isfinite(self.rate_ratio) and all(math.isfinite(g) for g in self.median_gap.values())


def response_metrics(curve: Sequence[Mapping[str, float]], rows_constant: Sequence[Mapping[str, float]],
                     rows_annealed: Sequence[Mapping[str, float]] | None = None) -> dict[str, Any]:
    """:meth:`ResponseMetrics.compute` in the figure-file form (:meth:`ResponseMetrics.to_json`)."""
    return ResponseMetrics.compute(curve, rows_constant, rows_annealed).to_json()


def sweep_gap_metrics(curve: Sequence[Mapping[str, float]], rows: Sequence[Mapping[str, float]]) -> dict[str, Any]:
    """One MR-VAE against one β-VAE sweep (an ablation's variant): ``rate_ratio`` R(a)/R(b) and
    ``monotone`` over ``curve``, and the ``median_gap`` and ``worst_gap`` of :func:`compare_at_betas` ``rows``."""
    rates = [point["rate"] for point in curve]
    gaps = [row["gap"] for row in rows]
    return {"rate_ratio": rates[0] / max(rates[-1], 1e-12), "monotone": is_monotone(rates),
            "median_gap": statistics.median(gaps), "worst_gap": max(gaps)}


def best_test_elbo(curve: Sequence[Mapping[str, float]]) -> float:
    """Table 2's number: the lowest single-sample negative ELBO, ``D + R`` (β = 1), over β."""
    return min(point["distortion"] + point["rate"] for point in curve)
