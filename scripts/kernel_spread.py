#!/usr/bin/env python3
"""Measure how far the checked metrics move between CPU kernel paths (``make kernel-spread``).

    record LABEL FIGURE_DIR   add (or replace) one run's checked metrics, read from the figure
                              JSON that a quick-profile run wrote into FIGURE_DIR
    run KERNEL                execute every notebook under ATEN_CPU_CAPABILITY=KERNEL (its own
                              model cache and figure folder) and record it as KERNEL
    report                    print every checked metric: its value per run, its spread and band

The runs land in ``figures/kernel_spread.json``, from which :mod:`mrvae.book.checks` draws the
bands that the notebooks' regression checks use.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from mrvae.book.checks import CHECKS, SPREAD_FILE, Claim, Measured, _check_for, band_for, checked_values  # noqa: E402
from mrvae.book.figures import committed_figure_dir, short_commit  # noqa: E402


def spread_path() -> Path:
    return committed_figure_dir() / SPREAD_FILE


def read_spread() -> dict:
    path = spread_path()
    return json.loads(path.read_text()) if path.exists() else {"profile": "quick", "runs": []}


def record(label: str, figures: Path) -> dict:
    """One run's checked values, with where they came from, added to the spread file."""
    values, provenance = {}, {}
    for figure in CHECKS:
        path = figures / f"{figure}.json"
        if not path.exists():
            continue
        data = json.loads(path.read_text())
        values[figure] = checked_values(figure, data["metrics"])
        provenance = provenance or data.get("provenance", {})
    if not values:
        raise SystemExit(f"no checked figure JSON in {figures}; run the notebooks with MRVAE_FIGURE_DIR={figures}")
    run = {"label": label, "cpu": provenance.get("cpu", "not recorded"),
           "cpu_kernels": provenance.get("cpu_kernels", "not recorded"),
           "torch": provenance.get("torch", "not recorded"),
           "commit": short_commit(provenance.get("git_commit", "unknown")), "values": values}
    spread = read_spread()
    profiles = {json.loads((figures / f"{f}.json").read_text())["profile"] for f in values}
    if profiles != {spread["profile"]}:
        raise SystemExit(f"{figures} holds {sorted(profiles)}-profile figures; the spread file measures the "
                         f"{spread['profile']!r} profile")
    spread["runs"] = [r for r in spread["runs"] if r["label"] != label] + [run]
    spread_path().write_text(json.dumps(spread, indent=1) + "\n")
    print(f"recorded {sum(map(len, values.values()))} metrics of {len(values)} figures as {label!r} "
          f"in {spread_path().relative_to(REPO_ROOT)}")
    return run


def run(kernel: str, keep: Path | None) -> None:
    """Execute the notebooks under one kernel path, then record the run."""
    work = keep or Path(tempfile.mkdtemp(prefix=f"mrvae-{kernel}-"))
    env = {**os.environ, "ATEN_CPU_CAPABILITY": kernel, "MRVAE_RUN_DIR": str(work / "runs"),
           "MRVAE_FIGURE_DIR": str(work / "figures")}
    env.pop("MRVAE_EXECUTED_DIR", None)
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "run_notebooks.py"), "--profile", "quick",
                    "--out-dir", str(work / "notebooks")], env=env, check=True)
    record(kernel, work / "figures")


def report() -> None:
    """Markdown table: each checked metric's value per run, its spread and its band."""
    spread = read_spread()
    labels = [r["label"] for r in spread["runs"]]
    print("| figure | metric | " + " | ".join(labels) + " | spread | band |")
    print("|---|---|" + "---|" * (len(labels) + 2))
    for figure in CHECKS:
        paths = sorted({p for r in spread["runs"] for p in r["values"].get(figure, {})})
        for path in paths:
            check = _check_for(figure, path)
            values = [r["values"].get(figure, {}).get(path) for r in spread["runs"]]
            present = [v for v in values if v is not None]
            band = band_for(check, present) if isinstance(check, Claim) or len(present) >= 2 else None
            print(f"| {figure} | {path} | " + " | ".join(_cell(v) for v in values) +
                  f" | {_spread(check, present)} | {band.describe() if band else 'one run'} |")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _spread(check: object, values: list) -> str:
    """Relative (log scale) or absolute (linear) range of the measured values."""
    if not isinstance(check, Measured) or check.scale == "exact" or len(values) < 2:
        return "agree" if len(set(map(repr, values))) <= 1 else "differ"
    if check.scale == "log":
        return f"{math.exp(math.log(max(values)) - math.log(min(values))) - 1:+.1%}"
    return f"{max(values) - min(values):.4g}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record")
    rec.add_argument("label")
    rec.add_argument("figures", type=Path)
    run_parser = sub.add_parser("run")
    run_parser.add_argument("kernel")
    run_parser.add_argument("--keep", type=Path, help="folder for the notebooks, figures and models (default: temp)")
    sub.add_parser("report")
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args.label, args.figures)
    elif args.command == "run":
        run(args.kernel, args.keep)
    else:
        report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
