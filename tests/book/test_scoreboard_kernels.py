"""A seeded verdict is settled only if every recorded CPU kernel path reads it the same way
(figures/kernel_spread.json holds the same seeds run on other kernel paths)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import seed_summaries_json  # tests/ is on sys.path (rootdir conftest)

from mrvae_companion import scoreboard as sb
from mrvae_companion.schema import FIGURE_SCHEMA


def _verdict(directory: Path, name: str, notebook: str, claim: str, metrics: dict[str, Any]) -> sb.Claim:
    record = {"schema": FIGURE_SCHEMA, "figure": name, "notebook": notebook, "profile": "quick", "data": {},
              "metrics": metrics, "provenance": {}}
    (directory / f"{name}.json").write_text(json.dumps(record))
    return next(row for row in sb.scoreboard(directory) if row.claim == claim)


def _figure8(directory: Path) -> sb.Claim:
    """A Figure 8 run that responds to β, is steady and is competitive over its own interval."""
    seeds = seed_summaries_json(rate_ratio=[20.0, 30.0, 40.0], rate_coverage=[0.6, 0.7, 0.8],
                                mig_spread=[0.01, 0.012, 0.015], tcvae_mig_spread=[0.1, 0.15, 0.2],
                                best_mig_ratio=[0.9, 1.0, 1.1])
    return _verdict(directory, "figure8_tcvae_dsprites", "08_figure8_tcvae_dsprites", "Figure 8", {"seeds": seeds})


def _readings(figure: str, metric: str, recorded: dict[str, tuple[float, float]]) -> list[dict[str, Any]]:
    return [{"label": label, "values": {figure: {f"seeds.{metric}.low": low, f"seeds.{metric}.high": high}}}
            for label, (low, high) in recorded.items()]


@pytest.mark.parametrize(("recorded", "verdict"), [
    ({"default": (0.5, 0.8)}, "partly"),  # this run: competitive over its interval; another CPU's: not
    ({"default": (0.95, 1.2), "avx2": (0.92, 1.0)}, "reproduced"),  # every path agrees
    ({}, "reproduced"),  # nothing recorded
])
def test_a_verdict_that_another_cpu_kernel_path_reads_otherwise_is_not_settled(
        tmp_path: Path, kernel_spread: dict[str, Any], recorded: dict[str, tuple[float, float]], verdict: str) -> None:
    """The same seeds on another CPU's kernels can land on the other side of a rule; then the row
    reads *partly* on every machine and names each reading."""
    kernel_spread["runs"] = _readings("figure8_tcvae_dsprites", "best_mig_ratio", recorded)
    row = _figure8(tmp_path)
    assert row.verdict == verdict
    unsettled = "unsettled across CPU kernel paths: [50%, 80%] on the default kernels"
    assert (unsettled in row.measured) == (verdict == "partly")


def test_a_seeded_verdict_reads_another_kernel_paths_interval_of_the_same_metric(tmp_path: Path,
                                                                                kernel_spread: dict[str, Any]) -> None:
    """judge_seeded (Figure 4's worst-gap excess here) consults the recorded paths too, and only
    the runs of the same profile."""
    mr, bvae = [0.03, 0.04, 0.05], [0.1, 0.11, 0.12]
    metrics = {"seeds": seed_summaries_json(mrvae_worst_gap=mr, beta_vae_worst_gap=bvae, closer_at=[6.0, 7.0, 8.0],
                                            worst_gap_excess=[m - b for m, b in zip(mr, bvae, strict=True)]),
               "relative_gap_to_optimum": {"beta": list(range(10))}}

    def verdict() -> str:
        return _verdict(tmp_path, "figure4_linear_mnist", "02_figure4_linear_mnist", "Figure 4", metrics).verdict

    assert verdict() == "reproduced"
    kernel_spread["runs"] = _readings("figure4_linear_mnist", "worst_gap_excess", {"default": (-0.05, 0.01)})
    assert verdict() == "partly"
    kernel_spread["profile"] = "paper"
    assert verdict() == "reproduced"


def test_the_committed_spread_is_read_for_the_committed_figures() -> None:
    """Without the test's stand-in, the readings come from figures/kernel_spread.json: chapter 8's
    best-MIG interval was recorded on at least two kernel paths."""
    readings = sb.kernel_readings({"_name": "figure8_tcvae_dsprites", "profile": "quick"}, "best_mig_ratio")
    assert len({path for path, _, _ in readings}) >= 2
    assert all(low <= high for _, low, high in readings)
