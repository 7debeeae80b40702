"""Figures: one look for every rate–distortion panel, saved with their data as
``figures/<name>.png`` plus ``figures/<name>.json``.

The JSON holds everything needed to re-plot, compare or diff a figure without
rerunning anything: the paper's label, the notebook and profile, the plotted
numbers, the headline metrics and the provenance of the run.
"""

from __future__ import annotations

import json
import math
import os
import platform
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import asdict, is_dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from matplotlib.axes import Axes

from mrvae.data import data_roots
from mrvae.data.roots import checkout_root

FIGURE_DIR_ENV_VAR = "MRVAE_FIGURE_DIR"
REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIRED_KEYS = ("figure", "notebook", "profile", "data", "metrics", "provenance")


def figure_dir() -> Path:
    """``$MRVAE_FIGURE_DIR`` if set (nbval runs use a temporary one), else ``<checkout>/figures``,
    or ``./figures`` for an installed package."""
    env = os.environ.get(FIGURE_DIR_ENV_VAR)  # empty counts as unset
    if env:
        return Path(env)
    checkout = checkout_root()
    return (checkout if checkout is not None else Path.cwd()) / "figures"


def committed_figure_dir() -> Path:
    """``<checkout>/figures`` (or ``./figures``) whatever ``$MRVAE_FIGURE_DIR`` says: where the
    results of runs too long for CI (the ``cpu`` profile, the overhead benchmark) are committed."""
    checkout = checkout_root()
    return (checkout if checkout is not None else Path.cwd()) / "figures"


def git_commit() -> str:
    """The repository's HEAD commit, with ``-dirty`` if the tree has changes; ``unknown`` outside git."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def device_description(device: torch.device) -> str:
    if device.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(device)}"
    return f"cpu:{platform.processor() or platform.machine()}:{torch.get_num_threads()} threads"


def provenance(*, seed: int, config: Any, device: torch.device, wall_seconds: float) -> dict[str, Any]:
    """Where the numbers came from: commit, seed, config, torch, device and wall time."""
    return {
        "git_commit": git_commit(),
        "seed": seed,
        "config": _jsonable(config),
        "torch": torch.__version__,
        "device": device_description(device),
        "wall_seconds": round(wall_seconds, 2),
    }


def machine_paths() -> list[tuple[str, str]]:
    """``(absolute prefix, placeholder)`` pairs that figure JSON must not contain: the data
    roots become ``<data root>`` and the checkout ``<repo>``, so committed files name data
    files relative to the data root and never a machine's directories."""
    pairs = [(str(root), "<data root>") for root in data_roots()]
    pairs.append((str(REPO_ROOT.resolve()), "<repo>"))
    pairs.append((str(Path.home()), "~"))
    return sorted(pairs, key=lambda pair: -len(pair[0]))  # longest first: nested roots


def relative_to_roots(text: str) -> str:
    """``text`` with every machine path of :func:`machine_paths` replaced by its placeholder."""
    for prefix, placeholder in machine_paths():
        if len(prefix) > 1:
            text = text.replace(prefix, placeholder)
    return text


def _jsonable(value: Any) -> Any:
    if isinstance(value, str):
        return relative_to_roots(value)
    if isinstance(value, Path):
        return relative_to_roots(str(value))
    if is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__, **_jsonable(asdict(value))}
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _jsonable(value.tolist())
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # JSON has no NaN/inf; keep them visible rather than invalid
    return value


def save_figure(fig: Any, name: str, *, figure: str, notebook: str, profile: str, data: dict[str, Any],
                metrics: dict[str, Any], provenance: dict[str, Any], notes: str = "",
                directory: Path | None = None) -> Path:
    """Write ``<name>.png`` and ``<name>.json`` into ``directory`` (default :func:`figure_dir`);
    returns the JSON path."""
    if not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
        raise ValueError(f"figure name {name!r} must use letters, digits, '_', '-' and '.' only")
    out = Path(directory) if directory is not None else figure_dir()
    out.mkdir(parents=True, exist_ok=True)
    fig.savefig(out / f"{name}.png", dpi=110, bbox_inches="tight")
    record = {"figure": figure, "notebook": notebook, "profile": profile, "data": _jsonable(data),
              "metrics": _jsonable(metrics), "provenance": _jsonable(provenance)}
    if notes:
        record["notes"] = notes
    path = out / f"{name}.json"
    path.write_text(json.dumps(record, indent=1, sort_keys=False) + "\n")
    return path


def load_figure_data(name: str, directory: Path | None = None) -> dict[str, Any]:
    """Read a figure's JSON and check that it follows the contract."""
    path = (directory or figure_dir()) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; run the notebook that makes it (see book/reproducing.md)")
    record = json.loads(path.read_text())
    missing = [k for k in REQUIRED_KEYS if k not in record]
    if missing:
        raise ValueError(f"{path} lacks the keys {missing}")
    return record


# One look for every rate–distortion panel of the book.

MR_STYLE = {"color": "C3", "marker": "o", "ms": 3.5, "lw": 1.5}
CONSTANT_STYLE = {"color": "C0", "marker": "s", "ms": 6, "mfc": "none", "mew": 1.4, "ls": "none"}
ANNEALED_STYLE = {"color": "C2", "marker": "^", "ms": 6, "mfc": "none", "mew": 1.4, "ls": "none"}


def plot_rate_distortion(
    ax: Axes,
    mr_curve: Sequence[Mapping[str, float]],
    constant: Sequence[Mapping[str, float]] | None = None,
    annealed: Sequence[Mapping[str, float]] | None = None,
    *,
    title: str = "",
    mr_label: str = "MR-VAE (one run)",
) -> None:
    """MR-VAE curve against β-VAE points; each entry needs ``rate`` and ``distortion``."""
    ax.plot([p["rate"] for p in mr_curve], [p["distortion"] for p in mr_curve], label=mr_label, **MR_STYLE)
    if constant:
        ax.plot([p["rate"] for p in constant], [p["distortion"] for p in constant],
                label="β-VAEs, constant β", **CONSTANT_STYLE)
    if annealed:
        ax.plot([p["rate"] for p in annealed], [p["distortion"] for p in annealed],
                label="β-VAEs, KL annealing", **ANNEALED_STYLE)
    ax.set_xlabel("rate (nats)")
    ax.set_ylabel("distortion (nats)")
    if title:
        ax.set_title(title)


def mark_not_run(ax: Axes, title: str, reason: str) -> None:
    """An empty panel that says why it has no data (never a fake curve)."""
    ax.set_title(title)
    ax.text(0.5, 0.5, reason, ha="center", va="center", wrap=True, fontsize=9, transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.grid(False)
