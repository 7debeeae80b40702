#!/usr/bin/env python3
"""Measure how far the checked metrics move between CPU kernel paths (``make kernel-spread``).

    record LABEL FIGURE_DIR   add one run's checked metrics, read from the figure JSON that a
                              quick-profile run wrote into FIGURE_DIR
    run NAME                  execute every notebook as CPU NAME would (avx2, default: the
                              settings of mrvae_companion.runtime.EMULATED_CPUS), with its own model
                              cache and figure folder, and record it as NAME
    env NAME                  print those settings as VAR=value words (for `env` in the Makefile)
    report                    print every checked metric: its value per run, its spread and band

The runs land in ``figures/kernel_spread.json``, from which :mod:`mrvae_companion.checks` draws the
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

from mrvae_companion.checks import CHECKS, Claim, Measured, _check_for, band_for, record_run, spread_path  # noqa: E402
from mrvae_companion.runtime import EMULATED_CPUS  # noqa: E402


def record(label: str, figures: Path) -> None:
    """One run's checked values, with where they came from, added to the spread file."""
    names = [figure for figure in CHECKS if (figures / f"{figure}.json").exists()]
    if not names:
        raise SystemExit(f"no checked figure JSON in {figures}; run the notebooks with MRVAE_FIGURE_DIR={figures}")
    run = record_run(label, names, figures)
    print(f"recorded {sum(map(len, run['values'].values()))} metrics of {len(names)} figures as {label!r} "
          f"in {spread_path().relative_to(REPO_ROOT)}")


def emulation(name: str) -> dict[str, str]:
    if name not in EMULATED_CPUS:
        raise SystemExit(f"unknown kernel path {name!r}; choose one of {sorted(EMULATED_CPUS)}")
    return EMULATED_CPUS[name]


def run(name: str, keep: Path | None) -> None:
    """Execute the notebooks as the CPU ``name`` would, then record the run."""
    work = keep or Path(tempfile.mkdtemp(prefix=f"mrvae-{name}-"))
    env = {**os.environ, **emulation(name), "MRVAE_RUN_DIR": str(work / "runs"),
           "MRVAE_FIGURE_DIR": str(work / "figures"), "MRVAE_RECORD_SPREAD": name}
    env.pop("MRVAE_EXECUTED_DIR", None)
    subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / "run_notebooks.py"), "--profile", "quick",
                    "--out-dir", str(work / "notebooks")], env=env, check=True)
    print(f"recorded the run as {name!r} in {spread_path().relative_to(REPO_ROOT)}")


def report() -> None:
    """Markdown table: each checked metric's value per run, its spread and its band."""
    spread = json.loads(spread_path().read_text())
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
    sub.add_parser("env").add_argument("kernel")
    sub.add_parser("report")
    args = parser.parse_args(argv)
    if args.command == "record":
        record(args.label, args.figures)
    elif args.command == "run":
        run(args.kernel, args.keep)
    elif args.command == "env":
        print(" ".join(f"{key}={value}" for key, value in emulation(args.kernel).items()))
    else:
        report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
