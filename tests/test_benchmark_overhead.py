"""The overhead benchmark runs end to end and writes the figure contract (its timings are never
asserted: performance targets live in the benchmark's output, not in unit tests)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "benchmark_overhead.py"


def test_quick_run_writes_ratios_per_network_and_the_loop_comparison(tmp_path) -> None:
    subprocess.run([sys.executable, str(SCRIPT), "--quick", "--only", "linear", "resnet28-quick",
                    "--out-dir", str(tmp_path)], check=True, capture_output=True, text=True, timeout=300)
    record = json.loads((tmp_path / "overhead.json").read_text())
    assert record["figure"] == "Overhead" and (tmp_path / "overhead.png").is_file()
    metrics = record["metrics"]
    for name in ("linear", "resnet28-quick"):
        entry = metrics[name]
        assert entry["param_ratio"] > 1 and entry["cpu_step_time_ratio"] > 0
        assert set(entry["cpu_seconds_per_step"]) == {"mr_vae", "beta_vae"}
        low, high = entry["cpu_step_time_ratio_interval"]
        assert low <= entry["cpu_step_time_ratio"] <= high and entry["pairs"] >= 2
    assert metrics["loop"][0]["step_time_ratio"] > 0
    assert metrics["summary"]["worst_full_width"] is None  # no full-width network was timed
    assert metrics["summary"]["full_width_undecided"] == []
    assert record["provenance"]["command"].startswith("python scripts/benchmark_overhead.py --quick")


def test_unknown_network_is_refused_with_the_list() -> None:
    run = subprocess.run([sys.executable, str(SCRIPT), "--only", "resnet99"], capture_output=True, text=True)
    assert run.returncode != 0 and "choose from" in run.stderr and "resnet28-full" in run.stderr
