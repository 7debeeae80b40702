"""Run-time helpers shared by the notebooks: seeding, devices, profiles, timing."""

from __future__ import annotations

import functools
import hashlib
import os
import platform
import random
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch

import mrvae
from mrvae.data.roots import checkout_root


def seed_everything(seed: int, threads: int | None = 2) -> None:
    """Seed Python, NumPy and torch, and fix torch's CPU thread count.

    CPU kernels may sum in a different order with a different thread count, so
    results are reproducible on machines of one kind only with ``threads`` fixed.
    """
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if threads is not None:
        torch.set_num_threads(threads)


def pick_device(requested: str = "auto") -> torch.device:
    """``"auto"`` → CUDA when available, else CPU; otherwise exactly what was asked."""
    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"unknown device {requested!r}; use 'auto', 'cpu', 'cuda' or 'cuda:N' (command line: "
                         f"--device)") from error
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device='cuda' was requested but no GPU is visible; use device='cpu' or 'auto'")
    return device


def select_profile(profiles: Mapping[str, Mapping[str, Any]], name: str) -> dict[str, Any]:
    """The settings of profile ``name`` (e.g. ``quick`` or ``paper``), with a clear error."""
    if name not in profiles:
        raise ValueError(f"unknown profile {name!r}; choose one of {sorted(profiles)} "
                         f"(papermill: -p profile quick)")
    return dict(profiles[name])


#: Environment settings that make this CPU compute as an older one would: ATen's vectorised
#: kernels (``ATEN_CPU_CAPABILITY``) and the instruction sets oneDNN (convolutions) and MKL
#: (matrix products) may use. ATen's switch alone leaves oneDNN's AVX-512 convolutions in place,
#: and the quick models then train float for float as on an AVX-512 CPU.
EMULATED_CPUS: dict[str, dict[str, str]] = {
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_ENABLE_INSTRUCTIONS": "AVX2"},
    "default": {"ATEN_CPU_CAPABILITY": "default", "ONEDNN_MAX_CPU_ISA": "SSE41",
                "MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
}


def kernel_path() -> str:
    """The CPU kernels this process computes with: torch's dispatch (``avx512``, ``avx2``,
    ``default`` on x86, ...), plus oneDNN's instruction-set cap where ``ONEDNN_MAX_CPU_ISA`` sets one
    (``default+onednn_sse41``).

    The same seed gives other floats under another path, and 1,000 training steps carry them
    into the second digit of a metric (:data:`EMULATED_CPUS`, :mod:`mrvae_companion.checks`).
    """
    path = torch.backends.cpu.get_cpu_capability().lower()
    onednn = os.environ.get("ONEDNN_MAX_CPU_ISA", "").strip().lower()
    return f"{path}+onednn_{onednn}" if onednn and onednn != "all" else path


@functools.lru_cache(maxsize=1)
def cpu_model() -> str:
    """The processor's marketing name (``AMD EPYC``, ``Apple M2``, ...), or its architecture."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith(("model name", "cpu model", "hardware")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if platform.system() == "Darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  check=True, timeout=5).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


class Stopwatch:
    """Wall time of a block: ``with Stopwatch() as t: ...; t.seconds``."""

    def __enter__(self) -> Stopwatch:
        self._start = time.perf_counter()
        self.seconds = 0.0
        return self

    def __exit__(self, *exc: object) -> None:
        self.seconds = time.perf_counter() - self._start


RUN_DIR_ENV_VAR = "MRVAE_RUN_DIR"
#: The packages whose files :func:`source_digest` reads: the library and this one, wherever
#: each is installed (two folders of a checkout, or site-packages).
_SOURCE_PACKAGES: dict[str, Path] = {"mrvae": Path(mrvae.__file__).resolve().parent,
                                     "mrvae_companion": Path(__file__).resolve().parent}


#: Package files (or folders) whose code decides what a trained model is: its data, network,
#: objective, optimiser and training loop. Cached models are keyed by these only.
TRAINING_SOURCES: tuple[str, ...] = (
    "mrvae/_compat.py", "mrvae/_validate.py", "mrvae/data", "mrvae/hyper",
    "mrvae/metrics/features.py", "mrvae/metrics/fid.py",  # the FCD's classifier is trained
    "mrvae/metrics/rate_distortion.py",  # evaluate() is the plateau rule's validation loss
    "mrvae/models", "mrvae/training/checkpoints.py",
    "mrvae/training/config.py", "mrvae/training/distributed.py", "mrvae/training/inputs.py",
    "mrvae/training/loop.py", "mrvae/training/optim.py", "mrvae/training/pool.py",
    "mrvae/training/population.py", "mrvae/training/schedules.py", "mrvae/training/sweep.py",
    "mrvae_companion/experiments.py", "mrvae_companion/families.py", "mrvae_companion/learning_curves.py",
    "mrvae_companion/panels.py", "mrvae_companion/profiles.py", "mrvae_companion/runner.py", "mrvae_companion/tcvae.py",
)
#: Files that only evaluate, plot, time or report: editing them keeps every cached model.
REPORTING_SOURCES: tuple[str, ...] = (
    "mrvae/__init__.py", "mrvae/metrics/__init__.py", "mrvae/metrics/mig.py", "mrvae/metrics/text.py",
    "mrvae/training/__init__.py", "mrvae/training/timing.py", "mrvae/training/progress.py",
    "mrvae_companion/__init__.py", "mrvae_companion/__main__.py", "mrvae_companion/checks.py",
    "mrvae_companion/cli.py", "mrvae_companion/demo.py", "mrvae_companion/executed.py", "mrvae_companion/explorer.py",
    "mrvae_companion/figures.py",
    "mrvae_companion/panel_metrics.py", "mrvae_companion/panel_result.py", "mrvae_companion/prose.py",
    "mrvae_companion/runtime.py",
    "mrvae_companion/schema.py",
    "mrvae_companion/scoreboard", "mrvae_companion/seeds.py",
)


def _is_listed(relative: str, listed: tuple[str, ...]) -> bool:
    return any(relative == entry or relative.startswith(entry + "/") for entry in listed)


def _package_sources() -> list[tuple[str, Path]]:
    """``("<package>/<path>", file)`` for every Python file of both packages, sorted."""
    return sorted((f"{name}/{path.relative_to(folder).as_posix()}", path)
                  for name, folder in _SOURCE_PACKAGES.items() for path in folder.rglob("*.py"))


def unclassified_sources() -> list[str]:
    """Package files in neither list (a test keeps this empty, so new modules get classified)."""
    return [name for name, _ in _package_sources() if not _is_listed(name, TRAINING_SOURCES + REPORTING_SOURCES)]


@functools.lru_cache(maxsize=1)
def source_digest() -> str:
    """First 10 hex digits of a hash over the package files that affect training.

    Part of every run directory, so checkpoints written by other training code are never
    resumed, while a change to plotting or evaluation code reuses them
    (:data:`TRAINING_SOURCES` / :data:`REPORTING_SOURCES`).
    """
    digest = hashlib.sha256()
    for relative, path in _package_sources():
        if _is_listed(relative, TRAINING_SOURCES):
            digest.update(relative.encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def run_root() -> Path:
    """Where trained models are cached: ``$MRVAE_RUN_DIR``, else ``<checkout>/runs``.

    A checkout is recognised by the ``pyproject.toml`` beside the package; an installed
    package falls back to ``./runs``. Notebooks executed from different working
    directories (papermill, nbval) therefore share one cache in a checkout.
    """
    env = os.environ.get(RUN_DIR_ENV_VAR)
    if env:
        return Path(env).expanduser().resolve()
    checkout = checkout_root()
    if checkout is not None:
        return checkout / "runs"
    return Path.cwd() / "runs"


def run_directory(profile: str, *parts: str) -> Path:
    """``run_root()/<profile>/<source_digest()>-<kernel_path()>/<parts...>`` (not created).

    The kernel path is part of the key so that a run under another ``ATEN_CPU_CAPABILITY``
    (``make check-kernel``) trains its own models instead of loading this path's.
    """
    return run_root().joinpath(profile, f"{source_digest()}-{kernel_path()}", *parts)
