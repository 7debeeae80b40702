"""The figure files' layout: a figure that was not produced reads "not run"; one that was
produced but reads otherwise than its rule (a renamed or missing field, another shape, another
schema version) fails the build, naming the claim, the file and the field."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import synthetic_panel  # tests/ is on sys.path (rootdir conftest)

from mrvae_companion import scoreboard as sb
from mrvae_companion.figures import save_figure
from mrvae_companion.schema import FIGURE_SCHEMA, FigureSchemaError

COMMITTED_FIGURES = Path(__file__).resolve().parents[2] / "figures"


def _write(directory: Path, name: str, metrics: dict[str, Any], notebook: str = "04_figure5_rate_distortion") -> None:
    """A figure file as the chapters write it (:func:`save_figure`), with these metrics."""
    import matplotlib.pyplot as plt

    fig = plt.figure()
    save_figure(fig, name, figure=name, notebook=notebook, profile="quick", data={}, metrics=metrics,
                provenance={}, directory=directory)
    plt.close(fig)


def test_every_figure_file_records_its_schema_version(tmp_path: Path) -> None:
    _write(tmp_path, "anything", {"x": 1.0})
    assert json.loads((tmp_path / "anything.json").read_text())["schema"] == FIGURE_SCHEMA


def test_figures_not_produced_say_not_run(tmp_path: Path) -> None:
    rows = sb.scoreboard(tmp_path)  # an empty directory
    assert len(rows) == len(sb.CLAIMS)
    assert {row.verdict for row in rows} == {"not run"}
    assert all(row.measured.startswith("not run (no figures/") and row.chapter is None for row in rows)


RESPONSE = {"rate_ratio": 12.0, "rate_at_a": 60.0, "rate_at_b": 5.0, "monotone": True,
            "median_gap": {"constant": 0.02}, "worst_gap": {"constant": 0.05}, "rate_coverage": {"constant": 0.9},
            "beta_vae_monotone": {"constant": True}}
SPAN_RENAMED = {("span" if k == "rate_ratio" else k): v for k, v in RESPONSE.items()}


def _figure1_panel(change) -> dict[str, Any]:
    """Figure 1's metrics and data with one panel, ``change`` applied to the panel's record."""
    panel = synthetic_panel()
    change(panel)
    return {"_data": {"panels": {"binary_mnist-resnet-w0.25": panel}}}


def _rename(record: dict[str, Any], old: str, new: str) -> None:
    record[new] = record.pop(old)


@pytest.mark.parametrize(("name", "content", "message"), [
    ("figure1_resnet_binary_mnist", {"response": RESPONSE}, "figure1_resnet_binary_mnist.json has no data.panels"),
    ("figure1_resnet_binary_mnist", _figure1_panel(lambda p: _rename(p["response"], "rate_ratio", "span")),
     "panel binary_mnist-resnet-w0.25: response: response fields missing ['rate_ratio'], unknown ['span']"),
    ("figure1_resnet_binary_mnist", _figure1_panel(lambda p: _rename(p["curve"][0], "rate", "rates")),
     "curve point 0: fields missing ['rate'], unknown ['rates']"),
    ("figure1_resnet_binary_mnist", _figure1_panel(lambda p: p["response"].__setitem__("monotone", "yes")),
     "monotone must be true or false"),
    ("figure1_resnet_binary_mnist", _figure1_panel(lambda p: p["response"].__setitem__("rate_ratio", 1e6)),
     "is not the one its curve and comparisons give"),
    ("figure1_resnet_binary_mnist", _figure1_panel(lambda p: p["comparisons"].pop("constant")),
     "comparisons must map 'constant'"),
    ("figure1_resnet_binary_mnist", {"_data": {"panels": []}}, "data.panels must map each panel's tag"),
    ("overhead", "{not json", "figures/overhead.json is unreadable"),
    ("overhead", {"schema": 1}, "written with figure schema 1; this build reads schema 2"),
    ("overhead", {"schema": 3}, "written with figure schema 3; this build reads schema 2"),
])
def test_a_figure_that_reads_otherwise_than_its_rule_fails_the_build(tmp_path: Path, name: str, content: Any,
                                                                    message: str) -> None:
    """A produced file with a renamed, missing or odd field is an error naming the claim, the file
    and the field; never a quiet "not run"."""
    if isinstance(content, str):
        (tmp_path / f"{name}.json").write_text(content)
    elif "_data" in content:
        record = {"schema": FIGURE_SCHEMA, "figure": name, "notebook": "04_figure5_rate_distortion",
                  "profile": "quick", "data": content["_data"], "metrics": {}, "provenance": {}}
        (tmp_path / f"{name}.json").write_text(json.dumps(record))
    elif "schema" in content:
        _write(tmp_path, name, {})
        record = json.loads((tmp_path / f"{name}.json").read_text())
        (tmp_path / f"{name}.json").write_text(json.dumps({**record, **content}))
    else:
        _write(tmp_path, name, content)
    with pytest.raises(FigureSchemaError, match=re.escape(message)):
        sb.scoreboard(tmp_path)


@pytest.mark.skipif(not COMMITTED_FIGURES.is_dir(), reason="no figures/ directory")
@pytest.mark.parametrize(("name", "path", "renamed"), [
    ("figure1_resnet_binary_mnist", ("data", "panels"), "panel"),
    ("figure5_rate_distortion", ("data", "panels"), "rd_panels"),
    ("theorem1_training", ("metrics", "seeds"), "seed_summaries"),
    ("figure8_tcvae_dsprites", ("metrics", "seeds"), "per_seed"),
    ("overhead", ("metrics",), "results"),
])
def test_renaming_a_field_of_a_committed_figure_fails_the_build(tmp_path: Path, name: str, path: tuple[str, ...],
                                                               renamed: str) -> None:
    """The committed figures build; the same files with one field renamed do not, and the
    build script exits non-zero naming the file."""
    import shutil

    shutil.copytree(COMMITTED_FIGURES, tmp_path / "figures")
    figures = tmp_path / "figures"
    assert all(row.verdict != "not run" or "no figures/" in row.measured for row in sb.scoreboard(figures))
    record = json.loads((figures / f"{name}.json").read_text())
    parent = record
    for key in path[:-1]:
        parent = parent[key]
    parent[renamed] = parent.pop(path[-1])
    (figures / f"{name}.json").write_text(json.dumps(record))
    with pytest.raises(FigureSchemaError, match=re.escape(f"{name}.json")):
        sb.scoreboard(figures)
    script = Path(__file__).resolve().parents[2] / "scripts" / "build_scoreboard.py"
    run = subprocess.run([sys.executable, str(script), "--figures", str(figures), "--out", str(tmp_path / "sb.md")],
                         capture_output=True, text=True)
    assert run.returncode != 0 and "FigureSchemaError" in run.stderr and f"{name}.json" in run.stderr


def test_figure_8_without_seed_summaries_fails_and_says_what_is_missing(tmp_path: Path) -> None:
    _write(tmp_path, "figure8_tcvae_dsprites", {"mig": {}}, notebook="08_figure8_tcvae_dsprites")
    with pytest.raises(FigureSchemaError, match=r"Figure 8: figures/figure8_tcvae_dsprites.json: metrics.seeds lacks"):
        sb.scoreboard(tmp_path)


def test_section_5_3_from_a_one_seed_file_fails_and_names_the_field(tmp_path: Path) -> None:
    _write(tmp_path, "section53_sample_range", {"median_gap": {"[0.01, 10]": 0.02}},
           notebook="07_sensitivity_and_gate_ablation")
    with pytest.raises(FigureSchemaError, match=r"metrics\.median_gap has values that are not seed summaries"):
        sb.scoreboard(tmp_path)


def test_response_metrics_round_trip_through_the_figure_form() -> None:
    from mrvae_companion.panel_metrics import ResponseMetrics

    metrics = ResponseMetrics.from_json(RESPONSE)
    assert metrics.to_json() == RESPONSE and ResponseMetrics.from_json(metrics.to_json()) == metrics
    without_coverage = {k: v for k, v in RESPONSE.items() if k != "rate_coverage"}
    with pytest.raises(FigureSchemaError, match=re.escape("response fields missing ['rate_coverage']")):
        ResponseMetrics.from_json(without_coverage)


@pytest.mark.skipif(not COMMITTED_FIGURES.is_dir(), reason="no figures/ directory")
def test_every_committed_response_reads_as_response_metrics() -> None:
    from mrvae_companion.panel_metrics import ResponseMetrics

    parsed = 0
    for path in sorted(COMMITTED_FIGURES.glob("*.json")):
        response = json.loads(path.read_text()).get("metrics", {}).get("response")
        if not isinstance(response, dict):
            continue
        panels = response.values() if all(isinstance(v, dict) and "rate_ratio" in v for v in response.values()) \
            else [response]
        for entry in panels:
            ResponseMetrics.from_json(entry, path.name)
            parsed += 1
    assert parsed >= 10
