"""The authors' demo (scripts/run_authors_demo.py) runs end to end on a tiny subset and writes its
table: the published numbers beside ours, D + βR for every model and each MR-VAE's gap in it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mrvae_companion.demo import DEMO_BETAS, PUBLISHED_BETA_VAE, PUBLISHED_MR_VAE, demo_rows, objective

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run_authors_demo.py"


def test_rows_compare_both_runs_in_the_objective_each_beta_vae_minimises() -> None:
    ours = {b: {"rate": 10.0, "distortion": 50.0} for b in DEMO_BETAS}
    mr = {"authors": {b: {"rate": 10.0, "distortion": 55.0} for b in DEMO_BETAS}}
    rows = demo_rows(mr, ours)
    assert [r["model"] for r in rows[:2]] == ["β-VAE", "MR-VAE (authors)"] and len(rows) == 2 * len(DEMO_BETAS)
    first = rows[1]
    assert first["gap"] == pytest.approx((55.0 + 0.01 * 10.0) / (50.0 + 0.01 * 10.0) - 1)
    # the published gap is in D + βR too: at β = 10 the authors' MR-VAE has lower distortion at a
    # higher rate, and a higher objective than their β-VAE
    at_10 = next(r for r in rows if r["model"] == "MR-VAE (authors)" and r["beta"] == 10.0)
    assert at_10["published_gap"] == pytest.approx(
        objective(*PUBLISHED_MR_VAE[10.0], 10.0) / objective(*PUBLISHED_BETA_VAE[10.0], 10.0) - 1)
    assert at_10["published_gap"] > 0 and PUBLISHED_MR_VAE[10.0][1] < PUBLISHED_BETA_VAE[10.0][1]


def test_tiny_run_writes_the_table(tmp_path: Path) -> None:
    env = {**os.environ, "MRVAE_RUN_DIR": str(tmp_path / "runs")}
    subprocess.run([sys.executable, str(SCRIPT), "--train-images", "64", "--epochs", "1", "--out-dir", str(tmp_path)],
                   check=True, capture_output=True, text=True, timeout=900, env=env)
    record = json.loads((tmp_path / "authors_demo.json").read_text())
    assert (tmp_path / "authors_demo.png").is_file()
    rows = record["data"]["rows"]
    assert {r["model"] for r in rows} == {"β-VAE", "MR-VAE (authors)", "MR-VAE (authors-shifted)", "MR-VAE (ours)"}
    assert sorted({r["beta"] for r in rows}) == DEMO_BETAS
    assert set(record["metrics"]["gap_in_objective"]) == {"authors", "authors-shifted", "ours"}
    assert record["metrics"]["budget"]["train_images"] == 64
    assert record["provenance"]["command"].startswith("python scripts/run_authors_demo.py --train-images 64")


@pytest.mark.parametrize(("flags", "message"), [(["--train-images", "1"], "--train-images must be at least 2"),
                                                (["--epochs", "0"], "--epochs must be at least 1")])
def test_bad_flags_name_the_fix(flags: list[str], message: str) -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), *flags], capture_output=True, text=True)
    assert run.returncode == 2 and message in run.stderr
