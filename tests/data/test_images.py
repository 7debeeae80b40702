"""Tests for the image dataset loaders, on tiny synthetic files in the real layouts."""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from mrvae.data import images as D
from mrvae.data.images import rgb
from mrvae.data.roots import SHARED_DATA, DatasetNotFoundError

# ----------------------------------------------------------------------------- helpers


def amat_text(rows: np.ndarray, sep: str = " ", newline: str = "\n") -> bytes:
    return "".join(sep.join(str(v) for v in row) + newline for row in rows).encode()


def write_amat(root: Path, split: str, rows: np.ndarray, **kw: str) -> Path:
    path = root / "BinarizedMNIST" / f"binarized_mnist_{split}.amat.gz"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(amat_text(rows, **kw)))
    return path


def omniglot_image(ink_rows: int, ink_cols: int) -> np.ndarray:
    """White 105x105 image with a black (0) top-left block of the given size."""
    image = np.full((105, 105), 255, dtype=np.uint8)
    image[:ink_rows, :ink_cols] = 0
    return image


def write_omniglot(root: Path, counts: dict[str, int], shuffle: bool = False) -> None:
    folder = root / "Omniglot"
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for part, n in counts.items():
        # 15 ink rows/cols = exactly 4 output pixels at 3.75 input pixels per output pixel.
        images = np.stack([omniglot_image(15, 15 if i % 2 else 30) for i in range(n)])
        paths = np.array(
            [f"images_{part}/Alpha/character{i // 2:02d}/{i:04d}_01.png" for i in range(n)]
        )
        order = rng.permutation(n) if shuffle else np.arange(n)
        np.savez_compressed(
            folder / f"omniglot_images_{part}_105x105_uint8.npz",
            images=images[order],
            paths=paths[order],
        )


def write_image(path: Path, pixels: np.ndarray) -> None:
    """Save losslessly (PNG bytes) under a .jpg name: PIL decodes by content, not suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format="PNG")


def cifar_pickle(path: Path, n: int, seed: int) -> tuple[np.ndarray, list[int]]:
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).tolist()
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as fh:
        pickle.dump({"data": data, "labels": labels}, fh)
    return data, labels


# ---------------------------------------------------------------------- area resampling


def test_area_resample_integer_factor_is_average_pooling() -> None:
    x = torch.rand(2, 3, 12, 8, generator=torch.Generator().manual_seed(0))
    torch.testing.assert_close(D.area_resample(x, (3, 2)), F.avg_pool2d(x, 4))


def test_area_resample_fractional_cells_and_box() -> None:
    x = torch.tensor([0.0, 3.0, 6.0]).reshape(1, 1, 1, 3)
    # Cells of 1.5 pixels: (0 + 0.5*3)/1.5 = 1 and (0.5*3 + 6)/1.5 = 5.
    torch.testing.assert_close(D.area_resample(x, (1, 2)), torch.tensor([[[[1.0, 5.0]]]]))
    # A box [0.5, 2.5) in one cell: (0.5*0 + 3 + 0.5*6) / 2 = 3.
    boxed_mean = D.area_resample(x, (1, 1), (0.0, 0.5, 1.0, 2.0)).flatten()
    torch.testing.assert_close(boxed_mean, torch.tensor([3.0]))
    constant = torch.full((1, 2, 105, 105), 0.3)
    torch.testing.assert_close(D.area_resample(constant, (28, 28)), torch.full((1, 2, 28, 28), 0.3))
    with pytest.raises(ValueError, match="inside"):
        D.area_resample(x, (1, 1), (0.0, 2.0, 1.0, 2.0))


# ---------------------------------------------------------------------- binarized MNIST


@pytest.mark.parametrize("split", ["train", "valid", "test"])
def test_binarized_mnist_parses_all_splits(tmp_path: Path, split: str) -> None:
    rows = np.random.default_rng(1).integers(0, 2, size=(5, 784))
    write_amat(tmp_path, split, rows)
    data = D.load_binarized_mnist(split, root=tmp_path)
    assert data.images.shape == (5, 1, 28, 28) and data.images.dtype == torch.float32
    np.testing.assert_array_equal(data.images.reshape(5, 784).numpy(), rows)
    assert data.binarized and data.labels is None and "5 rows" in data.source
    assert D.load_binarized_mnist(split, root=tmp_path) is data  # cached


def test_binarized_mnist_other_whitespace_and_bad_files(tmp_path: Path) -> None:
    rows = np.random.default_rng(2).integers(0, 2, size=(3, 784))
    write_amat(tmp_path, "test", rows, sep="\t", newline="\r\n")
    parsed = D.load_binarized_mnist("test", root=tmp_path).images.reshape(3, 784)
    np.testing.assert_array_equal(parsed, rows)
    bad = rows.copy()
    bad[1, 7] = 2
    write_amat(tmp_path, "valid", bad)
    with pytest.raises(ValueError, match="0 or 1"):
        D.load_binarized_mnist("valid", root=tmp_path)
    write_amat(tmp_path, "train", rows[:, :780])
    with pytest.raises(ValueError, match="expected 784"):
        D.load_binarized_mnist("train", root=tmp_path)


def test_binarized_mnist_missing_split_and_download(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"download=True.*larocheh"):
        D.load_binarized_mnist("test", root=tmp_path)
    with pytest.raises(ValueError, match="'train', 'valid', 'test'"):
        D.load_binarized_mnist("validation", root=tmp_path)
    with pytest.raises(PermissionError, match="shared"):
        D.load_binarized_mnist("valid", root=SHARED_DATA / "nowhere", download=True)


# ----------------------------------------------------------------------------- Omniglot


def test_omniglot_downsamples_inverts_and_splits(tmp_path: Path) -> None:
    write_omniglot(tmp_path, {"background": 12, "evaluation": 8})
    train = D.load_omniglot28("train", tmp_path, n_train=12, n_test=6)
    test = D.load_omniglot28("test", tmp_path, n_train=12, n_test=6)
    assert train.images.shape == (12, 1, 28, 28) and test.images.shape == (6, 1, 28, 28)
    assert set(train.index.tolist()).isdisjoint(test.index.tolist())
    assert "2 unused" in train.source
    # Ink rows [0, 15) become exactly output rows [0, 4); cols [0, 30) exactly cols [0, 8).
    expected = torch.zeros(20, 28, 28)
    expected[:, :4, :4] = 1.0
    expected[0::2, :4, :8] = 1.0  # even images (paths sorted) have the wider block
    torch.testing.assert_close(train.images[:, 0], expected[train.index], atol=1e-5, rtol=0)
    assert not train.binarized and test.binarized and D.ImageData is type(test)
    assert set(test.images.unique().tolist()) <= {0.0, 1.0}
    assert train.labels.tolist() == (train.index // 2).tolist()  # two images per character


def test_omniglot_split_is_seeded_and_storage_order_free(tmp_path: Path) -> None:
    write_omniglot(tmp_path / "a", {"background": 12, "evaluation": 8})
    write_omniglot(tmp_path / "b", {"background": 12, "evaluation": 8}, shuffle=True)
    kw = {"n_train": 10, "n_test": 10}
    a = D.load_omniglot28("train", tmp_path / "a", **kw)
    b = D.load_omniglot28("train", tmp_path / "b", **kw)
    assert torch.equal(a.index, b.index) and torch.equal(a.images, b.images)
    other = D.load_omniglot28("train", tmp_path / "a", seed=1, **kw)
    assert not torch.equal(a.index, other.index)
    t1 = D.load_omniglot28("test", tmp_path / "a", **kw)
    t2 = D.load_omniglot28("test", tmp_path / "b", **kw)
    assert torch.equal(t1.images, t2.images)  # fixed-seed test binarisation
    with pytest.raises(ValueError, match="n_train"):
        D.load_omniglot28("train", tmp_path / "a")  # the real 24,345/8,070 is the default
    with pytest.raises(ValueError, match="'train', 'test'"):
        D.load_omniglot28("valid", tmp_path / "a")
    with pytest.raises(DatasetNotFoundError, match="images_background.zip.*brendenlake/omniglot"):
        D.load_omniglot28("train", tmp_path / "missing")


def test_omniglot_npz_from_pngs(tmp_path: Path) -> None:
    for part in D.OMNIGLOT_PARTS:
        for c in range(2):
            folder = _mkdir(tmp_path / "png" / f"images_{part}" / "Alpha" / f"character{c:02d}")
            Image.fromarray(omniglot_image(15, 15)).convert("1").save(folder / "0001_01.png")
        D.omniglot_npz_from_pngs(
            tmp_path / "png" / f"images_{part}",
            tmp_path / "Omniglot" / f"omniglot_images_{part}_105x105_uint8.npz",
        )
    with np.load(tmp_path / "Omniglot" / "omniglot_images_background_105x105_uint8.npz") as npz:
        expected = [f"images_background/Alpha/character{c:02d}/0001_01.png" for c in range(2)]
        assert npz["paths"].tolist() == expected
        np.testing.assert_array_equal(npz["images"][0], omniglot_image(15, 15))
    data = D.load_omniglot28("test", tmp_path, n_train=2, n_test=2, binarize_test=False)
    assert float(data.images[:, 0, :4, :4].min()) == pytest.approx(1.0)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_dynamic_binarize() -> None:
    p = torch.full((4000, 1, 2, 2), 0.3)
    x = D.dynamic_binarize(p, torch.Generator().manual_seed(0))
    assert x.shape == p.shape and set(x.unique().tolist()) == {0.0, 1.0}
    assert float(x.mean()) == pytest.approx(0.3, abs=0.02)  # 16,000 draws: sd 0.004
    assert not torch.equal(x, D.dynamic_binarize(p, torch.Generator().manual_seed(1)))


# ----------------------------------------------------------------------------- CIFAR-10


def write_cifar_offline(root: Path) -> tuple[np.ndarray, np.ndarray]:
    folder = _mkdir(root / "CIFAR10")
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, size=(6, 32, 32, 3), dtype=np.uint8)
    labels = rng.integers(0, 10, size=6)
    train_index = np.array([40, 3, 17, 49_999, 0, 8])
    for i, part in enumerate((slice(0, 4), slice(4, 6))):
        np.savez(folder / f"cifar10_train_part{i}.npz", images=images[part], labels=labels[part],
                 train_index=train_index[part], source=np.array(["x"] * len(labels[part])))
    uncertain = np.arange(5) == 0
    np.savez(folder / "cifar10_test.npz", images=images[:5], labels=labels[:5], uncertain=uncertain)
    order = np.argsort(train_index)
    return images[order], labels[order]


def test_cifar10_offline_in_official_order(tmp_path: Path) -> None:
    images, labels = write_cifar_offline(tmp_path)
    train = D.load_cifar10("train", tmp_path)
    assert train.index.tolist() == [0, 3, 8, 17, 40, 49_999]
    np.testing.assert_allclose(train.images.permute(0, 2, 3, 1).numpy() * 255, images, atol=1e-3)
    assert train.labels.tolist() == labels.tolist() and "6 of 50,000" in train.source
    test = D.load_cifar10("test", tmp_path)
    assert test.images.shape == (5, 3, 32, 32) and "1 positions flagged" in test.source


def test_cifar10_official_batches_win(tmp_path: Path) -> None:
    write_cifar_offline(tmp_path)
    batches = tmp_path / "cifar-10-batches-py"
    data, labels = cifar_pickle(batches / "test_batch", 3, seed=4)
    test = D.load_cifar10("test", tmp_path, verify=False)
    assert "official" in test.source and test.images.shape == (3, 3, 32, 32)
    np.testing.assert_allclose(test.images.reshape(3, -1).numpy() * 255, data, atol=1e-3)
    assert test.labels.tolist() == labels
    with pytest.raises(ValueError, match="md5"):  # synthetic batches are not the published files
        D.load_cifar10("test", tmp_path, verify=True)
    for i in range(1, 6):
        cifar_pickle(batches / f"data_batch_{i}", 2, seed=i)
    assert D.load_cifar10("train", tmp_path, verify=False).images.shape == (10, 3, 32, 32)


def test_cifar10_missing(tmp_path: Path) -> None:
    with pytest.raises(DatasetNotFoundError, match=r"download=True(.|\n)*offline copy"):
        D.load_cifar10("test", tmp_path)
    with pytest.raises(ValueError, match="'train', 'test'"):
        D.load_cifar10("val", tmp_path)


# --------------------------------------------------------------------------------- SVHN


def test_svhn_mat_and_missing(tmp_path: Path) -> None:
    from scipy.io import savemat

    rng = np.random.default_rng(5)
    x = rng.integers(0, 256, size=(32, 32, 3, 4), dtype=np.uint8)
    y = np.array([[10], [1], [9], [10]])
    savemat(_mkdir(tmp_path / "SVHN") / "test_32x32.mat", {"X": x, "y": y})
    data = D.load_svhn("test", tmp_path, verify=False)
    assert data.images.shape == (4, 3, 32, 32) and data.labels.tolist() == [0, 1, 9, 0]
    np.testing.assert_allclose(data.images[2, 1].numpy() * 255, x[:, :, 1, 2], atol=1e-3)
    with pytest.raises(DatasetNotFoundError, match="no offline copy(.|\n)*download=True"):
        D.load_svhn("train", tmp_path)


# ------------------------------------------------------------------------------- CelebA


def boxed(height: int, width: int, top: int, left: int, side: int) -> np.ndarray:
    """Black RGB image, white on the rows/cols that the crop box touches."""
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[top : top + side, left : left + side] = 255
    return pixels


def test_celeba_offline_split_crop_and_cache(tmp_path: Path) -> None:
    folder = tmp_path / D.CELEBA_OFFLINE_DIR
    # The crop at half size is [17.5, 91.5) x [7.5, 81.5): white on exactly the pixels it touches.
    for number in (1, 9000, 9001, 10_000):
        write_image(folder / f"{number:06d}.jpg", boxed(109, 89, 17, 7, 75))
    train = D.load_celeba64("train", tmp_path)
    test = D.load_celeba64("test", tmp_path)
    assert train.images.shape == (2, 3, 64, 64) and test.images.shape == (2, 3, 64, 64)
    assert "000001-009000" in train.source and "official training partition" in train.source
    torch.testing.assert_close(train.images, torch.ones(2, 3, 64, 64))
    # A one-pixel-wider crop would reach the black border and darken the edge.
    write_image(folder / "000002.jpg", boxed(109, 89, 18, 8, 73))
    wider = D.load_celeba64("train", tmp_path).images[1]
    assert float(wider[:, 0].max()) < 0.99 and float(wider[:, 1:-1, 1:-1].min()) > 0.99

    cache = tmp_path / "cache"
    first = D.load_celeba64("test", tmp_path, cache_dir=cache)
    assert len(list(cache.glob("*.npy"))) == 1
    rgb._celeba_cached.cache_clear()
    assert torch.equal(D.load_celeba64("test", tmp_path, cache_dir=cache).images, first.images)
    with pytest.raises(ValueError, match="no 'valid' split"):
        D.load_celeba64("valid", tmp_path)


def test_celeba_md5_list_is_checked(tmp_path: Path) -> None:
    folder = tmp_path / D.CELEBA_OFFLINE_DIR
    write_image(folder / "000001.jpg", boxed(109, 89, 0, 0, 50))
    folder.with_name(folder.name + ".md5").write_text(f"{'0' * 32}  {folder.name}/000001.jpg\n")
    with pytest.raises(ValueError, match="md5"):
        D.load_celeba64("train", tmp_path)
    assert len(D.load_celeba64("train", tmp_path, verify=False)) == 1


def test_celeba_official_partitions(tmp_path: Path) -> None:
    folder = tmp_path / "celeba" / "img_align_celeba"
    # The official crop is [35, 183) x [15, 163) of 218x178.
    for i in range(1, 6):
        write_image(folder / f"{i:06d}.jpg", boxed(218, 178, 35, 15, 148))
    (tmp_path / "celeba" / "list_eval_partition.txt").write_text(
        "000001.jpg 0\n000002.jpg 0\n000003.jpg 1\n000004.jpg 2\n000005.jpg 2\n"
    )
    sizes = {s: len(D.load_celeba64(s, tmp_path)) for s in ("train", "valid", "test")}
    assert sizes == {"train": 2, "valid": 1, "test": 2}
    data = D.load_celeba64("test", tmp_path)
    assert "official" in data.source
    torch.testing.assert_close(data.images, torch.ones(2, 3, 64, 64))
    (folder / "000005.jpg").unlink()
    with pytest.raises(DatasetNotFoundError, match="000005.jpg"):
        D.load_celeba64("test", tmp_path)
    with pytest.raises(DatasetNotFoundError, match="download=True"):
        D.load_celeba64("train", tmp_path / "missing")


def test_load_image_folder(tmp_path: Path) -> None:
    write_image(tmp_path / "a.png", boxed(40, 20, 10, 0, 20))  # centre square of a tall image
    write_image(tmp_path / "b.png", boxed(16, 16, 0, 0, 16))
    data = D.load_image_folder(tmp_path, size=8)
    assert data.images.shape == (2, 3, 8, 8)
    torch.testing.assert_close(data.images, torch.ones(2, 3, 8, 8))


# ------------------------------------------------------------------ subset and registry


def test_subset_is_seeded_and_ordered() -> None:
    images = torch.arange(10, dtype=torch.float32).reshape(10, 1, 1, 1)
    data = D.ImageData(images, torch.arange(10), "toy", False)
    part = D.subset(data, 4, seed=3)
    assert len(part) == 4 and part.index.tolist() == sorted(part.index.tolist())
    assert part.images.flatten().tolist() == part.index.float().tolist()
    assert part.labels.tolist() == part.index.tolist()
    assert torch.equal(D.subset(data, 4, seed=3).index, part.index)
    assert not torch.equal(D.subset(data, 4, seed=4).index, part.index)
    with pytest.raises(ValueError, match=r"\[1, 10\]"):
        D.subset(data, 11, seed=0)


def test_held_out_images_are_disjoint_from_the_subset_and_seeded() -> None:
    images = torch.arange(10, dtype=torch.float32).reshape(10, 1, 1, 1)
    data = D.ImageData(images, torch.arange(10), "toy", False)
    train, held = D.subset(data, 6, seed=3), D.held_out(data, 6, 3, seed=3)
    assert len(held) == 3 and not set(held.index.tolist()) & set(train.index.tolist())
    assert held.images.flatten().tolist() == held.index.float().tolist()
    assert torch.equal(D.held_out(data, 6, 3, seed=3).index, held.index)
    assert sorted(train.index.tolist() + D.held_out(data, 6, 4, seed=3).index.tolist()) == list(range(10))
    for n, m in ((6, 5), (10, 1), (6, 0)):
        with pytest.raises(ValueError, match="hold out fewer"):
            D.held_out(data, n, m, seed=3)


def test_registry(tmp_path: Path) -> None:
    assert set(D.DATASETS) == {"binary_mnist", "omniglot", "cifar10", "svhn", "celeba64"}
    with pytest.raises(ValueError, match="'binary_mnist'.*'celeba64'"):
        D.load_dataset("mnist")
    write_amat(tmp_path, "test", np.zeros((2, 784), dtype=np.int64))
    assert len(D.load_dataset("binary_mnist", "test", root=tmp_path)) == 2


# ------------------------------------------------------------------ real offline files


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="needs the offline data in ../shared/data")
def test_real_offline_files() -> None:
    # The quick ones only (2-4 s on 2 busy cores); Omniglot (4 s), the binarized MNIST training
    # set (1 s), CIFAR-10 test and the CelebA training split (5 s) are left to the notebooks.
    root = SHARED_DATA
    mnist = D.load_binarized_mnist("test", root)
    assert mnist.images.shape == (10_000, 1, 28, 28) and mnist.binarized
    assert 0.12 < float(mnist.images.mean()) < 0.14
    cifar = D.load_cifar10("train", root)
    assert cifar.images.shape == (38_597, 3, 32, 32) and "offline" in cifar.source
    assert bool((cifar.index[1:] > cifar.index[:-1]).all())
    celeba = D.load_celeba64("test", root)
    assert celeba.images.shape == (1_000, 3, 64, 64) and 0.0 <= float(celeba.images.min())
