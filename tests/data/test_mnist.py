"""Tests for data-root discovery and the MNIST idx loader."""

from __future__ import annotations

import gzip
import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from mrvae.data import mnist, roots
from mrvae.data import DATA_ENV_VAR, DatasetNotFoundError, load_mnist

SHARED_MNIST = roots.SHARED_DATA / "MNIST" / "raw"
# find_spec, not importorskip: importing torchvision before the shim may raise RuntimeError.
HAS_TORCHVISION = importlib.util.find_spec("torchvision") is not None


def idx_bytes(array: np.ndarray, magic: int) -> bytes:
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(
    root: Path, prefix: str, n: int, *, gz: bool, seed: int = 0, image_magic: int = 2051
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n, dtype=np.uint8)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, payload in [
        (f"{prefix}-images-idx3-ubyte", idx_bytes(images, image_magic)),
        (f"{prefix}-labels-idx1-ubyte", idx_bytes(labels, 2049)),
    ]:
        if gz:
            (raw / f"{name}.gz").write_bytes(gzip.compress(payload))
        else:
            (raw / name).write_bytes(payload)
    return images, labels


@pytest.mark.parametrize("gz", [True, False])
@pytest.mark.parametrize(("split", "prefix"), [("train", "train"), ("test", "t10k")])
def test_load_synthetic(tmp_path: Path, gz: bool, split: str, prefix: str) -> None:
    images, labels = write_mnist(tmp_path, prefix, 7, gz=gz)
    x, y = load_mnist(split, root=tmp_path, verify=False)
    assert x.shape == (7, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (7,) and y.dtype == torch.int64
    assert float(x.min()) >= 0.0 and float(x.max()) <= 1.0
    np.testing.assert_allclose(x[:, 0].numpy() * 255.0, images, atol=1e-3)
    np.testing.assert_array_equal(y.numpy(), labels)


def test_repeated_load_is_cached(tmp_path: Path) -> None:
    write_mnist(tmp_path, "t10k", 3, gz=True)
    first = load_mnist("test", root=tmp_path, verify=False)
    second = load_mnist("test", root=tmp_path, verify=False)
    assert first[0] is second[0] and first[1] is second[1]


def test_missing_data_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path))
    with pytest.raises(DatasetNotFoundError) as info:
        load_mnist("test")
    message = str(info.value)
    assert isinstance(info.value, FileNotFoundError)
    assert "MNIST" in message and "MRVAE_DATA" in message
    assert str(tmp_path.resolve()) in message
    for name in ["t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]:
        assert f"MNIST/raw/{name}.gz" in message
    assert "download=True" in message


def test_find_dataset_lists_every_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetNotFoundError) as info:
        roots.find_dataset(["Foo/bar.npz", "Foo/baz.npz"], "Foo")
    message = str(info.value)
    for root in roots.data_roots():
        assert str(root) in message
    assert "Foo/bar.npz" in message and "Foo/baz.npz" in message and "MRVAE_DATA" in message


def test_find_dataset_needs_all_files(tmp_path: Path) -> None:
    first, second = tmp_path / "a", tmp_path / "b"
    (first / "D").mkdir(parents=True)
    (second / "D").mkdir(parents=True)
    (first / "D" / "x").write_text("x")
    (second / "D" / "x").write_text("x")
    (second / "D" / "y").write_text("y")
    assert roots.find_dataset(["D/x", "D/y"], "D", roots=[first, second]) == second
    assert roots.find_dataset(["D/x"], "D", roots=[first, second]) == first


def test_data_roots_default_and_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.chdir(tmp_path)
    found = roots.data_roots()
    assert found[0] == (tmp_path / "data").resolve()
    assert (roots.REPO_ROOT / "data").resolve() in found
    assert (roots.REPO_ROOT.parent / "shared" / "data").resolve() in found
    assert len(found) == len(set(found))

    monkeypatch.chdir(roots.REPO_ROOT)  # ./data and <repo>/data coincide: deduplicated
    assert roots.data_roots() == [r for r in found if r != (tmp_path / "data").resolve()]

    monkeypatch.setenv(DATA_ENV_VAR, str(tmp_path / "elsewhere"))
    assert roots.data_roots() == [(tmp_path / "elsewhere").resolve()]


def test_env_var_takes_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cwd_root, env_root = tmp_path / "cwd", tmp_path / "env"
    write_mnist(cwd_root / "data", "t10k", 2, gz=True, seed=1)
    _, env_labels = write_mnist(env_root, "t10k", 5, gz=True, seed=2)
    monkeypatch.chdir(cwd_root)
    monkeypatch.setenv(DATA_ENV_VAR, str(env_root))
    _, y = load_mnist("test", verify=False)
    np.testing.assert_array_equal(y.numpy(), env_labels)
    monkeypatch.delenv(DATA_ENV_VAR)
    _, y = load_mnist("test", verify=False)
    assert y.shape == (2,)  # ./data is the first default root


def test_bad_magic_number(tmp_path: Path) -> None:
    write_mnist(tmp_path, "t10k", 2, gz=True, image_magic=2049)
    with pytest.raises(ValueError, match="magic number"):
        load_mnist("test", root=tmp_path, verify=False)


def test_truncated_file(tmp_path: Path) -> None:
    write_mnist(tmp_path, "t10k", 2, gz=False)
    path = tmp_path / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(ValueError, match="shape"):
        load_mnist("test", root=tmp_path, verify=False)


def test_bad_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'train', 'test'"):
        load_mnist("valid", root=tmp_path)


@pytest.mark.skipif(not HAS_TORCHVISION, reason="torchvision not installed")
def test_md5_mismatch_detected(tmp_path: Path) -> None:
    write_mnist(tmp_path, "t10k", 2, gz=True)
    with pytest.raises(ValueError, match="md5"):
        load_mnist("test", root=tmp_path, verify=True)


def test_download_refuses_shared_folder() -> None:
    with pytest.raises(PermissionError):
        mnist._download_mnist(roots.SHARED_DATA, "test")


@pytest.mark.skipif(
    not (SHARED_MNIST / "t10k-images-idx3-ubyte.gz").is_file(), reason="shared MNIST absent"
)
def test_real_mnist_test_split() -> None:
    x, y = load_mnist("test", root=roots.SHARED_DATA, verify=True)
    assert x.shape == (10000, 1, 28, 28) and x.dtype == torch.float32
    assert y.shape == (10000,) and y.dtype == torch.int64
    assert float(x.min()) == 0.0 and float(x.max()) == 1.0
    assert sorted(y.unique().tolist()) == list(range(10))
    assert y[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]  # well-known first test labels


def test_an_installed_package_looks_only_below_the_working_directory(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from mrvae_companion.figures import FIGURE_DIR_ENV_VAR, figure_dir
    from mrvae_companion.runtime import RUN_DIR_ENV_VAR, run_root

    site_packages = tmp_path / "site-packages"  # no pyproject.toml beside the package
    (site_packages / "mrvae").mkdir(parents=True)
    monkeypatch.setattr(roots, "REPO_ROOT", site_packages)
    for name in (DATA_ENV_VAR, FIGURE_DIR_ENV_VAR, RUN_DIR_ENV_VAR):
        monkeypatch.delenv(name, raising=False)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    assert roots.checkout_root() is None
    assert roots.data_roots() == [work.resolve() / "data"]
    assert figure_dir() == work / "figures" and run_root() == work / "runs"
