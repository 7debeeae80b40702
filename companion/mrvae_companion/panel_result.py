"""A rate–distortion panel's result as one typed record, in one figure-file layout for every family.

A panel is one MR-VAE against its β-VAE sweeps on one test set. :meth:`PanelResult.evaluate`
measures it; :meth:`PanelResult.to_json` writes it into a figure file and
:meth:`PanelResult.from_json` reads it back, refusing a missing, renamed or mistyped field
(:class:`~mrvae_companion.schema.FigureSchemaError`) instead of reading it as absent, and a
response that its own curve and comparisons do not give.

>>> result = PanelResult.evaluate(mr_vae, constant, annealed, test, source="binary MNIST, 1,000 test images")
>>> record = result.to_json()
>>> PanelResult.from_json(record, "figures/figure5_rate_distortion.json: binary_mnist-resnet-w0.25") == result
True
"""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from torch import Tensor

from mrvae.hyper.gates import BetaRange
from mrvae.metrics.rate_distortion import rate_distortion_curve
from mrvae.models.base import VAE
from mrvae_companion.experiments import PAPER_BETA_RANGE
from mrvae_companion.panel_metrics import ResponseMetrics, best_test_elbo, compare_at_betas
from mrvae_companion.schema import FigureSchemaError

__all__ = ["BetaComparison", "CurvePoint", "PanelResult"]

#: The β-VAE sweeps a panel can be compared with, in the order tables list them.
SWEEPS = ("constant", "annealed")

_Record = TypeVar("_Record", "CurvePoint", "BetaComparison")


@dataclass(frozen=True)
class CurvePoint:
    """The MR-VAE on the test set at one β: mean rate and distortion (nats) and ``loss = D + βR``."""

    beta: float
    rate: float
    distortion: float
    loss: float


@dataclass(frozen=True)
class BetaComparison:
    """One β of a sweep: the MR-VAE at β (``mr_*``) against the β-VAE trained at β, and
    ``gap = (L_MR − L_β-VAE) / |L_β-VAE|`` in ``L = D + βR`` (negative: the MR-VAE is better)."""

    beta: float
    mr_rate: float
    mr_distortion: float
    mr_loss: float
    rate: float
    distortion: float
    loss: float
    gap: float


def _numbers(cls: type[_Record], record: Any, where: str) -> _Record:
    """A flat record of numbers (:class:`CurvePoint`, :class:`BetaComparison`), every field required."""
    names = [f.name for f in dataclasses.fields(cls)]
    if not isinstance(record, Mapping):
        raise FigureSchemaError(f"{where} must be a record with {names}, got {type(record).__name__}")
    missing, unknown = sorted(set(names) - record.keys()), sorted(record.keys() - set(names))
    if missing or unknown:
        raise FigureSchemaError(f"{where}: fields missing {missing}, unknown {unknown} (expected {names})")
    bad = [n for n in names if isinstance(record[n], bool) or not isinstance(record[n], (int, float))]
    if bad:
        raise FigureSchemaError(f"{where}: {', '.join(bad)} must be numbers, got {[record[n] for n in bad]}")
    return cls(**{n: float(record[n]) for n in names})


def _canonical(record: Any) -> str:
    """A record as sorted JSON: equal numbers, NaN included, give equal text."""
    return json.dumps(record, sort_keys=True)


def _sequence(value: Any, where: str) -> Sequence[Any]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise FigureSchemaError(f"{where} must be a non-empty list, got {value!r:.80}")
    return value


@dataclass(frozen=True)
class PanelResult:
    """Everything a rate–distortion panel shows and claims.

    Attributes:
        source: where the test data came from (dataset, split, subset).
        curve: the MR-VAE at the paper's 20 log-spaced β of its range, β increasing.
        comparisons: per sweep (``"constant"``, and ``"annealed"`` where one was trained), the
            MR-VAE against each β-VAE of the sweep, β increasing (:func:`compare_at_betas`).
        response: :class:`ResponseMetrics` of ``curve`` and ``comparisons``, computed once here.
        best_test_elbo: Table 2's number, the lowest ``D + R`` over β, of the MR-VAE
            (``"mr_vae"``) and of each sweep (over its β-VAEs, each at its own β).
    """

    source: str
    curve: tuple[CurvePoint, ...]
    comparisons: Mapping[str, tuple[BetaComparison, ...]]
    response: ResponseMetrics
    best_test_elbo: Mapping[str, float]

    def __post_init__(self) -> None:
        if not self.curve or "constant" not in self.comparisons or not all(self.comparisons.values()):
            raise ValueError("a panel needs its MR-VAE's curve and a non-empty constant-β comparison")
        unknown = sorted(set(self.comparisons) - set(SWEEPS))
        if unknown:
            raise ValueError(f"unknown sweeps {unknown}; a panel compares with {list(SWEEPS)}")

    @classmethod
    def from_measurements(cls, source: str, curve: Sequence[Mapping[str, float]],
                          comparisons: Mapping[str, Sequence[Mapping[str, float]]]) -> PanelResult:
        """From :func:`~mrvae.metrics.rate_distortion.rate_distortion_curve` points and
        :func:`compare_at_betas` rows per sweep: the response and best ELBOs computed here."""
        points = tuple(_numbers(CurvePoint, p, "a curve point") for p in curve)
        rows = {name: tuple(_numbers(BetaComparison, r, f"a {name} comparison") for r in comparisons[name])
                for name in SWEEPS if comparisons.get(name) is not None}
        response = ResponseMetrics.compute(curve, comparisons["constant"], comparisons.get("annealed"))
        elbo = {"mr_vae": best_test_elbo(curve), **{name: best_test_elbo(r) for name, r in comparisons.items()
                                                   if r is not None}}
        return cls(source, points, rows, response, elbo)

    @classmethod
    def evaluate(cls, mr_vae: VAE, constant: Mapping[float, VAE], annealed: Mapping[float, VAE] | None, test: Tensor,
                 *, source: str, beta_range: BetaRange = PAPER_BETA_RANGE, seed: int = 0,
                 batch_size: int = 1000) -> PanelResult:
        """Measure a panel on ``test`` (``(N, *data_shape)``): the MR-VAE's curve over
        ``beta_range``, and each sweep's β-VAEs against the MR-VAE at their β (``annealed=None``
        for a panel without a KL-annealed sweep). Every evaluation draws its noise from ``seed``."""
        curve = rate_distortion_curve(mr_vae, test, beta_range=beta_range, seed=seed, batch_size=batch_size)
        mr_points: dict[float, dict[str, float]] = {}
        rows = {name: compare_at_betas(mr_vae, dict(sweep), test, seed=seed, mr_points=mr_points,
                                       batch_size=batch_size)
                for name, sweep in (("constant", constant), ("annealed", annealed)) if sweep is not None}
        return cls.from_measurements(source, curve, rows)

    def worse_at(self, sweep: str = "constant") -> tuple[int, int]:
        """``(k, n)``: the MR-VAE's ``D + βR`` is above the β-VAE's at ``k`` of the sweep's ``n`` β."""
        rows = self.comparisons[sweep]
        return sum(row.gap > 0 for row in rows), len(rows)

    @property
    def finite(self) -> bool:
        """Whether every measured number is finite (a diverged run's are not)."""
        numbers = [v for p in self.curve for v in dataclasses.astuple(p)]
        numbers += [v for rows in self.comparisons.values() for r in rows for v in dataclasses.astuple(r)]
        return self.response.finite and all(map(math.isfinite, numbers))

    def to_json(self) -> dict[str, Any]:
        """The figure-file form, read back by :meth:`from_json`."""
        return {"source": self.source, "curve": [dataclasses.asdict(p) for p in self.curve],
                "comparisons": {name: [dataclasses.asdict(r) for r in rows] for name, rows in self.comparisons.items()},
                "response": self.response.to_json(), "best_test_elbo": dict(self.best_test_elbo)}

    @classmethod
    def from_json(cls, record: Any, where: str = "a panel record") -> PanelResult:
        """Parse :meth:`to_json`'s form, naming the field that is missing, unknown or mistyped."""
        fields = {f.name for f in dataclasses.fields(cls)}
        if not isinstance(record, Mapping):
            raise FigureSchemaError(f"{where} is not a panel record, got {type(record).__name__}")
        missing, unknown = sorted(fields - record.keys()), sorted(record.keys() - fields)
        if missing or unknown:
            raise FigureSchemaError(f"{where}: panel fields missing {missing}, unknown {unknown} "
                                    f"(expected {sorted(fields)})")
        if not isinstance(record["source"], str):
            raise FigureSchemaError(f"{where}: source must be a string, got {record['source']!r}")
        comparisons = record["comparisons"]
        if not isinstance(comparisons, Mapping) or "constant" not in comparisons or set(comparisons) - set(SWEEPS):
            found = sorted(comparisons) if isinstance(comparisons, Mapping) else comparisons
            raise FigureSchemaError(f"{where}: comparisons must map 'constant' (and optionally 'annealed') to "
                                    f"lists, got {found!r}")
        elbo = record["best_test_elbo"]
        if (not isinstance(elbo, Mapping) or "mr_vae" not in elbo
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in elbo.values())):
            raise FigureSchemaError(f"{where}: best_test_elbo must map 'mr_vae' and each sweep to a number, "
                                    f"got {elbo!r}")
        curve = [dataclasses.asdict(_numbers(CurvePoint, p, f"{where}: curve point {i}"))
                 for i, p in enumerate(_sequence(record["curve"], f"{where}: curve"))]
        rows = {name: [dataclasses.asdict(_numbers(BetaComparison, r, f"{where}: {name} comparison {i}"))
                       for i, r in enumerate(_sequence(comparisons[name], f"{where}: comparisons.{name}"))]
                for name in SWEEPS if name in comparisons}
        recorded = ResponseMetrics.from_json(record["response"], f"{where}: response")
        result = cls.from_measurements(record["source"], curve, rows)
        # The response and the ELBOs are functions of the curve and the rows: a file whose numbers
        # disagree was edited by hand or written by other code, and no reader should pick one.
        if _canonical(recorded.to_json()) != _canonical(result.response.to_json()):  # NaN-aware: a diverged run
            raise FigureSchemaError(f"{where}: the recorded response {record['response']} is not the one its curve "
                                    f"and comparisons give, {result.response.to_json()}")
        if _canonical({str(k): float(v) for k, v in elbo.items()}) != _canonical(result.best_test_elbo):
            raise FigureSchemaError(f"{where}: the recorded best_test_elbo {elbo} is not the one its curve and "
                                    f"comparisons give, {result.best_test_elbo}")
        return result
