"""The Figure 1 gap study runs end to end on a tiny subset and writes the figure contract (its
numbers are never asserted: the study's finding lives in the committed JSON and chapter 3)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "run_gap_study.py"


def test_tiny_run_writes_every_variant(tmp_path) -> None:
    env = {**os.environ, "MRVAE_RUN_DIR": str(tmp_path / "runs")}
    subprocess.run([sys.executable, str(SCRIPT), "--budgets", "1", "2", "--seeds", "0", "1", "--train-images", "128",
                    "--out-dir", str(tmp_path)], check=True, capture_output=True, text=True, timeout=600, env=env)
    record = json.loads((tmp_path / "gap_study.json").read_text())
    assert record["figure"] == "Study: the Figure 1 gap" and (tmp_path / "gap_study.png").is_file()
    variants = record["metrics"]["variants"]
    assert {v["group"] for v in variants.values()} == {"equal", "seed", "mr_vae_longer", "gate_lr", "wider_range"}
    replicate, first = variants["equal x1, seed 1"], variants["equal x1"]
    assert (replicate["seed"], first["seed"]) == (1, 0) and replicate["mr_vae_steps"] == first["mr_vae_steps"]
    assert replicate["gaps"] != first["gaps"]  # another subset, initialisation and batch order
    equal = [v for v in variants.values() if v["group"] == "equal"]
    assert [v["mr_vae_steps"] for v in equal] == [v["beta_vae_steps"] for v in equal]
    assert equal[1]["mr_vae_steps"] == 2 * equal[0]["mr_vae_steps"]
    longer = variants["mr_vae x2 vs x1"]
    assert longer["mr_vae_steps"] == 2 * longer["beta_vae_steps"]
    assert all(len(v["gaps"]) == 10 for v in variants.values())
    assert record["provenance"]["command"].startswith("python scripts/run_gap_study.py --budgets 1 2")
    # the seeds: every seed's 1x and longer-MR-VAE run, summarised, and the train-once fractions
    assert variants["mr_vae x2 vs x1, seed 1"]["seed"] == 1
    seeds = record["metrics"]["seeds"]
    assert seeds["median_gap_x1"]["values"] == [first["median_gap"], replicate["median_gap"]]
    assert seeds["median_gap_x2_vs_x1"]["seeds"] == [0, 1]
    once = {entry["median_gap"]: entry for entry in record["metrics"]["train_once"]}
    assert once["median_gap_x1"]["fraction"] == pytest.approx(0.1)
    assert once["median_gap_x2_vs_x1"]["fraction"] == pytest.approx(0.2)


def test_seeds_must_be_distinct() -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--seeds", "0", "0"], capture_output=True, text=True)
    assert run.returncode != 0 and "--seeds must be distinct" in run.stderr


@pytest.mark.parametrize("budgets", [["2", "4"], ["1"], ["1", "4", "2"]])
def test_budgets_must_start_at_one_and_increase(budgets) -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--budgets", *budgets], capture_output=True, text=True)
    assert run.returncode != 0 and "--budgets must start at 1 and increase, with two or more" in run.stderr
