"""The claims scoreboard: its verdict rules on synthetic figure files (a sanity band), its
behaviour when files or metrics are missing, and the committed figures/ run end to end."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
from conftest import seed_summaries_json as _seeds  # tests/ is on sys.path (rootdir conftest)
from conftest import synthetic_panel as _panel

from mrvae_companion import scoreboard as sb
from mrvae_companion.schema import FIGURE_SCHEMA, FigureSchemaError
from mrvae_companion.seeds import BudgetTrend, summarize

REPO_ROOT = Path(__file__).resolve().parents[2]
COMMITTED_FIGURES = REPO_ROOT / "figures"


def _write(directory: Path, name: str, metrics: dict[str, Any], *, data: dict[str, Any] | None = None,
           profile: str = "quick", notebook: str = "04_figure5_rate_distortion",
           panels: dict[str, dict[str, Any]] | None = None) -> None:
    """A figure file; ``panels`` (tag → :func:`_panel`) go to ``data.panels``, their responses to
    ``metrics.response`` (one panel: the response itself, as Figure 1's file has it)."""
    if panels is not None:
        data = {**(data or {}), "panels": panels}
        responses = {tag: panel["response"] for tag, panel in panels.items()}
        metrics = {"response": next(iter(responses.values())) if name.startswith(("figure1", "cpu_")) else responses,
                   **metrics}
    record = {"schema": FIGURE_SCHEMA, "figure": name, "notebook": notebook, "profile": profile, "data": data or {},
              "metrics": metrics, "provenance": {}}
    (directory / f"{name}.json").write_text(json.dumps(record))


HEADLINE = "binary_mnist-resnet-w0.25"


@pytest.fixture(autouse=True)
def _no_kernel_readings(kernel_spread: dict[str, Any]) -> dict[str, Any]:
    return kernel_spread


def _row(rows: list[sb.Claim], claim: str) -> sb.Claim:
    return next(row for row in rows if row.claim == claim)


def _figure1(tmp_path: Path, profile: str = "quick", **panel: Any) -> sb.Claim:
    _write(tmp_path, "figure1_resnet_binary_mnist", {}, profile=profile, panels={HEADLINE: _panel(**panel)})
    return _row(sb.scoreboard(tmp_path), "Figure 1")


def test_a_perfect_panel_is_reproduced_only_over_three_seeds(tmp_path: Path) -> None:
    row = _figure1(tmp_path)
    assert row.verdict == "partly"  # one seed: a rerun could flip it
    assert row.measured == "span 100×, median gap +1.0%, coverage 0.90, MR-VAE worse at 4 of 4 β, 1 seed"
    assert (row.profile, row.chapter, row.anchor) == ("quick", "04_figure5_rate_distortion", "fig-figure1-resnet")
    seeds = _seeds(rate_ratio=[90.0, 100.0, 120.0], median_gap=[0.01, 0.02, 0.03], rate_coverage=[0.8, 0.9, 0.95])
    _write(tmp_path, "figure1_resnet_binary_mnist", {"seeds": seeds}, panels={HEADLINE: _panel()})
    row = _row(sb.scoreboard(tmp_path), "Figure 1")
    assert row.verdict == "reproduced"
    assert row.measured == ("span 100× [90×, 120×], 3 seeds, median gap +2.0% [+1.0%, +3.0%], 3 seeds, "
                            "coverage 0.90 [0.80, 0.95], 3 seeds, MR-VAE worse at 4 of 4 β")
    # the count of β at which the MR-VAE is worse, over the seeds and the β they all compared at
    seeds["worse_at"] = summarize([2.0, 3.0, 3.0]).to_json()
    _write(tmp_path, "figure1_resnet_binary_mnist", {"seeds": seeds, "seed_betas": [0.01, 1.0, 5.0]},
           panels={HEADLINE: _panel(gaps=(0.1, 0.1, -0.1, 0.1))})
    measured = _row(sb.scoreboard(tmp_path), "Figure 1").measured
    assert "MR-VAE worse at 3 of 3 β (median of 3 seeds, range 2–3)" in measured


def test_an_interval_that_straddles_a_rule_is_partly(tmp_path: Path) -> None:
    seeds = _seeds(rate_ratio=[90.0, 100.0, 120.0], median_gap=[0.01, 0.04, 0.06], rate_coverage=[0.8, 0.9, 0.95])
    _write(tmp_path, "figure1_resnet_binary_mnist", {"seeds": seeds}, panels={HEADLINE: _panel()})
    assert _row(sb.scoreboard(tmp_path), "Figure 1").verdict == "partly"
    # a span whose whole interval misses is no response, whatever the gap
    seeds = _seeds(rate_ratio=[2.0, 3.0, 9.9], median_gap=[0.0, 0.0, 0.0], rate_coverage=[0.8, 0.9, 0.95])
    _write(tmp_path, "figure1_resnet_binary_mnist", {"seeds": seeds}, panels={HEADLINE: _panel()})
    assert _row(sb.scoreboard(tmp_path), "Figure 1").verdict == "missed"


def test_a_panel_without_an_annealed_sweep_is_judged_on_the_constant_one_and_says_so(tmp_path: Path) -> None:
    row = _figure1(tmp_path, gap=0.2, annealed=False)
    assert row.verdict == "partly"
    assert row.measured == ("span 100×, median gap +20% (constant β only), coverage 0.90, MR-VAE worse at 4 of 4 β, "
                            "1 seed")


def test_a_flat_mr_vae_has_no_response(tmp_path: Path) -> None:
    # without a budget trend a miss cannot blame the budget
    assert _figure1(tmp_path, span=1.05, gap=0.0).verdict == "missed"
    # ... a monotone span of 10× or more is required, and a non-monotone curve is no response
    assert _figure1(tmp_path, span=9.9).verdict == "missed"
    assert _figure1(tmp_path, monotone=False).verdict == "missed"
    # at the paper's budget the same numbers differ from the paper
    assert _figure1(tmp_path, profile="paper", span=1.05).verdict == "differs"


@pytest.mark.parametrize(("spans", "verdict", "word"), [
    ([2.0, 6.0], "not at this budget", "improving"),  # closes half the distance to 10×
    ([2.0, 2.2], "differs", "plateau"),  # closes 2.5%: a plateau is not a budget shortfall
    ([2.0, 12.0], "not at this budget", "improving"),  # the larger budget meets the rule
])
def test_a_miss_is_judged_by_its_budget_trend(tmp_path: Path, spans: list[float], verdict: str, word: str) -> None:
    trend = BudgetTrend((1.0, 2.0), tuple(spans), "× epochs").to_json()
    _write(tmp_path, "figure1_resnet_binary_mnist", {"budget_trend": {"rate_ratio": trend}},
           panels={HEADLINE: _panel(span=1.5)})
    row = _row(sb.scoreboard(tmp_path), "Figure 1")
    assert row.verdict == verdict
    assert f"by budget: {sb.fmt_span(spans[0])} at 1 → {sb.fmt_span(spans[1])} at 2 × epochs ({word})" in row.measured


def test_a_response_with_large_gaps_is_partly(tmp_path: Path) -> None:
    row = _figure1(tmp_path, span=50.0, gap=0.2)
    assert row.verdict == "partly"
    assert "median gap +20%" in row.measured


def test_a_small_gap_without_coverage_or_against_a_broken_sweep_is_partly(tmp_path: Path) -> None:
    assert _figure1(tmp_path, coverage=0.06).verdict == "partly"
    assert _figure1(tmp_path, baselines_monotone=False).verdict == "partly"


def test_a_panel_file_in_an_older_layout_fails_the_build(tmp_path: Path) -> None:
    """Panels are read from data.panels only: an older file's per-β rows are not a quiet fallback."""
    rows = [{"beta": 0.1, "mr_rate": 10.0, "rate": 10.0}, {"beta": 0.01, "mr_rate": 60.0, "rate": 80.0}]
    _write(tmp_path, "figure1_resnet_binary_mnist", {"response": _panel()["response"]},
           data={"per_beta_constant": rows})
    with pytest.raises(FigureSchemaError, match=re.escape("figure1_resnet_binary_mnist.json has no data.panels")):
        sb.scoreboard(tmp_path)


def test_a_family_row_combines_its_panels(tmp_path: Path) -> None:
    panels = {"binary_mnist-resnet-w0.25": _panel(), "cifar10-resnet-w0.125": _panel(span=2.0),
              "binary_mnist-conv-w0.125": _panel()}
    _write(tmp_path, "figure5_rate_distortion", {"not_run": {"svhn": "no file"}}, panels=panels)
    rows = sb.scoreboard(tmp_path)
    resnet, conv = _row(rows, "Figure 5, ResNet"), _row(rows, "Figure 5, conv")
    assert resnet.verdict == "partly"
    assert resnet.measured.startswith("binary MNIST (partly): span 100×")  # one seed per panel
    assert "CIFAR-10 (missed): span 2.0×" in resnet.measured
    assert resnet.measured.endswith("SVHN not run; 1 seed")
    assert conv.verdict == "partly"
    assert _row(rows, "Figure 5, LSTM text").verdict == "not run"


def test_combine_verdicts() -> None:
    assert sb.combine_verdicts([]) == "not run"
    assert sb.combine_verdicts(["reproduced", "reproduced"]) == "reproduced"
    assert sb.combine_verdicts(["reproduced", "not at this budget"]) == "partly"
    assert sb.combine_verdicts(["not at this budget", "differs"]) == "differs"


def test_theorem_and_overhead_rules(tmp_path: Path) -> None:
    errors = {"exact": {"D": 1e-15, "E": 1e-15, "C": 0.08}, "paper_gates": {"D": 1e-15, "E": 0.02, "C": 0.08}}
    _write(tmp_path, "theorem1_linear_response", {"max_abs_error": errors}, notebook="01_linear_vae_theory")
    exact = {k: {"D": 1e-15, "E": 1e-15, "C": 1e-15} for k in ("exact", "paper_gates")}
    networks = {"conv28-full": {"param_ratio": 1.001, "cpu_step_time_ratio": 1.2},
                "conv28-quick": {"param_ratio": 1.2, "cpu_step_time_ratio": 3.0}}  # not a full-width network
    _write(tmp_path, "overhead", networks, notebook="scripts/benchmark_overhead.py", profile="benchmark")
    rows = sb.scoreboard(tmp_path)
    assert _row(rows, "Theorem 1").verdict == "differs"
    overhead = _row(rows, "Overhead (App. C)")
    assert (overhead.verdict, overhead.chapter) == ("partly", "09_cost_of_an_mr_vae")
    assert "parameters ×1.001" in overhead.measured and "step time ×1.200" in overhead.measured
    _write(tmp_path, "theorem1_linear_response", {"max_abs_error": exact}, notebook="01_linear_vae_theory")
    assert _row(sb.scoreboard(tmp_path), "Theorem 1").verdict == "reproduced"
    # a median under the bound whose interval contains it: met by this run, and the text says how narrowly
    networks = {"conv28-full": {"param_ratio": 1.001, "cpu_step_time_ratio": 1.01,
                                "cpu_step_time_ratio_interval": [0.99, 1.03]},
                "resnet28-full": {"param_ratio": 1.002, "cpu_step_time_ratio": 1.047,
                                  "cpu_step_time_ratio_interval": [1.035, 1.064]}}
    _write(tmp_path, "overhead", networks, notebook="scripts/benchmark_overhead.py", profile="benchmark")
    overhead = _row(sb.scoreboard(tmp_path), "Overhead (App. C)")
    assert overhead.verdict == "partly"  # an interval contains the bound, and a CPU is not the paper's GPU
    assert "step time ×1.047 [1.035–1.064] (resnet28, CPU)" in overhead.measured
    assert "contains 1.05 for resnet28; measured on a CPU only" in overhead.measured
    gpu = {k: {"param_ratio": v["param_ratio"], "gpu_step_time_ratio": 1.01,
               "gpu_step_time_ratio_interval": [1.0, 1.02]} for k, v in networks.items()}
    _write(tmp_path, "overhead", gpu, notebook="scripts/benchmark_overhead.py", profile="benchmark")
    assert _row(sb.scoreboard(tmp_path), "Overhead (App. C)").verdict == "reproduced"


def test_markdown_table_links_each_claim_to_its_figure_and_opens_with_the_bottom_line() -> None:
    rows = [sb.Claim("Figure 1", "a | b", "span 10×", "quick", "reproduced", "04_figure5_rate_distortion",
                     anchor="fig-figure1-resnet"),
            sb.Claim("Figure 5", "x", "span 10×", "quick", "partly", "04_figure5_rate_distortion"),
            sb.Claim("Figure 8", "E* and C*", "not run (no file)", "—", "not run")]
    text = sb.scoreboard_markdown(rows)
    lines = text.splitlines()
    assert lines[2].startswith("**Bottom line.** Of the paper's 2 claims graded here: 1 *reproduced*, 1 *partly* "
                               "(1 *not run*: *Figure 8*, not counted).")
    assert lines.index(lines[2]) < lines.index("| Claim | Paper says | We measured | Profile | Verdict |")
    assert "| {ref}`Figure 1 <fig-figure1-resnet>` | a \\| b | span 10× | quick | **reproduced** |" in lines
    assert "| [Figure 5](executed/04_figure5_rate_distortion) | x | span 10× | quick | **partly** |" in lines
    assert "| Figure 8 | E\\* and C\\* | not run (no file) | — | **not run** |" in lines


def test_every_anchor_is_a_figure_label_of_the_chapter_that_shows_it() -> None:
    sources = {path.stem: path.read_text() for path in (REPO_ROOT / "notebooks").glob("*.py")}
    rows = {row.claim: row for row in sb.scoreboard(COMMITTED_FIGURES)}
    for spec in sb.CLAIMS:
        assert spec.anchor is not None, spec.claim
        chapter = rows[spec.claim].chapter
        assert chapter is not None, f"{spec.claim}: its figure names no chapter (scripts: SCRIPT_CHAPTERS)"
        assert f":name: {spec.anchor}\n" in sources[chapter], (spec.claim, spec.anchor, chapter)


def test_the_bottom_line_names_the_seeded_rows_without_splitting_names_at_their_commas() -> None:
    rows = [sb.Claim("Theorem 1, learned", "x", "gap +64% [+63%, +64%], 3 seeds", "quick", "differs", "c"),
            sb.Claim("Train once", "x", "gap −6.8% [−7.9%, −4.5%], 3 seeds", "quick", "reproduced", "c"),
            sb.Claim("Figure 1", "x", "span 18×; 1 seed", "quick", "partly", "c")]
    assert "Verdicts on *Theorem 1, learned* and *Train once* rest on several seeds" in sb.bottom_line(rows)


def test_the_rules_page_gives_every_verdict_and_the_module_thresholds() -> None:
    text = sb.rules_markdown()
    for verdict in sb.VERDICTS:
        assert f"| **{verdict}** |" in text
    assert f"at least {sb.MIN_RATE_SPAN:g}×" in text and f"at most {100 * sb.MAX_MEDIAN_GAP:g}%" in text
    assert f"{sb.MIN_SEEDS} seeds or more" in text and "75%" in text


def test_the_build_script_writes_the_include(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("build_scoreboard", REPO_ROOT / "scripts" / "build_scoreboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = tmp_path / "_generated" / "scoreboard.md"
    assert module.main(["--figures", str(tmp_path / "none"), "--out", str(out)]) == 0
    assert out.read_text().count("| **not run** |") == len(sb.CLAIMS)
    assert (out.parent / "rules.md").read_text() == sb.rules_markdown()


# ----------------------------------------------------------------------------- committed figures

NUMBER = re.compile(r"(?<![\w.,])([+\-−]?)(\d[\d,]*(?:\.\d+)?)(e[+\-]\d+)?(%|×| pt)?")


def _values(node: Any) -> list[float]:
    """Every number in a figure file, and the one quantity the scoreboard derives from its
    rows (the rate coverage, mr_rate / rate, for files written before it was recorded)."""
    if isinstance(node, bool):
        return []
    if isinstance(node, (int, float)):
        return [float(node)]
    if isinstance(node, dict):
        out = [v for child in node.values() for v in _values(child)]
        if isinstance(node.get("mr_rate"), (int, float)) and isinstance(node.get("rate"), (int, float)):
            out.append(node["mr_rate"] / max(node["rate"], 1e-12))
        return out
    if isinstance(node, list):
        return [v for child in node for v in _values(child)]
    return []


def _appears(sign: str, digits: str, exponent: str, suffix: str, values: list[float]) -> bool:
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    wanted = digits.replace(",", "") + exponent
    negative = sign in ("-", "−")
    for value in values:
        scaled = 100 * value if suffix in ("%", " pt") else value  # percent, or percentage points
        text = f"{abs(scaled):.{decimals}e}" if exponent else f"{abs(scaled):.{decimals}f}"
        if text == wanted and (not sign or negative == (scaled < 0)):
            return True
    return False


@pytest.mark.skipif(not COMMITTED_FIGURES.is_dir(), reason="no figures/ directory")
def test_the_committed_figures_give_a_verdict_and_only_their_own_numbers() -> None:
    rows = sb.scoreboard(COMMITTED_FIGURES)
    assert [row.claim for row in rows] == [spec.claim for spec in sb.CLAIMS]
    for row in rows:
        assert row.verdict in sb.VERDICTS, row
        if row.verdict == "not run":
            continue
        records = [json.loads((COMMITTED_FIGURES / f"{name}.json").read_text()) for name in row.sources]
        values = [v for record in records for v in _values(record)]
        for match in NUMBER.finditer(row.measured):
            sign, digits, exponent, suffix = (g or "" for g in match.groups())
            if not suffix and not exponent and "." not in digits:
                continue  # a count ("5 of 7 panels"), an epoch or a network's name
            assert _appears(sign, digits, exponent, suffix, values), \
                f"{match.group(0)!r} of {row.claim}: {row.measured}"
    spans = [float(m) for row in rows for m in re.findall(r"span ([\d.]+)×", row.measured.replace(",", ""))]
    assert spans, "no rate span printed"
    assert (COMMITTED_FIGURES / "figure1_resnet_binary_mnist.json").exists()
    figure1 = json.loads((COMMITTED_FIGURES / "figure1_resnet_binary_mnist.json").read_text())
    assert f"span {round(figure1['metrics']['response']['rate_ratio'])}×" in _row(rows, "Figure 1").measured


def test_figure_6_rules_compare_with_every_sweep_trained_and_count_panels_with_one(tmp_path: Path) -> None:
    betas = [0.01, 1.0, 10.0]
    both = {"betas": betas, "mrvae_at_betas": [8, 6, 5], "constant": [8, 5, 2], "annealed": [8, 6, 4]}
    constant_only = {"betas": betas, "mrvae_at_betas": [8, 6, 1], "constant": [8, 5, 2]}
    frechet = {"grid": betas, "betas": betas, "mrvae": [10.0, 12.0, 20.0], "constant": [11.0, 12.0, 15.0]}
    _write(tmp_path, "figure6_active_units_fcd",
           {"active_units": {"a-resnet": both, "b-conv": constant_only},
            "frechet_distance": {"a-resnet-FCD": {**frechet, "annealed": [9.0, 12.0, 15.0]},
                                 "b-conv-FCD": frechet}},
           notebook="06_figures6_7_active_units_samples")
    rows = sb.scoreboard(tmp_path)
    units = _row(rows, "Figure 6, active units")
    assert units.verdict == "partly"  # held where both sweeps lose units, not where the MR-VAE does
    assert "on 1 of 2 panels" in units.measured and "1 of them against one β-VAE sweep only" in units.measured
    quality = _row(rows, "Figure 6, FID")
    assert quality.verdict == "partly"  # the annealed sweep beats the MR-VAE on the panel that has it
    assert "on 1 of 2 panels" in quality.measured and "1 of them against one β-VAE sweep only" in quality.measured


def test_figure_6_rules_read_a_sweep_trained_at_fewer_beta_at_the_panels_ends(tmp_path: Path) -> None:
    """An annealed sweep at the decades only lists its own β: the rules compare at the same β, and a
    sweep with no β-VAE at that β is left out of the comparison."""
    betas = [0.01, 0.1, 1.0, 10.0]
    units = {"betas": betas, "mrvae_at_betas": [8, 7, 6, 5], "constant": [8, 7, 5, 4],
             "annealed": [8, 9], "annealed_betas": [0.1, 10.0]}  # 9 at β = 10 beats the MR-VAE's 5
    frechet = {"grid": betas, "betas": betas, "mrvae": [10.0, 11.0, 12.0, 13.0], "constant": [11.0, 11.0, 12.0, 14.0],
               "annealed": [1.0], "annealed_betas": [10.0]}  # no annealed β-VAE at β = 0.01: not compared there
    _write(tmp_path, "figure6_active_units_fcd",
           {"active_units": {"a-resnet": units}, "frechet_distance": {"a-resnet-FCD": frechet}},
           notebook="06_figures6_7_active_units_samples")
    rows = sb.scoreboard(tmp_path)
    assert "on 0 of 1 panels" in _row(rows, "Figure 6, active units").measured
    quality = _row(rows, "Figure 6, FID")
    assert "on 1 of 1 panels" in quality.measured and "1 of them against one β-VAE sweep only" in quality.measured
    misaligned = {**units, "annealed_betas": [10.0]}  # two values for one β: a broken record, not a verdict
    _write(tmp_path, "figure6_active_units_fcd", {"active_units": {"a-resnet": misaligned},
                                                  "frechet_distance": {"a-resnet-FCD": frechet}},
           notebook="06_figures6_7_active_units_samples")
    with pytest.raises(FigureSchemaError, match=r"Figure 6, active units .*ValueError"):
        sb.scoreboard(tmp_path)


def test_theorem1_learned_takes_the_worse_of_its_gap_and_its_latents(tmp_path: Path) -> None:
    def write(gaps: list[float], active: list[float], trend: dict[str, Any]) -> sb.Claim:
        _write(tmp_path, "theorem1_training", {"latent_dim": 4, "seeds": _seeds(max_relative_gap=gaps,
                                                                                active_latents=active),
                                               "budget_trend": trend}, notebook="01_linear_vae_theory")
        return _row(sb.scoreboard(tmp_path), "Theorem 1, learned")

    assert write([0.01, 0.02, 0.04], [4, 4, 4], {}).verdict == "reproduced"
    assert write([0.01, 0.02, 0.04], [3, 4, 4], {}).verdict == "partly"  # one seed lost a latent
    # the gap still falls with budget, but the lost latent does not come back: a plateau, so it differs
    trend = {"max_relative_gap": BudgetTrend((250.0, 1000.0), (0.73, 0.64), "steps").to_json(),
             "active_latents": BudgetTrend((250.0, 1000.0), (3.0, 3.0), "steps").to_json()}
    row = write([0.63, 0.64, 0.64], [3, 3, 3], trend)
    assert row.verdict == "differs"
    assert "active latents (of 4) 3 [3, 3], 3 seeds; by budget: 3 at 250 → 3 at 1000 steps (plateau)" in row.measured
    assert "+73% at 250 → +64% at 1000 steps (improving)" in row.measured
    assert write([0.63, 0.64, 0.64], [3, 3, 3], {}).verdict == "missed"  # no budget trend: cannot tell why


def test_pipeline_check_panels_are_named_but_not_graded(tmp_path: Path) -> None:
    panels = {"binary_mnist-resnet-w0.25": _panel(), "cifar10-resnet-w0.125": _panel(span=2.0),
              "celeba64-conv-w0.0625": _panel(span=1.5)}
    pipeline = ["celeba64-conv-w0.0625", "cifar10-resnet-w0.125"]
    _write(tmp_path, "figure5_rate_distortion", {"pipeline_checks": pipeline}, panels=panels)
    betas = [0.01, 1.0, 10.0]
    units = {"betas": betas, "mrvae_at_betas": [8, 6, 1], "constant": [8, 5, 2]}
    frechet = {"grid": betas, "betas": betas, "mrvae": [10.0, 12.0, 20.0], "constant": [11.0, 12.0, 15.0]}
    _write(tmp_path, "figure6_active_units_fcd",
           {"active_units": {"binary_mnist-resnet": units, "cifar10-resnet": units},  # chapter 6 names no width
            "frechet_distance": {"cifar10-resnet-FCD": frechet}}, notebook="06_figures6_7_active_units_samples")
    _write(tmp_path, "figure7_samples", {"betas_shown": [0.01, 10.0]}, data={"panels": ["celeba64-conv-w0.0625"]},
           notebook="06_figures6_7_active_units_samples")
    rows = sb.scoreboard(tmp_path)
    resnet, conv = _row(rows, "Figure 5, ResNet"), _row(rows, "Figure 5, conv")
    assert resnet.verdict == "partly" and "CIFAR-10 ResNet: pipeline check, not graded" in resnet.measured
    assert "CIFAR-10 (" not in resnet.measured  # graded only on binary MNIST
    assert conv.verdict == "pipeline check" and conv.measured == "CelebA 64 conv: pipeline check, not graded"
    units_row = _row(rows, "Figure 6, active units")
    assert "on 0 of 1 panels" in units_row.measured and "CIFAR-10 ResNet: pipeline check" in units_row.measured
    assert _row(rows, "Figure 6, FID").verdict == "pipeline check"
    assert _row(rows, "Figure 7").verdict == "pipeline check"
    line = sb.bottom_line(rows)
    graded = sum(row.verdict not in sb.UNGRADED for row in rows)
    assert f"Of the paper's {graded} claims graded here" in line and "*pipeline check*" in line
    assert "*Figure 6, FID*" in line and "not counted" in line


def _figure8(tmp_path: Path, spans: list[float] | None = None, **values: list[float]) -> sb.Claim:
    seeds = {"rate_ratio": [1.6, 1.8, 2.0], "rate_coverage": [0.3, 0.35, 0.4], "mig_spread": [0.01, 0.012, 0.015],
             "tcvae_mig_spread": [0.1, 0.15, 0.2], "best_mig_ratio": [0.6, 0.7, 0.8], **values}
    metrics: dict[str, Any] = {"seeds": _seeds(**seeds)}
    if spans is not None:
        metrics["budget_trend"] = {"rate_ratio": BudgetTrend((512.0, 2048.0), tuple(spans), "Adam steps").to_json()}
    _write(tmp_path, "figure8_tcvae_dsprites", metrics, notebook="08_figure8_tcvae_dsprites")
    return _row(sb.scoreboard(tmp_path), "Figure 8")


@pytest.mark.parametrize(("spans", "verdict"), [([1.6, 1.6], "differs"), ([1.6, 6.0], "not at this budget"),
                                                (None, "missed")])
def test_figure_8_with_a_flat_mr_vae_is_judged_by_the_budget_trend_of_its_span(tmp_path: Path, spans,
                                                                              verdict: str) -> None:
    row = _figure8(tmp_path, spans)
    assert row.verdict == verdict  # neither robust (no response) nor competitive (at most 80% of the best)
    assert row.measured.startswith("MR-VAE rate span 1.8× [1.6×, 2.0×], coverage 0.35 [0.30, 0.40], too flat")
    assert row.measured.endswith("best MIG 70% [60%, 80%] of the β-TCVAEs'; 3 seeds")
    if spans is not None:
        assert "by budget: 1.6× at 512 →" in row.measured


@pytest.mark.parametrize(("values", "verdict"), [
    ({"rate_ratio": [20.0, 30.0, 40.0], "rate_coverage": [0.6, 0.7, 0.8], "best_mig_ratio": [0.9, 1.0, 1.1]},
     "reproduced"),
    # responds, steady and competitive, but one seed's span falls short: the interval straddles the rule
    ({"rate_ratio": [5.0, 30.0, 40.0], "rate_coverage": [0.6, 0.7, 0.8], "best_mig_ratio": [0.9, 1.0, 1.1]}, "partly"),
    # robust, not competitive
    ({"rate_ratio": [20.0, 30.0, 40.0], "rate_coverage": [0.6, 0.7, 0.8]}, "partly"),
    # responds, but its MIG moves as much as the β-TCVAEs': not robust, not competitive
    ({"rate_ratio": [20.0, 30.0, 40.0], "rate_coverage": [0.6, 0.7, 0.8], "mig_spread": [0.2, 0.25, 0.3]},
     "missed"),
])
def test_figure_8_reads_its_sub_claims_over_the_seed_intervals(tmp_path: Path, values: dict[str, list[float]],
                                                               verdict: str) -> None:
    assert _figure8(tmp_path, **values).verdict == verdict


@pytest.mark.parametrize(("gaps", "verdict"), [
    ({"[0.01, 10]": [0.01, 0.02, 0.03], "[1, 10]": [0.0, 0.01, 0.04]}, "reproduced"),
    ({"[0.01, 10]": [0.01, 0.02, 0.03], "[1, 10]": [0.03, 0.06, 0.08]}, "partly"),  # one range straddles
    ({"[0.01, 10]": [0.06, 0.07, 0.08], "[1, 10]": [0.03, 0.06, 0.08]}, "partly"),
    ({"[0.01, 10]": [0.06, 0.07, 0.08], "[1, 10]": [0.09, 0.1, 0.2]}, "missed"),  # no trend: not a budget claim
])
def test_section_5_3_judges_every_range_over_its_interval(tmp_path: Path, gaps: dict[str, list[float]],
                                                          verdict: str) -> None:
    _write(tmp_path, "section53_sample_range", {"median_gap": _seeds(**gaps)},
           notebook="07_sensitivity_and_gate_ablation")
    row = _row(sb.scoreboard(tmp_path), "Section 5.3")
    assert row.verdict == verdict
    assert "(medians of 3 seeds)" in row.measured


@pytest.mark.parametrize(("behind", "verdict"), [
    ({"hypernetwork": [0.0, 0.0, 0.01], "encoder gate": [0.0, 0.005, 0.01]}, "reproduced"),
    ({"hypernetwork": [0.0, 0.0, 0.01], "encoder gate": [0.01, 0.03, 0.05]}, "partly"),
    ({"hypernetwork": [0.03, 0.04, 0.05], "encoder gate": [0.03, 0.05, 0.06]}, "missed"),
])
def test_figure_9_judges_how_far_each_default_is_behind_its_panels_best(tmp_path: Path,
                                                                        behind: dict[str, list[float]],
                                                                        verdict: str) -> None:
    _write(tmp_path, "figure9_ablation", {"behind_best": _seeds(**behind)}, notebook="07_sensitivity_and_gate_ablation")
    row = _row(sb.scoreboard(tmp_path), "Figure 9 (App. D)")
    assert row.verdict == verdict
    assert row.measured.startswith("default behind the best variant: hypernetwork ")
    assert row.measured.endswith("; 3 seeds")


@pytest.mark.parametrize(("mr", "bvae", "closer", "verdict"), [
    ([0.03, 0.04, 0.05], [0.1, 0.11, 0.12], [6.0, 7.0, 8.0], "reproduced"),
    ([0.03, 0.04, 0.13], [0.1, 0.11, 0.12], [6.0, 7.0, 8.0], "partly"),  # one seed's MR-VAE is the worse
    ([0.13, 0.14, 0.15], [0.1, 0.11, 0.12], [5.0, 6.0, 7.0], "partly"),  # worse at its worst, closer at most β
    ([0.13, 0.14, 0.15], [0.1, 0.11, 0.12], [2.0, 3.0, 4.0], "missed"),
])
def test_figure_4_compares_the_worst_gaps_at_every_seed(tmp_path: Path, mr: list[float], bvae: list[float],
                                                        closer: list[float], verdict: str) -> None:
    seeds = _seeds(mrvae_worst_gap=mr, beta_vae_worst_gap=bvae, closer_at=closer,
                   worst_gap_excess=[m - b for m, b in zip(mr, bvae, strict=True)])
    _write(tmp_path, "figure4_linear_mnist", {"seeds": seeds, "relative_gap_to_optimum": {"beta": list(range(10))}},
           notebook="02_figure4_linear_mnist")
    row = _row(sb.scoreboard(tmp_path), "Figure 4")
    assert row.verdict == verdict
    assert row.measured.startswith(f"worst gap to the exact optimum: MR-VAE {sb.fmt_percent(mr[1])} [")
    assert row.measured.endswith("of 10 β; 3 seeds")
