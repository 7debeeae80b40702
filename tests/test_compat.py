"""Tests for the torchvision CPU/CUDA mismatch shim in ``mrvae._compat``."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import mrvae._compat as compat

REPO_ROOT = Path(__file__).resolve().parent.parent
HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


def run_fresh(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new interpreter, where no torchvision ops are registered yet."""
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


@pytest.mark.parametrize(
    ("torch_cuda", "tag", "ops_present", "expected"),
    [
        ("13.0", "cu130", False, False),  # CUDA torch: the extension loads
        ("12.6", None, False, False),
        (None, "cpu", False, False),  # CPU torchvision matches CPU torch
        (None, None, False, False),  # untagged (e.g. source build)
        (None, "cu130", True, False),  # ops already registered: leave it alone
        (None, "rocm6.4", False, False),
        (None, "cu130", False, True),  # the broken combination
        (None, "cu126", False, True),
    ],
)
def test_needs_torchvision_shim(
    torch_cuda: str | None, tag: str | None, ops_present: bool, expected: bool
) -> None:
    assert compat.needs_torchvision_shim(torch_cuda, tag, ops_present) is expected


@pytest.mark.parametrize(
    ("version", "expected"),
    [("0.28.0+cu130", "cu130"), ("0.28.0+cpu", "cpu"), ("0.28.0", None), ("0.28.0+", None)],
)
def test_torchvision_build_tag_reads_version_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, version: str, expected: str | None
) -> None:
    (tmp_path / "version.py").write_text(f"__version__ = '{version}'\ngit_version = 'abc'\n")
    spec = importlib.machinery.ModuleSpec("torchvision", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path)]
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: spec)
    assert compat.torchvision_build_tag() == expected


def test_torchvision_build_tag_without_torchvision(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert compat.torchvision_build_tag() is None


@pytest.mark.skipif(not HAS_TORCHVISION, reason="torchvision not installed")
def test_torchvision_imports_after_shim() -> None:
    proc = run_fresh(
        """
        import sys
        import mrvae._compat as c
        c.install_torchvision_shim()
        import torch
        import torchvision
        from torchvision import datasets, models, transforms
        from torchvision.utils import make_grid
        grid = make_grid(torch.rand(4, 1, 28, 28), nrow=2)
        assert grid.shape == (3, 62, 62), grid.shape
        assert hasattr(datasets, "MNIST") and hasattr(transforms, "ToTensor")
        print("OK", torchvision.__version__)
        """
    )
    assert proc.stdout.startswith("OK")


def test_working_install_left_untouched() -> None:
    # Simulate a torchvision whose compiled ops registered fine.
    proc = run_fresh(
        """
        import torch
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import mrvae._compat as c
        assert c.install_torchvision_shim() is False
        assert c._SHIM_LIBRARY is None
        print("OK")
        """
    )
    assert proc.stdout.strip() == "OK"


def test_install_is_idempotent() -> None:
    # Load _compat.py on its own: importing it as mrvae._compat would run the package
    # __init__, which already installs the shim.
    proc = run_fresh(
        f"""
        import importlib.util
        import sys
        import torch
        spec = importlib.util.spec_from_file_location(
            "standalone_compat", {str(REPO_ROOT / "mrvae" / "_compat.py")!r}
        )
        c = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(c)
        tag = c.torchvision_build_tag()
        assert "torchvision" not in sys.modules, "reading the tag must not import torchvision"
        expected = c.needs_torchvision_shim(torch.version.cuda, tag, False)
        assert c.install_torchvision_shim() is expected
        assert c.install_torchvision_shim() is False
        assert c.install_torchvision_shim() is False
        import mrvae._compat  # the package's own install must see the schemas and skip
        assert mrvae._compat.install_torchvision_shim() is False
        print("OK", expected)
        """
    )
    assert proc.stdout.startswith("OK")
