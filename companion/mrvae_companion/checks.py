"""Claim checks that hold on any CPU: what the book's regression tests (nbval) compare.

The same seed gives other floats under another CPU kernel path (``ATEN_CPU_CAPABILITY``:
``avx512``, ``avx2``, ``default``, or another processor), and 1,000 training steps carry them
into the second digit of a rate span or a gap. So a chapter's tables are shown to readers but
not compared digit for digit. Instead each chapter ends with a hidden cell that prints one line
per checked metric of its figures: ``ok`` when the value lies inside its *band*, or the value
and the band when it does not. nbval compares those lines.

A band is measured, not guessed. ``figures/kernel_spread.json`` records the checked metrics of
whole quick-profile runs under several kernel paths (``make kernel-spread``). A metric's band is
the range those runs span, widened on each side by :data:`SAFETY` times that range (at least
its check's ``floor``), on a log scale for positive ratios. A metric is checked only when the
runs agree on which side of the claim it lies, so a verdict that one kernel path can flip is
reported as unsettled rather than tested. Claims with a fixed threshold (an analytic error
under 1e-10) are checked against the threshold itself.
"""

from __future__ import annotations

import fnmatch
import json
import math
import os
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mrvae_companion.figures import committed_figure_dir, figure_dir, load_figure_data, short_commit
from mrvae_companion.seeds import SeedSummary

__all__ = ["CHECKS", "SAFETY", "UNCHECKED", "Band", "Claim", "Measured", "band_for", "check_figure", "checked_values",
           "flat_metrics", "load_spread", "print_checks", "record_run"]

#: How many times the measured cross-kernel range a band extends beyond it, on each side.
SAFETY = 2.0
SPREAD_FILE = "kernel_spread.json"

Scale = Literal["log", "linear", "exact"]


@dataclass(frozen=True)
class Measured:
    """Metrics (an ``fnmatch`` pattern over dotted paths) checked against their measured band.

    ``scale``: ``"log"`` for positive quantities compared by ratio (rate spans, FCDs),
    ``"linear"`` for signed or bounded ones (gaps, coverage, MIG), ``"exact"`` for booleans and
    names. ``floor``: the least half-range assumed, in the scale's units (log: natural log of
    the ratio), for metrics on which the measured runs happen to agree.
    """

    pattern: str
    scale: Scale = "linear"
    floor: float = 0.005


@dataclass(frozen=True)
class Claim:
    """Metrics checked against a fixed threshold from the claim (analytic results)."""

    pattern: str
    at_most: float | None = None
    at_least: float | None = None


Check = Measured | Claim

_SPAN = 0.05  # log floor of ratios: 5%


def _over_seeds(prefix: str) -> tuple[Check, ...]:
    """A panel's ``metrics.seeds`` (``seeds.summarize_responses``) under ``prefix``: each
    summary's median and range ends, the numbers its verdict decides on."""
    return (Measured(f"{prefix}.rate_ratio.*", "log", _SPAN), Measured(f"{prefix}.median_gap.*"),
            Measured(f"{prefix}.rate_coverage.*", "linear", 0.01))


def _response(prefix: str) -> tuple[Check, ...]:
    """The response metrics of one or more panels (``panel_metrics.response_metrics``) under ``prefix``."""
    return (Measured(f"{prefix}.rate_ratio", "log", _SPAN), Measured(f"{prefix}.monotone", "exact"),
            Measured(f"{prefix}.median_gap.*"), Measured(f"{prefix}.rate_coverage.*", "linear", 0.01))


#: What each figure's regression check covers. Timings (step-time ratios, wall seconds) are
#: never checked: they measure the machine, not the method.
CHECKS: dict[str, tuple[Check, ...]] = {
    "theorem1_linear_response": (
        Claim("max_abs_error.exact.D", at_most=1e-10),
        Claim("max_abs_error.exact.E", at_most=1e-10),
        Claim("max_abs_error.paper_gates.D", at_most=1e-10),
        Claim("closed_form_checks.*.formula_error", at_most=1e-10),
        Claim("closed_form_checks.*.max_gradient", at_most=1e-10),
        # no L-BFGS restart beats the closed form (the notebook's own tolerance)
        Claim("closed_form_checks.*.best_restart_minus_closed_form", at_least=-1e-9),
        Measured("max_abs_error.exact.C", "log", _SPAN),
        Measured("max_abs_error.paper_gates.[EC]", "log", _SPAN),
    ),
    "theorem1_training": (
        Measured("seeds.max_relative_gap.median", "log", _SPAN),
        Measured("seeds.active_latents.median", "linear", 1.0),
        Measured("recipes.*.max_relative_gap.median", "log", _SPAN),
        Measured("chosen_recipe", "exact"),
    ),
    "figure4_linear_mnist": (
        Measured("mrvae_max_relative_gap", "log", _SPAN),
        Measured("mrvae_sqrt_encoder_max_relative_gap", "log", _SPAN),
        Measured("relative_gap_to_optimum.beta_vae", "log", _SPAN),
        Measured("seeds.*_worst_gap.*", "log", _SPAN),
        Measured("seeds.worst_gap_excess.*", "linear", 0.005),
        Measured("seeds.closer_at.*", "linear", 1.0),
        Measured("overhead.parameter_ratio", "exact"),
    ),
    "figure1_resnet_binary_mnist": (*_response("response"), Measured("target_met", "exact"),
                                    *_over_seeds("seeds")),
    "figure5_rate_distortion": (
        *_response("response.*"),
        Measured("targets.met.*", "exact"),
        Measured("parameters.*.ratio", "exact"),
    ),
    "figure6_active_units_fcd": (
        Measured("active_units.*.mrvae_at_betas", "linear", 1.0),
        Measured("active_units.*.constant", "linear", 1.0),
        Measured("frechet_distance.*.mrvae", "log", _SPAN),
        Measured("classifier_test_accuracy", "linear", 0.01),
    ),
    "section53_sample_range": (Measured("median_gap.*"),),
    "figure9_ablation": (
        Measured("variants.*.rate_ratio", "log", _SPAN),
        Measured("variants.*.monotone", "exact"),
        Measured("variants.*.median_gap"),
        Measured("behind_best.*"),
    ),
    "figure8_tcvae_dsprites": (
        Measured("seeds.rate_ratio.*", "log", _SPAN),
        Measured("seeds.rate_coverage.*", "linear", 0.01),
        Measured("seeds.*mig_spread.*", "linear", 0.01),
        Measured("seeds.best_mig_ratio.*", "linear", 0.02),
        Measured("mig.mrvae.mig", "linear", 0.01),
        Measured("mig.beta_tcvae.mig", "linear", 0.01),
        Measured("overhead.parameter_ratio", "exact"),
    ),
    "figure5_other_families": (
        *_response("response.*"),
        Measured("best_test_elbo.*.*", "log", 0.01),
        Measured("table1_parameters.*", "exact"),
    ),
}


#: Figures a notebook writes that no regression check covers, and why.
UNCHECKED: dict[str, str] = {
    "figure7_samples": "its metrics are the settings it shows (the β values, samples per row), not results",
}


def flat_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``metrics`` as ``{dotted path: value}``.

    A list of numbers becomes its mean (a curve over β is checked through its level); a
    list of records (``[{"epochs": 10, ...}, ...]``) is indexed by position; a summary over
    seeds (:class:`~mrvae_companion.seeds.SeedSummary` JSON) becomes its ``median``, ``low`` and
    ``high``, the numbers a verdict decides on.
    """
    flat: dict[str, Any] = {}
    for key, value in metrics.items():
        path = f"{prefix}{key}"
        if SeedSummary.is_summary(value):
            summary = SeedSummary.from_json(value)
            flat.update({f"{path}.median": summary.median, f"{path}.low": summary.low, f"{path}.high": summary.high})
        elif isinstance(value, Mapping):
            flat.update(flat_metrics(value, path + "."))
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for index, item in enumerate(value):
                flat.update(flat_metrics(item, f"{path}.{index}."))
        elif isinstance(value, list):
            numbers = list(_numbers(value))
            if numbers:
                flat[path] = statistics.fmean(numbers)
        elif value is not None:  # None: not produced in this run (a panel whose data is missing)
            flat[path] = value
    return flat


def _numbers(values: Iterable[Any]) -> Iterable[float]:
    for value in values:
        if isinstance(value, list):
            yield from _numbers(value)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            yield float(value)


def checked_values(figure: str, metrics: Mapping[str, Any]) -> dict[str, Any]:
    """The values of ``metrics`` (a figure JSON's ``metrics``) that :data:`CHECKS` covers."""
    if figure not in CHECKS:
        raise KeyError(f"no regression checks are defined for figure {figure!r}; "
                       "add it to mrvae_companion.checks.CHECKS")
    flat = flat_metrics(metrics)
    return {path: value for path, value in flat.items() if _check_for(figure, path) is not None}


def _check_for(figure: str, path: str) -> Check | None:
    return next((check for check in CHECKS[figure] if fnmatch.fnmatchcase(path, check.pattern)), None)


@dataclass(frozen=True)
class Band:
    """What a metric must be: inside ``[low, high]``, or equal to ``value`` (exact), or nothing
    (``unsettled``: the measured runs disagree on an exact value)."""

    low: float | None = None
    high: float | None = None
    value: Any = None
    unsettled: bool = False
    runs: int = 0

    def holds(self, value: Any) -> bool:
        if self.unsettled:
            return True
        if self.low is None and self.high is None:
            return value == self.value
        if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
            return False
        return (self.low is None or value >= self.low) and (self.high is None or value <= self.high)

    def describe(self) -> str:
        if self.unsettled:
            return "unsettled"
        if self.low is None and self.high is None:
            return f"= {self.value!r}"
        low = "-inf" if self.low is None else f"{self.low:.4g}"
        high = "inf" if self.high is None else f"{self.high:.4g}"
        return f"[{low}, {high}]"


def band_for(check: Check, measured: Sequence[Any]) -> Band:
    """The band of one metric from its values in the measured runs (see the module docstring)."""
    if isinstance(check, Claim):
        return Band(low=check.at_least, high=check.at_most)
    if len(measured) < 2:
        raise ValueError(f"metric {check.pattern!r} was measured in {len(measured)} run(s); a band needs at least "
                         f"2 kernel paths (make kernel-spread)")
    if check.scale == "exact":
        first = measured[0]
        return Band(value=first, runs=len(measured)) if all(v == first for v in measured) else \
            Band(unsettled=True, runs=len(measured))
    values = [float(v) for v in measured]
    if check.scale == "log":
        if min(values) <= 0:
            raise ValueError(f"metric {check.pattern!r} has a non-positive value {min(values)}; use scale='linear'")
        values = [math.log(v) for v in values]
    low, high = min(values), max(values)
    margin = SAFETY * max(high - low, check.floor)
    low, high = low - margin, high + margin
    if check.scale == "log":
        return Band(low=math.exp(low), high=math.exp(high), runs=len(measured))
    return Band(low=low, high=high, runs=len(measured))


#: Set (to a run's label) by a run that measures a kernel path: each check cell first records its
#: figures' checked metrics as that run of ``figures/kernel_spread.json`` (make refresh-references).
RECORD_ENV_VAR = "MRVAE_RECORD_SPREAD"


def spread_path() -> Path:
    return committed_figure_dir() / SPREAD_FILE


def load_spread() -> dict[str, Any]:
    """The committed cross-kernel measurements (``figures/kernel_spread.json``)."""
    path = spread_path()
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist: measure the cross-kernel spread first (make kernel-spread)")
    return json.loads(path.read_text())


def record_run(label: str, figures: Iterable[str], directory: Path | None = None) -> dict[str, Any]:
    """Add these figures' checked metrics (from their JSON in ``directory``) to run ``label`` of
    the spread file, with the CPU, kernel path, torch and commit that produced them."""
    path = spread_path()
    spread = json.loads(path.read_text()) if path.exists() else {"profile": "quick", "runs": []}
    run = next((r for r in spread["runs"] if r["label"] == label), None)
    if run is None:
        run = {"label": label, "values": {}}
        spread["runs"].append(run)
    for figure in figures:
        record = load_figure_data(figure, directory or figure_dir())
        if record["profile"] != spread["profile"]:
            raise ValueError(f"{figure} is a {record['profile']!r}-profile figure; the spread file measures the "
                             f"{spread['profile']!r} profile")
        provenance = record.get("provenance", {})
        run.update({key: provenance.get(key, "not recorded") for key in ("cpu", "cpu_kernels", "torch")})
        run["commit"] = short_commit(provenance.get("git_commit", "unknown"))
        run["values"][figure] = checked_values(figure, record["metrics"])
    path.write_text(json.dumps(spread, indent=1) + "\n")
    return run


def measured_values(spread: Mapping[str, Any], figure: str, path: str) -> list[Any]:
    """The values one metric took in the measured runs that have it."""
    return [run["values"][figure][path] for run in spread["runs"] if path in run["values"].get(figure, {})]


def check_figure(figure: str, *, directory: Path | None = None,
                 spread: Mapping[str, Any] | None = None) -> list[tuple[str, bool, str]]:
    """``(metric, holds, detail)`` for every checked metric of one figure's JSON.

    A checked metric that the measured runs have but this figure lacks fails (a renamed or
    dropped metric must not pass quietly), and so does one that no run measured.
    """
    spread = load_spread() if spread is None else spread
    values = checked_values(figure, load_figure_data(figure, directory or figure_dir())["metrics"])
    expected = {path for run in spread["runs"] for path in run["values"].get(figure, {})}
    results = []
    for path in sorted(values.keys() | expected):
        check = _check_for(figure, path)
        if path not in values:
            results.append((path, False, "missing from the figure's metrics"))
            continue
        measured = measured_values(spread, figure, path)
        if isinstance(check, Measured) and len(measured) < 2:
            results.append((path, False, f"= {values[path]!r}: not measured across kernel paths (make kernel-spread)"))
            continue
        band = band_for(check, measured)  # type: ignore[arg-type]
        detail = "unsettled across kernel paths, not checked" if band.unsettled else \
            f"= {values[path]!r}, outside {band.describe()} ({band.runs} runs measured)"
        results.append((path, band.holds(values[path]), detail))
    return results


def print_checks(*figures: str, directory: Path | None = None) -> bool:
    """Print one line per checked metric (what nbval compares); whether all hold.

    A metric inside its band prints ``ok`` and nothing else, so the line reads the same on every
    CPU; one outside prints its value and its band.
    """
    label = os.environ.get(RECORD_ENV_VAR)
    if label:
        record_run(label, figures, directory)
    spread = load_spread()
    all_hold = True
    for figure in figures:
        profile = load_figure_data(figure, directory or figure_dir())["profile"]
        if profile != spread.get("profile", "quick"):
            print(f"{figure}: not checked: the bands are measured for the {spread.get('profile', 'quick')!r} "
                  f"profile, this run is {profile!r}")
            continue
        for path, holds, detail in check_figure(figure, directory=directory, spread=spread):
            unsettled = detail.startswith("unsettled")
            print(f"{figure}: {path}: {'unsettled' if unsettled else 'ok' if holds else 'FAILED ' + detail}")
            all_hold &= holds
    return all_hold
