"""The regression checks' bands: measured from kernel runs, able to fail, and complete."""

from __future__ import annotations

import json
import math

import pytest

from mrvae_companion import checks
from mrvae_companion.checks import CHECKS, SAFETY, Band, Claim, Measured, band_for, check_figure, flat_metrics
from mrvae_companion.figures import committed_figure_dir
from mrvae_companion.schema import FIGURE_SCHEMA


def test_flat_metrics_names_every_leaf_and_checks_curves_by_their_mean() -> None:
    metrics = {"response": {"a": {"rate_ratio": 18.0, "monotone": True}}, "curve": [1.0, 2.0, [3.0, 6.0]],
               "snapshots": [{"epochs": 1, "gap": 0.5}, {"epochs": 10, "gap": 0.1}], "chosen": "open x30",
               "accuracy": None}
    assert flat_metrics(metrics) == {
        "response.a.rate_ratio": 18.0, "response.a.monotone": True, "curve": 3.0,
        "snapshots.0.epochs": 1, "snapshots.0.gap": 0.5, "snapshots.1.epochs": 10, "snapshots.1.gap": 0.1,
        "chosen": "open x30"}


@pytest.mark.parametrize(("check", "measured", "expected"), [
    # linear: range [0.02, 0.04] widened by SAFETY x 0.02 on each side
    (Measured("g"), [0.02, 0.04, 0.03], Band(low=0.02 - SAFETY * 0.02, high=0.04 + SAFETY * 0.02)),
    # runs that agree still get the floor
    (Measured("g", floor=0.01), [0.5, 0.5], Band(low=0.5 - SAFETY * 0.01, high=0.5 + SAFETY * 0.01)),
    # log: ratios, so 10 and 20 give [10 / 2^SAFETY, 20 * 2^SAFETY]
    (Measured("r", "log"), [10.0, 20.0], Band(low=10.0 / 2 ** SAFETY, high=20.0 * 2 ** SAFETY)),
    (Measured("m", "exact"), [True, True], Band(value=True)),
    (Measured("m", "exact"), [True, False], Band(unsettled=True)),
    (Claim("e", at_most=1e-10), [], Band(high=1e-10)),
])
def test_bands_follow_the_measured_range(check, measured, expected) -> None:
    band = band_for(check, measured)
    assert band.unsettled == expected.unsettled and band.value == expected.value
    for got, want in ((band.low, expected.low), (band.high, expected.high)):
        assert (got is None and want is None) or math.isclose(got, want, rel_tol=1e-12)


def test_a_band_needs_two_kernel_paths_and_log_scale_needs_positive_values() -> None:
    with pytest.raises(ValueError, match="at least 2 kernel paths"):
        band_for(Measured("r", "log"), [3.0])
    with pytest.raises(ValueError, match="scale='linear'"):
        band_for(Measured("g", "log"), [0.1, -0.1])


@pytest.mark.parametrize(("band", "value", "holds"), [
    (Band(low=1.0, high=2.0), 1.5, True), (Band(low=1.0, high=2.0), 2.5, False), (Band(low=1.0, high=2.0), 0.5, False),
    (Band(low=1.0, high=2.0), float("nan"), False), (Band(low=1.0, high=2.0), True, False),
    (Band(low=1.0, high=2.0), "1.5", False), (Band(value=True), True, True), (Band(value=True), False, False),
    (Band(unsettled=True), False, True), (Band(high=1e-10), 3e-15, True), (Band(high=1e-10), 1e-3, False),
])
def test_a_band_holds_only_for_values_inside_it(band, value, holds) -> None:
    assert band.holds(value) is holds


def _figure(tmp_path, metrics: dict, name: str = "figure1_resnet_binary_mnist"):
    record = {"schema": FIGURE_SCHEMA, "figure": "Figure 1", "notebook": "03", "profile": "quick", "data": {},
              "metrics": metrics, "provenance": {}}
    (tmp_path / f"{name}.json").write_text(json.dumps(record))
    return tmp_path


SPREAD = {"profile": "quick", "runs": [
    {"label": "a", "values": {"figure1_resnet_binary_mnist": {"response.rate_ratio": 18.0, "response.monotone": True,
                                                              "target_met": True}}},
    {"label": "b", "values": {"figure1_resnet_binary_mnist": {"response.rate_ratio": 15.0, "response.monotone": True,
                                                              "target_met": False}}},
]}


def test_check_figure_passes_inside_fails_outside_and_skips_unsettled_verdicts(tmp_path) -> None:
    good = _figure(tmp_path, {"response": {"rate_ratio": 16.0, "monotone": True}, "target_met": False})
    results = {path: (holds, detail) for path, holds, detail in check_figure("figure1_resnet_binary_mnist",
                                                                            directory=good, spread=SPREAD)}
    assert results["response.rate_ratio"][0] and results["response.monotone"][0]
    assert results["target_met"] == (True, "unsettled across kernel paths, not checked")

    frozen = _figure(tmp_path, {"response": {"rate_ratio": 1.0, "monotone": True}, "target_met": False})
    results = {path: (holds, detail) for path, holds, detail in check_figure("figure1_resnet_binary_mnist",
                                                                            directory=frozen, spread=SPREAD)}
    holds, detail = results["response.rate_ratio"]
    assert not holds and detail.startswith("= 1.0, outside [")


def test_a_dropped_or_unmeasured_metric_fails(tmp_path) -> None:
    renamed = _figure(tmp_path, {"response": {"span": 16.0, "monotone": True, "median_gap": {"constant": 0.02}},
                                 "target_met": True})
    results = {path: (holds, detail) for path, holds, detail in check_figure("figure1_resnet_binary_mnist",
                                                                            directory=renamed, spread=SPREAD)}
    assert results["response.rate_ratio"] == (False, "missing from the figure's metrics")
    holds, detail = results["response.median_gap.constant"]
    assert not holds and "not measured across kernel paths" in detail


def test_print_checks_prints_ok_lines_that_do_not_depend_on_the_value(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(checks, "load_spread", lambda: SPREAD)
    outputs = []
    for ratio in (16.0, 19.5):
        _figure(tmp_path, {"response": {"rate_ratio": ratio, "monotone": True}, "target_met": True})
        assert checks.print_checks("figure1_resnet_binary_mnist", directory=tmp_path)
        outputs.append(capsys.readouterr().out)
    assert outputs[0] == outputs[1]
    assert "figure1_resnet_binary_mnist: response.rate_ratio: ok" in outputs[0]
    assert "figure1_resnet_binary_mnist: target_met: unsettled" in outputs[0]


def test_unknown_figure_names_the_fix() -> None:
    with pytest.raises(KeyError, match="add it to mrvae_companion.checks.CHECKS"):
        checks.checked_values("figure99", {})


def test_every_checked_metric_is_measured_on_at_least_two_kernel_paths() -> None:
    spread = checks.load_spread()
    assert len(spread["runs"]) >= 2
    for figure in CHECKS:
        paths = {path for run in spread["runs"] for path in run["values"].get(figure, {})}
        assert paths, f"{figure}: no measured run"
        for path in paths:
            measured = checks.measured_values(spread, figure, path)
            assert len(measured) >= 2 or isinstance(checks._check_for(figure, path), Claim), (figure, path, measured)


def test_every_measured_run_lies_inside_its_own_bands() -> None:
    spread = checks.load_spread()
    for run in spread["runs"]:
        for figure, values in run["values"].items():
            for path, value in values.items():
                band = band_for(checks._check_for(figure, path), checks.measured_values(spread, figure, path))
                assert band.holds(value), (run["label"], figure, path, value, band)


def test_the_committed_figures_pass_their_checks() -> None:
    for figure in CHECKS:
        failed = [(path, detail) for path, holds, detail in check_figure(figure, directory=committed_figure_dir())
                  if not holds]
        assert not failed, (figure, failed)


def test_a_measuring_run_records_each_chapter_before_checking_it(tmp_path, monkeypatch, capsys) -> None:
    spread_file = tmp_path / "spread.json"
    spread_file.write_text(json.dumps(SPREAD))
    monkeypatch.setattr(checks, "spread_path", lambda: spread_file)
    figures = _figure(tmp_path, {"response": {"rate_ratio": 30.0, "monotone": True}, "target_met": True})
    monkeypatch.setenv(checks.RECORD_ENV_VAR, "default")
    assert checks.print_checks("figure1_resnet_binary_mnist", directory=figures)
    assert "response.rate_ratio: ok" in capsys.readouterr().out  # inside a band that now includes 30
    runs = {run["label"]: run for run in json.loads(spread_file.read_text())["runs"]}
    assert runs["default"]["values"]["figure1_resnet_binary_mnist"]["response.rate_ratio"] == 30.0
    assert runs["default"]["commit"] == "unknown" and set(runs) == {"a", "b", "default"}
