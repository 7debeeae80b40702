"""The RGB budget study (scripts/run_rgb_budget.py) runs end to end on a tiny subset and records a
budget trend per panel, the measurement behind the quick profile's pipeline checks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mrvae_companion.seeds import BudgetTrend

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run_rgb_budget.py"


def test_tiny_run_records_a_budget_trend_per_panel(tmp_path: Path) -> None:
    env = {**os.environ, "MRVAE_RUN_DIR": str(tmp_path / "runs")}
    run = subprocess.run([sys.executable, str(SCRIPT), "--train-images", "16", "--multipliers", "1", "2",
                          "--datasets", "cifar10", "--out-dir", str(tmp_path)],
                         capture_output=True, text=True, timeout=900, env=env)
    if run.returncode != 0 and "DatasetNotFoundError" in run.stderr:
        pytest.skip("CIFAR-10 is not available")
    assert run.returncode == 0, run.stderr
    record = json.loads((tmp_path / "rgb_budget.json").read_text())
    rows = record["metrics"]["panels"]["cifar10-resnet-w0.125"]
    assert [r["multiplier"] for r in rows] == [1, 2] and rows[1]["steps"] == 2 * rows[0]["steps"]
    trend = BudgetTrend.from_json(record["metrics"]["budget_trend"]["cifar10-resnet-w0.125"]["rate_ratio"])
    assert list(trend.values) == [r["rate_ratio"] for r in rows]


@pytest.mark.parametrize(("flags", "message"), [
    (["--multipliers", "4", "1"], "--multipliers must be at least two distinct increasing"),
    (["--multipliers", "1"], "--multipliers must be at least two distinct increasing"),
    (["--datasets", "mnist"], "are not in the 'quick' profile"),
])
def test_bad_flags_name_the_fix(flags: list[str], message: str) -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), *flags], capture_output=True, text=True)
    assert run.returncode == 2 and message in run.stderr
