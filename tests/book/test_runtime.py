from pathlib import Path

import pytest

import mrvae_companion.runtime as runtime


def test_every_package_file_is_classified_for_the_model_cache() -> None:
    assert runtime.unclassified_sources() == []
    assert not set(runtime.TRAINING_SOURCES) & set(runtime.REPORTING_SOURCES)


def _digest_with(monkeypatch, tmp_path: Path, edit: str) -> str:
    """The digest of a copy of both packages in which ``edit`` ("<package>/<path>") gained a line."""
    copies = {}
    for name, package in runtime._SOURCE_PACKAGES.items():
        copies[name] = copy = tmp_path / edit.replace("/", "_") / name
        for path in package.rglob("*.py"):
            target = copy / path.relative_to(package)
            target.parent.mkdir(parents=True, exist_ok=True)
            text = path.read_text()
            edited = f"{name}/{path.relative_to(package).as_posix()}" == edit
            target.write_text(text + "\n# edited\n" if edited else text)
    monkeypatch.setattr(runtime, "_SOURCE_PACKAGES", copies)
    runtime.source_digest.cache_clear()
    try:
        return runtime.source_digest()
    finally:
        runtime.source_digest.cache_clear()


def test_cache_key_changes_with_training_code_only(monkeypatch, tmp_path) -> None:
    base = _digest_with(monkeypatch, tmp_path, "none")
    assert _digest_with(monkeypatch, tmp_path, "mrvae_companion/figures.py") == base
    assert _digest_with(monkeypatch, tmp_path, "mrvae/metrics/mig.py") == base
    # evaluate() is the validation loss of the plateau rule (the paper-profile text VAE): it trains too
    assert _digest_with(monkeypatch, tmp_path, "mrvae/metrics/rate_distortion.py") != base
    assert _digest_with(monkeypatch, tmp_path, "mrvae/training/loop.py") != base
    assert _digest_with(monkeypatch, tmp_path, "mrvae/models/base.py") != base
    assert _digest_with(monkeypatch, tmp_path, "mrvae/hyper/layers.py") != base
    assert _digest_with(monkeypatch, tmp_path, "mrvae_companion/experiments.py") != base


def _in_subprocess(code: str, **env: str) -> str:
    import os
    import subprocess
    import sys

    return subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True, text=True,
                          check=True).stdout.strip()


def test_another_kernel_path_gets_its_own_model_cache(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv(runtime.RUN_DIR_ENV_VAR, str(tmp_path))
    here = runtime.run_directory("quick", "images")
    assert here.parent.name.endswith("-" + runtime.kernel_path())
    code = ("from mrvae_companion.runtime import run_directory, kernel_path; "
            "print(kernel_path(), run_directory('quick'))")
    path, directory = _in_subprocess(code, **runtime.EMULATED_CPUS["default"], MRVAE_RUN_DIR=str(tmp_path)).split()
    assert path == "default+onednn_sse41"
    assert Path(directory).name == f"{runtime.source_digest()}-default+onednn_sse41"
    if runtime.kernel_path() != "default":
        assert Path(directory) != here.parent


def test_provenance_names_the_cpu_and_its_kernel_path() -> None:
    import torch

    from mrvae_companion.figures import machine_description, provenance

    record = provenance(seed=0, config={}, device=torch.device("cpu"), wall_seconds=1.0)
    assert record["cpu_kernels"] == runtime.kernel_path()
    assert record["cpu"] == runtime.cpu_model() and record["cpu"]
    assert f"{runtime.kernel_path()} kernels" in machine_description()


_TRAIN_TINY = """
import torch
torch.manual_seed(0); torch.set_num_threads(1)
net = torch.nn.Sequential(torch.nn.Conv2d(1, 8, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
                          torch.nn.Linear(8 * 14 * 14, 10))
x, y = torch.randn(32, 1, 14, 14), torch.randint(0, 10, (32,))
opt = torch.optim.Adam(net.parameters(), 1e-3)
for _ in range(12):
    opt.zero_grad(); torch.nn.functional.cross_entropy(net(x), y).backward(); opt.step()
print(repr(sum(p.double().sum().item() for p in net.parameters())))
"""


def test_an_emulated_cpu_trains_other_floats_from_the_same_seed() -> None:
    """What the regression checks' bands measure: the same seed, other digits, as another CPU."""
    own = _in_subprocess(_TRAIN_TINY)
    assert _in_subprocess(_TRAIN_TINY) == own  # deterministic on one path
    if runtime.kernel_path() == "default":
        pytest.skip("this CPU already runs torch's portable kernels")
    assert _in_subprocess(_TRAIN_TINY, **runtime.EMULATED_CPUS["default"]) != own
