"""The learning study (scripts/run_learning_study.py) chooses on validation images with its stated
rule, and runs end to end on a tiny subset."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run_learning_study.py"
sys.path.insert(0, str(SCRIPT.parent))

from run_learning_study import choose, first_step  # noqa: E402


def _variant(gap: float, step: int | None) -> dict:
    return {"mean_gap": gap, "first_step_span_10": step}


@pytest.mark.parametrize(("summary", "chosen"), [
    # within one point of the best gap, the fastest wins, even if its gap is not the best
    ({"a": _variant(0.050, 500), "b": _variant(0.055, 125), "c": _variant(0.070, 0)}, "b"),
    # a fast variant more than a point worse is not eligible
    ({"a": _variant(0.050, 500), "c": _variant(0.061, 0)}, "a"),
    # never reaching a span of 10 loses to any step; equal speed goes to the smaller gap
    ({"a": _variant(0.050, None), "b": _variant(0.052, 1000)}, "b"),
    ({"a": _variant(0.052, 250), "b": _variant(0.050, 250)}, "b"),
])
def test_the_rule_takes_the_fastest_of_the_variants_within_a_point_of_the_best(summary, chosen) -> None:
    assert choose(summary) == chosen


def test_first_step_and_an_empty_choice() -> None:
    records = [{"step": 0, "rate_ratio": 1.0}, {"step": 125, "rate_ratio": 9.9}, {"step": 250, "rate_ratio": 12.0}]
    assert first_step(records) == 250 and first_step(records, threshold=100.0) is None
    with pytest.raises(ValueError, match="no variant"):
        choose({})


def test_tiny_run_scores_on_validation_images(tmp_path: Path) -> None:
    env = {**os.environ, "MRVAE_RUN_DIR": str(tmp_path / "runs")}
    subprocess.run([sys.executable, str(SCRIPT), "--train-images", "64", "--epochs", "1", "--validation-images", "32",
                    "--out-dir", str(tmp_path)], check=True, capture_output=True, text=True, timeout=900, env=env)
    record = json.loads((tmp_path / "learning_the_beta_response.json").read_text())
    metrics = record["metrics"]
    assert metrics["scored_on"] == "validation" and metrics["validation_images"] == 32
    assert len(metrics["final"]) == 8 and metrics["chosen"] in metrics["final"]
    assert "images left out of the training subset" in record["data"]["source"].split("| validation: ")[1]
    assert all(len(record["data"][name]) == 2 for name in metrics["final"])  # before training and after epoch 1
    assert record["provenance"]["command"].startswith("python scripts/run_learning_study.py --train-images 64")


@pytest.mark.parametrize(("flags", "message"), [
    (["--validation-images", "0"], "--validation-images must be at least 1"),
    (["--epochs", "0"], "--epochs must be at least 1"),
])
def test_bad_flags_name_the_fix(flags: list[str], message: str) -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), *flags], capture_output=True, text=True)
    assert run.returncode == 2 and message in run.stderr
