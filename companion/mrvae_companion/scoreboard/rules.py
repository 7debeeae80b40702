"""The verdicts and the rules that give them: thresholds, reading figure files, seeds and
budget trends, and the rate–distortion response rule (the package docstring explains each)."""


from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mrvae_companion.checks import load_spread
from mrvae_companion.panel_result import PanelResult
from mrvae_companion.schema import FigureSchemaError, check_schema
from mrvae_companion.scoreboard.format import _paper_order, fmt_number, fmt_percent, fmt_span, panel_name
from mrvae_companion.seeds import BudgetTrend, Rule, SeedSummary, summarize

Verdict = Literal["reproduced", "partly", "not at this budget", "missed", "differs", "pipeline check", "not run"]
#: Every verdict a row can have, best first.
VERDICTS: tuple[Verdict, ...] = ("reproduced", "partly", "not at this budget", "missed", "differs", "pipeline check",
                                 "not run")
#: Verdicts that grade no claim: the bottom line counts the others.
UNGRADED: frozenset[str] = frozenset({"pipeline check", "not run"})
#: Seeds an empirical verdict needs before it can read *reproduced*: with 3 seeds their range
#: covers the median of the run-to-run distribution with probability 75%
#: (:func:`mrvae_companion.seeds.order_statistic_coverage`); one seed covers nothing.
MIN_SEEDS = 3

#: Smallest rate span R(a)/R(b) that counts as a learned β response. The paper's range
#: [0.01, 10] is a factor 1000 in β; a model that ignores β has a span near 1, and the
#: β-VAE sweeps of the quick profile span well over 10. One order of magnitude separates
#: the two without asking a short run for the paper's full span.
MIN_RATE_SPAN = 10.0
#: Largest median relative gap in D + βR to the β-VAEs that is still "competitive". The
#: paper's own curves differ by a few percent; so do our constant and annealed sweeps.
MAX_MEDIAN_GAP = 0.05
#: Smallest rate coverage (the MR-VAE's rate at the smallest β over the β-VAE's) for a
#: small gap to count. At small β the loss hardly depends on the rate, so an MR-VAE that
#: never reaches the high-rate end can show a tiny gap there; half the β-VAE's rate is the
#: least that still draws the same curve.
MIN_RATE_COVERAGE = 0.5
#: Largest error that counts as "exact" in a closed-form check: float64 round-off is about
#: 1e-15, and any representational error the checks find is above 1e-3.
EXACT_TOLERANCE = 1e-9
#: Figure 9: how far (in relative gap, i.e. percentage points / 100) the paper's default may
#: be behind the best variant of its panel and still count as "not significantly" worse;
#: about the spread between our constant and annealed β-VAE sweeps of one panel.
ABLATION_TOLERANCE = 0.02
#: Figure 8: the MR-VAE's best MIG counts as "competitive" with at least this fraction of
#: the best β-TCVAE run's.
COMPETITIVE_FRACTION = 0.9
#: The overhead claim's bound: "at most 5% increase in parameters and wall-clock time".
MAX_OVERHEAD_RATIO = 1.05
#: Profiles that run the paper's budget: a claim that fails there *differs*.
FULL_BUDGET_PROFILES: frozenset[str] = frozenset({"paper"})
#: Figure files written by scripts rather than chapters: the chapter that shows them.
SCRIPT_CHAPTERS: Mapping[str, str] = {
    "scripts/benchmark_overhead.py": "09_cost_of_an_mr_vae",
    "scripts/run_authors_demo.py": "04_figure5_rate_distortion",
    "scripts/run_cpu_profile.py": "04_figure5_rate_distortion",
    "scripts/run_gap_study.py": "03_learning_the_beta_response",
    "scripts/run_learning_study.py": "03_learning_the_beta_response",
    "scripts/run_rgb_budget.py": "04_figure5_rate_distortion",
}


@dataclass(frozen=True)
class Claim:
    """One row of the scoreboard.

    Attributes:
        claim: the short name of the claim ("Figure 5, ResNet").
        paper: what the paper says, in short.
        measured: what we measured, as text; every number in it is read from ``sources``.
        profile: the run profile of the figure file (``quick``, ``cpu``, ``benchmark``...).
        verdict: one of :data:`VERDICTS`.
        chapter: the notebook name of the chapter that shows the evidence, or None.
        sources: the figure files (names in the figure directory) the row was read from.
        anchor: the label of the figure with the evidence (a ``{ref}`` target), or None.
    """

    claim: str
    paper: str
    measured: str
    profile: str
    verdict: Verdict
    chapter: str | None = None
    sources: tuple[str, ...] = ()
    anchor: str | None = None


class NotRun(Exception):
    """What a row needs was not produced: its figure file is missing, or the figure has no panel
    of the kind the row judges (a dataset not available offline). The message says which. A file
    that exists but lacks a field, or has one of another shape, is a
    :class:`~mrvae_companion.figures.FigureSchemaError` instead, and fails the build."""



# ----------------------------------------------------------------------------- reading

def _get(record: Mapping[str, Any], *path: str) -> Any:
    """``record[path[0]][path[1]]...``, raising :class:`FigureSchemaError` naming the missing key
    (and the file, for a record from :func:`load_figure`)."""
    node: Any = record
    for key in path:
        if not isinstance(node, Mapping) or key not in node:
            where = f"figures/{record['_name']}.json" if "_name" in record else "a figure record"
            raise FigureSchemaError(f"{where} has no {'.'.join(path)}")
        node = node[key]
    return node


def load_figure(figure_dir: Path, name: str) -> dict[str, Any]:
    """``figure_dir/<name>.json`` with its name under ``_name``; :class:`NotRun` if the file is
    missing, :class:`FigureSchemaError` if it is unreadable, of another schema or has no metrics."""
    path = Path(figure_dir) / f"{name}.json"
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise NotRun(f"no figures/{name}.json") from None
    except (OSError, ValueError) as error:
        raise FigureSchemaError(f"figures/{name}.json is unreadable: {error}") from None
    if not isinstance(record, dict) or not isinstance(record.get("metrics"), Mapping):
        raise FigureSchemaError(f"figures/{name}.json has no metrics")
    check_schema(record, f"figures/{name}.json")
    return {**record, "_name": name}


def pipeline_panels(figure_dir: Path) -> frozenset[str]:
    """The image panels their profile trains only to check the pipeline (``metrics.pipeline_checks``
    of the Figure 5 file; empty where that file or list is absent)."""
    try:
        listed = load_figure(figure_dir, "figure5_rate_distortion")["metrics"].get("pipeline_checks", [])
    except NotRun:
        return frozenset()
    return frozenset(str(tag) for tag in listed) if isinstance(listed, list) else frozenset()


def is_pipeline_panel(tag: str, pipeline: frozenset[str]) -> bool:
    """Whether ``tag`` names the same (dataset, kind) panel as one of ``pipeline``: figures name a
    panel ``cifar10-resnet-w0.125``, ``cifar10-resnet`` or ``cifar10-resnet-FCD``."""
    return tuple(tag.split("-")[:2]) in {tuple(p.split("-")[:2]) for p in pipeline}


def _pipeline_note(tags: Sequence[str]) -> str:
    names = sorted({panel_name(t, with_kind=True) for t in tags})
    return f"; {', '.join(names)}: pipeline check{'s' if len(names) > 1 else ''}, not graded" if names else ""


def chapter_of(record: Mapping[str, Any]) -> str | None:
    """The chapter (notebook name) that shows a figure file: its ``notebook`` field, or for
    files written by a script the chapter of :data:`SCRIPT_CHAPTERS`."""
    notebook = record.get("notebook")
    if not isinstance(notebook, str) or not notebook:
        return None
    if notebook.endswith(".py") or "/" in notebook:
        return SCRIPT_CHAPTERS.get(notebook)
    return notebook


def budget_trend(record: Mapping[str, Any], metric: str) -> BudgetTrend | None:
    """``metrics.budget_trend[metric]`` of ``record`` as a :class:`BudgetTrend`, or None."""
    trends = record.get("metrics", {}).get("budget_trend")
    if not isinstance(trends, Mapping) or metric not in trends:
        return None
    return BudgetTrend.from_json(trends[metric])


def shortfall(record: Mapping[str, Any], metric: str | None = None, rule: Rule | None = None) -> Verdict:
    """The verdict of an empirical claim that misses its rule in ``record``'s run.

    *differs* at the paper's budget; otherwise, where the record has a budget trend of
    ``metric``: *not at this budget* if it moves toward ``rule``, *differs* on a plateau;
    without a trend, *missed*.
    """
    if str(record.get("profile", "?")) in FULL_BUDGET_PROFILES:
        return "differs"
    trend = budget_trend(record, metric) if metric is not None else None
    if trend is None or rule is None:
        return "missed"
    return "differs" if trend.kind(rule) == "plateau" else "not at this budget"


def trend_text(record: Mapping[str, Any], metric: str, rule: Rule, fmt: Callable[[float], str]) -> str:
    """``; x at 30 epochs → y at 100 (plateau)``: the budget trend a miss was judged by, or ``""``."""
    trend = budget_trend(record, metric)
    if trend is None:
        return ""
    steps = " → ".join(f"{fmt(v)} at {b:g}" for b, v in zip(trend.budgets, trend.values, strict=True))
    return f"; by budget: {steps} {trend.unit} ({'plateau' if trend.kind(rule) == 'plateau' else 'improving'})"


def seed_summaries(record: Mapping[str, Any]) -> dict[str, SeedSummary]:
    """``metrics.seeds`` of ``record``: metric name → :class:`SeedSummary` (empty for a one-seed file)."""
    seeds = record.get("metrics", {}).get("seeds")
    if not isinstance(seeds, Mapping):
        return {}
    return {name: SeedSummary.from_json(value) for name, value in seeds.items() if SeedSummary.is_summary(value)}


def seed_count(record: Mapping[str, Any]) -> int:
    """How many seeds ``record``'s verdict metrics were measured on: the fewest of any seed
    summary in its ``metrics`` (1 without one)."""
    counts = [SeedSummary.from_json(value).n for value in _walk(record.get("metrics", {}))
              if SeedSummary.is_summary(value)]
    return min(counts) if counts else 1


def _walk(value: Any) -> Iterator[Any]:
    """``value`` and every mapping nested in it, depth first (a summary's own fields are not entered)."""
    yield value
    if isinstance(value, Mapping) and not SeedSummary.is_summary(value):
        for item in value.values():
            yield from _walk(item)


def settle(verdict: Verdict, seeds: int) -> Verdict:
    """``verdict``, except that *reproduced* needs :data:`MIN_SEEDS` seeds (else *partly*)."""
    return "partly" if verdict == "reproduced" and seeds < MIN_SEEDS else verdict


def fmt_summary(summary: SeedSummary, fmt: Callable[[float], str]) -> str:
    """``+3.2% [+2.4%, +4.3%], 3 seeds``; one seed: ``+3.2% (1 seed)``."""
    if summary.n == 1:
        return f"{fmt(summary.median)} (1 seed)"
    return f"{fmt_interval(summary, fmt)}, {summary.n} seeds"


def fmt_interval(summary: SeedSummary, fmt: Callable[[float], str]) -> str:
    """``+3.2% [+2.4%, +4.3%]``: the median and its interval, for a row that counts its seeds once."""
    return f"{fmt(summary.median)} [{fmt(summary.low)}, {fmt(summary.high)}]"


def kernel_readings(record: Mapping[str, Any], metric: str) -> list[tuple[str, float, float]]:
    """``(kernel path, low, high)``: the seed interval of ``metrics.seeds[metric]`` of this figure
    as each run of the committed cross-kernel measurements recorded it
    (:func:`mrvae_companion.checks.load_spread`: the same profile and seeds on other CPU kernel
    paths). Empty where none was recorded."""
    try:
        spread = load_spread()
    except FileNotFoundError:
        return []
    if spread.get("profile") != record.get("profile"):
        return []
    readings = []
    for run in spread.get("runs", []):
        values = run.get("values", {}).get(record.get("_name"), {})
        low, high = values.get(f"seeds.{metric}.low"), values.get(f"seeds.{metric}.high")
        if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (low, high)):
            readings.append((str(run.get("label")), float(low), float(high)))
    return readings


def judge_on_every_kernel(rule: Rule, summary: SeedSummary, record: Mapping[str, Any], metric: str,
                          fmt: Callable[[float], str]) -> tuple[Literal["met", "straddles", "missed"], str]:
    """``rule.judge(summary)``, settled only if every CPU kernel path recorded for this metric
    (:func:`kernel_readings`) judges its interval the same way. Where one does not, a verdict
    would depend on the machine that built the book, so the judgement is ``straddles`` and the
    text (``"; unsettled across CPU kernel paths: ..."``, else empty) gives every reading."""
    judged = rule.judge(summary)
    readings = kernel_readings(record, metric)
    if all(rule.judge_interval(low, high) == judged for _, low, high in readings):
        return judged, ""
    listed = ", ".join(f"[{fmt(low)}, {fmt(high)}] on the {path} kernels" for path, low, high in readings)
    return "straddles", f"; unsettled across CPU kernel paths: {listed}"


def judge_seeded(summary: SeedSummary, rule: Rule, record: Mapping[str, Any], metric: str) -> Verdict:
    """One metric over seeds against ``rule``: *reproduced* if its whole interval meets the rule
    (with :data:`MIN_SEEDS` seeds), *partly* if the interval straddles it, else :func:`shortfall`;
    *partly* too where another CPU kernel path judges it otherwise (:func:`judge_on_every_kernel`)."""
    judged, _ = judge_on_every_kernel(rule, summary, record, metric, str)
    if judged == "missed":
        return shortfall(record, metric, rule)
    return settle("reproduced", summary.n) if judged == "met" else "partly"


def combine_verdicts(verdicts: Sequence[Verdict]) -> Verdict:
    """One verdict for several panels or sub-claims: theirs if they agree; else *partly* if
    any holds at least partly; else *differs* if any differs; else *not at this budget*."""
    if not verdicts:
        return "not run"
    if len(set(verdicts)) == 1:
        return verdicts[0]
    if any(v in ("reproduced", "partly") for v in verdicts):
        return "partly"
    return "differs" if "differs" in verdicts else "not at this budget"


# ----------------------------------------------------------------------------- response

def panel_results(record: Mapping[str, Any]) -> dict[str, PanelResult]:
    """Every panel of a figure file (``data.panels``: tag → :meth:`PanelResult.to_json`), read
    through :meth:`PanelResult.from_json`: a missing, renamed or inconsistent field fails the build."""
    where = f"figures/{record['_name']}.json" if "_name" in record else "a figure record"
    panels = _get(record, "data", "panels")
    if not isinstance(panels, Mapping) or not panels:
        raise FigureSchemaError(f"{where}: data.panels must map each panel's tag to its record, got {panels!r:.80}")
    return {str(tag): PanelResult.from_json(value, f"{where}: panel {tag}") for tag, value in panels.items()}


def only_panel(record: Mapping[str, Any]) -> PanelResult:
    """The one panel of a single-panel figure file (Figure 1, the ``cpu`` profile's)."""
    panels = panel_results(record)
    if len(panels) != 1:
        raise FigureSchemaError(f"figures/{record.get('_name', '?')}.json holds {len(panels)} panels "
                                f"({sorted(panels)}); a Figure 1 file holds one")
    return next(iter(panels.values()))


SPAN_RULE = Rule(MIN_RATE_SPAN, "at_least")
GAP_RULE = Rule(MAX_MEDIAN_GAP, "at_most")
COVERAGE_RULE = Rule(MIN_RATE_COVERAGE, "at_least")


def _fmt_coverage(value: float) -> str:
    return fmt_number(value, 2)


def judge_response(panel: PanelResult, record: Mapping[str, Any],
                   seeds: Mapping[str, SeedSummary] | None = None) -> tuple[Verdict, str]:
    """The verdict and the text of one rate–distortion panel (rule in the module docstring).

    ``panel`` is the panel as measured at one seed (:func:`panel_results`); ``record`` the
    figure file (its profile and budget trends). ``seeds``, where the panel was run on several
    seeds, maps ``rate_ratio``, ``median_gap`` (the worse sweep's) and ``rate_coverage`` to
    their :class:`SeedSummary`: the verdict is then decided on their intervals.
    """
    metrics = panel.response
    if not metrics.finite:
        raise NotRun("a non-finite rate span or gap (the run diverged)")
    span, monotone, gaps = metrics.rate_ratio, metrics.monotone, metrics.median_gap
    gap = max(gaps.values())
    coverage = min(metrics.rate_coverage.values())
    baselines_monotone = all(metrics.beta_vae_monotone.values())
    worse_over_seeds = (seeds or {}).get("worse_at")
    seeds = {k: v for k, v in (seeds or {}).items() if k in ("rate_ratio", "median_gap", "rate_coverage")}
    if seeds and len(seeds) < 3:
        raise FigureSchemaError(f"seed summaries of {sorted(seeds)} only; need rate_ratio, median_gap and "
                                "rate_coverage")
    if not seeds:  # one run: each metric its own one-seed summary
        seeds = {"rate_ratio": summarize([span]), "median_gap": summarize([gap]),
                 "rate_coverage": summarize([coverage])}

    # A panel without a KL-annealed sweep (the quick profile's other panels, an NVAE) says so.
    against = "" if len(gaps) > 1 else f" ({next(iter(gaps))} β only)"
    one_seed = all(s.n == 1 for s in seeds.values())
    plain = (lambda s, fmt: fmt(s.median)) if one_seed else fmt_summary
    parts = [f"span {plain(seeds['rate_ratio'], fmt_span)}",
             f"median gap {plain(seeds['median_gap'], fmt_percent)}{against}"]
    parts.append(f"coverage {plain(seeds['rate_coverage'], _fmt_coverage)}")
    worse = panel.worse_at()
    seed_betas = record.get("metrics", {}).get("seed_betas")
    if worse_over_seeds is not None and worse_over_seeds.n > 1 and not one_seed and isinstance(seed_betas, list):
        parts.append(f"MR-VAE worse at {worse_over_seeds.median:.0f} of {len(seed_betas)} β (median of "
                     f"{worse_over_seeds.n} seeds, range {worse_over_seeds.low:.0f}–{worse_over_seeds.high:.0f})")
    else:
        parts.append(f"MR-VAE worse at {worse[0]} of {worse[1]} β")
    if not monotone:
        parts.append("rate not monotone in β")
    if not baselines_monotone:
        parts.append("a β-VAE sweep not monotone")
    if one_seed:
        parts.append("1 seed")
    text = ", ".join(parts)

    span_judged = SPAN_RULE.judge(seeds["rate_ratio"])
    if not monotone or span_judged == "missed":
        return shortfall(record, "rate_ratio", SPAN_RULE), text + trend_text(record, "rate_ratio", SPAN_RULE, fmt_span)
    judged = [span_judged, GAP_RULE.judge(seeds["median_gap"])]
    judged.append(COVERAGE_RULE.judge(seeds["rate_coverage"]))
    if all(j == "met" for j in judged) and baselines_monotone:
        return settle("reproduced", min(s.n for s in seeds.values())), text
    return "partly", text


def _panels(record: Mapping[str, Any], kind: str) -> list[tuple[str, Verdict, str]]:
    """``(tag, verdict, text)`` of every panel of ``record`` whose tag names ``kind``."""
    panels = panel_results(record)
    out = []
    for tag in sorted(panels, key=_paper_order):
        if tag.split("-")[1:2] != [kind]:
            continue
        try:
            verdict, text = judge_response(panels[tag], record)
        except NotRun as missing:
            verdict, text = "not run", f"not run ({missing})"
        out.append((tag, verdict, text))
    return out


# ----------------------------------------------------------------------------- shared by the rows


def _worst(verdicts: Sequence[Verdict]) -> Verdict:
    """The least favourable of several sub-rules that must all hold."""
    return max(verdicts, key=VERDICTS.index)


def _summaries(record: Mapping[str, Any], *path: str) -> dict[str, SeedSummary]:
    """The :class:`SeedSummary` records under ``metrics.<path>``, by name; ``NotRun`` if any is not one."""
    values = _get(record, "metrics", *path)
    where = f"figures/{record.get('_name', '?')}.json"
    if not isinstance(values, Mapping) or not values:
        raise FigureSchemaError(f"{where}: metrics.{'.'.join(path)} is empty or not a mapping")
    bad = [name for name, value in values.items() if not SeedSummary.is_summary(value)]
    if bad:
        raise FigureSchemaError(f"{where}: metrics.{'.'.join(path)} has values that are not seed summaries: {bad}")
    return {name: SeedSummary.from_json(value) for name, value in values.items()}


def _judge_parts(judged: Sequence[str], record: Mapping[str, Any], seeds: int) -> Verdict:
    """Several parts of one claim, each judged over its interval (``met``, ``straddles``,
    ``missed``): *reproduced* if every part is met (with :data:`MIN_SEEDS` seeds), *partly* if
    any is met or straddles, else :func:`shortfall`."""
    if all(j == "met" for j in judged):
        return settle("reproduced", seeds)
    if any(j in ("met", "straddles") for j in judged):
        return "partly"
    return shortfall(record)
