"""Fréchet distance against closed forms; Inception loading rules; the offline classifier."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

import mrvae  # noqa: F401  (installs the torchvision shim before mrvae.fid imports torchvision)
from mrvae.metrics import features, fid


def _random_orthogonal(dim: int, rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.standard_normal((dim, dim)))
    return q * np.sign(np.diag(r))  # sign fix makes q Haar-distributed, not just orthogonal


def _random_spd(dim: int, rng: np.random.Generator) -> np.ndarray:
    a = rng.standard_normal((dim, dim))
    return a @ a.T / dim + 0.1 * np.eye(dim)


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh(s)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


# ------------------------------------ closed forms ------------------------------------------


@pytest.mark.parametrize(
    ("m1", "s1", "m2", "s2"), [(0.0, 1.0, 0.0, 1.0), (1.0, 2.0, -0.5, 0.5), (3.0, 0.1, 3.0, 4.0)]
)
def test_one_dimensional_gaussians(m1: float, s1: float, m2: float, s2: float) -> None:
    expected = (m1 - m2) ** 2 + (s1 - s2) ** 2
    got = fid.frechet_distance(
        np.array([m1]), np.array([[s1**2]]), np.array([m2]), np.array([[s2**2]])
    )
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-12)


def test_diagonal_covariances() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.uniform(0.1, 3.0, 16), rng.uniform(0.1, 3.0, 16)
    mu1, mu2 = rng.standard_normal(16), rng.standard_normal(16)
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2) + np.sum((mu1 - mu2) ** 2)
    got = fid.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(expected, rel=1e-9)


def test_commuting_full_covariances_rotated() -> None:
    rng = np.random.default_rng(1)
    q = _random_orthogonal(12, rng)
    a, b = rng.uniform(0.05, 5.0, 12), rng.uniform(0.05, 5.0, 12)
    s1, s2 = (q * a) @ q.T, (q * b) @ q.T  # same eigenvectors, so S1 S2 = S2 S1
    mu1, mu2 = rng.standard_normal(12), rng.standard_normal(12)
    expected = np.sum((np.sqrt(a) - np.sqrt(b)) ** 2) + np.sum((mu1 - mu2) ** 2)
    assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)


def test_non_commuting_two_by_two() -> None:
    s1 = np.array([[2.0, 0.8], [0.8, 1.0]])
    s2 = np.array([[0.5, -0.3], [-0.3, 1.5]])
    assert not np.allclose(s1 @ s2, s2 @ s1)
    # Independent route 1: Tr((S1^½ S2 S1^½)^½) with eigendecompositions only.
    root1 = _psd_sqrt(s1)
    trace_root = np.trace(_psd_sqrt(root1 @ s2 @ root1))
    # Independent route 2: for a 2x2 matrix with non-negative eigenvalues,
    # Tr(M^½) = sqrt(Tr M + 2 sqrt(det M)).
    closed = np.sqrt(np.trace(s1 @ s2) + 2 * np.sqrt(np.linalg.det(s1) * np.linalg.det(s2)))
    assert trace_root == pytest.approx(closed, rel=1e-12)
    mu1, mu2 = np.array([1.0, -1.0]), np.array([0.5, 2.0])
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2) - 2 * closed
    assert fid.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-10)


def test_identical_distributions_give_zero_and_distance_is_symmetric() -> None:
    rng = np.random.default_rng(2)
    s1, s2 = _random_spd(20, rng), _random_spd(20, rng)
    mu1, mu2 = rng.standard_normal(20), rng.standard_normal(20)
    assert fid.frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-9)
    d12, d21 = fid.frechet_distance(mu1, s1, mu2, s2), fid.frechet_distance(mu2, s2, mu1, s1)
    assert d12 > 0.1
    assert d12 == pytest.approx(d21, rel=1e-9)


def test_accepts_torch_tensors() -> None:
    mu, cov = torch.zeros(3), torch.eye(3)
    assert fid.frechet_distance(mu, cov, mu + 1, 4 * cov) == pytest.approx(3 * 1 + 3 * 1)


def test_failed_square_root_is_retried_with_a_small_offset(monkeypatch: pytest.MonkeyPatch) -> None:
    real_sqrtm, calls = fid.scipy.linalg.sqrtm, []

    def flaky_sqrtm(a: np.ndarray) -> np.ndarray:
        calls.append(a.copy())
        return np.full_like(a, np.nan) if len(calls) == 1 else real_sqrtm(a)

    monkeypatch.setattr(fid.scipy.linalg, "sqrtm", flaky_sqrtm)
    got = fid.frechet_distance(np.zeros(2), np.diag([1.0, 4.0]), np.zeros(2), np.diag([9.0, 1.0]))
    assert len(calls) == 2
    offset = 1e-6 * np.eye(2)  # the retry regularises both covariances by eps * I
    expected_product = (np.diag([1.0, 4.0]) + offset) @ (np.diag([9.0, 1.0]) + offset)
    np.testing.assert_allclose(calls[1], expected_product, rtol=1e-15)
    assert got == pytest.approx((1 - 3) ** 2 + (2 - 1) ** 2, abs=1e-5)

    monkeypatch.setattr(fid.scipy.linalg, "sqrtm", lambda a: np.full_like(a, np.inf))
    with pytest.raises(ValueError, match="degenerate"):
        fid.frechet_distance(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2))


def test_rank_deficient_covariances() -> None:
    # Rank-1 covariances: the product is singular. Analytic answer for the commuting case.
    v = np.array([[1.0], [0.0], [0.0]])
    s1, s2 = 4 * v @ v.T, 9 * v @ v.T
    got = fid.frechet_distance(np.zeros(3), s1, np.zeros(3), s2)
    assert got == pytest.approx((2 - 3) ** 2, abs=1e-4)


def test_sample_statistics_converge_to_the_analytic_distance() -> None:
    rng = np.random.default_rng(3)
    dim, n = 4, 20000
    s1, s2 = _random_spd(dim, rng), _random_spd(dim, rng)
    mu1, mu2 = np.zeros(dim), 0.5 * np.ones(dim)
    root1 = _psd_sqrt(s1)
    exact = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * _psd_sqrt(root1 @ s2 @ root1))
    x1 = rng.multivariate_normal(mu1, s1, size=n)
    x2 = rng.multivariate_normal(mu2, s2, size=n)
    stats1 = fid.gaussian_statistics(torch.from_numpy(x1))
    est = fid.frechet_distance(*stats1, *fid.gaussian_statistics(x2))
    assert est == pytest.approx(exact, rel=0.1)


def test_gaussian_statistics_is_unbiased() -> None:
    x = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 4.0]])
    mean, cov = fid.gaussian_statistics(x)
    np.testing.assert_allclose(mean, [2.0, 2.0])
    np.testing.assert_allclose(cov, np.cov(x.numpy(), rowvar=False))  # numpy's default is N-1
    assert cov[0, 0] == pytest.approx(4.0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((np.zeros(2), np.eye(2), np.zeros(3), np.eye(3)), "same feature dimension"),
        ((np.zeros(2), np.eye(3), np.zeros(2), np.eye(2)), "shape"),
        ((np.zeros((2, 1)), np.eye(2), np.zeros(2), np.eye(2)), "vector"),
        ((np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]), np.zeros(2), np.eye(2)), "symmetric"),
        ((np.array([np.nan, 0.0]), np.eye(2), np.zeros(2), np.eye(2)), "NaN"),
        ((np.zeros(2), np.diag([1.0, -1.0]), np.zeros(2), np.eye(2)), "positive semi-definite"),
    ],
)
def test_frechet_distance_rejects_bad_inputs(args: tuple[np.ndarray, ...], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        fid.frechet_distance(*args)


def test_gaussian_statistics_rejects_bad_inputs() -> None:
    with pytest.raises(ValueError, match="at least 2"):
        fid.gaussian_statistics(torch.zeros(1, 4))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        fid.gaussian_statistics(torch.zeros(5, 2, 2))


# ------------------------------------ Inception-v3 ------------------------------------------


def test_missing_inception_weights_raise_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # an empty cache, whatever this machine has
    assert not features.inception_weights_available()
    fix = r"InceptionFeatures\.download\(\)"
    with pytest.raises(features.WeightsNotAvailableError, match=fix) as info:
        features.InceptionFeatures()
    assert "TORCH_HOME" in str(info.value) and "not FID" in str(info.value)


def test_no_inception_weights_on_this_machine() -> None:
    if features.inception_weights_available():
        pytest.skip("Inception weights are cached here; real FID is available")
    with pytest.raises(features.WeightsNotAvailableError):
        features.InceptionFeatures()


def test_corrupt_cached_weights_are_rejected(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = features.inception_weights_path()
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a checkpoint")
    assert features.inception_weights_available()
    with pytest.raises(features.WeightsNotAvailableError, match="corrupt"):
        features.InceptionFeatures()


def test_cached_weights_are_loaded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from torchvision.models import inception_v3

    torch.manual_seed(0)
    reference = inception_v3(weights=None, aux_logits=True, init_weights=False)  # checkpoint layout
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = features.inception_weights_path()
    path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), path)
    monkeypatch.setattr(features, "_check_hash_prefix", lambda p: None)  # the fake file has another hash
    extractor = features.InceptionFeatures()
    assert extractor.name == "Inception-v3 pool3 (FID)"
    last = "Mixed_7c.branch_pool.conv.weight"
    torch.testing.assert_close(extractor.net.state_dict()[last], reference.state_dict()[last])


def test_inception_pipeline_with_random_weights() -> None:
    torch.manual_seed(0)
    extractor = features.InceptionFeatures(weights=None)
    assert "not FID" in extractor.name
    assert isinstance(extractor, fid.FeatureExtractor)
    grey = torch.rand(3, 1, 28, 28)
    out = extractor.features(grey, batch_size=2)
    assert out.shape == (3, 2048) and not out.requires_grad
    # Grey input is repeated to RGB, so it must equal the explicit RGB version.
    rgb = extractor.features(grey.repeat(1, 3, 1, 1))
    torch.testing.assert_close(out, rgb, rtol=1e-4, atol=1e-5)


# ---------------------------------- offline substitute --------------------------------------


def _separable_data(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Three classes told apart by which colour channel is bright."""
    gen = torch.Generator().manual_seed(seed)
    labels = torch.randint(0, 3, (n,), generator=gen)
    images = 0.3 * torch.rand(n, 3, 32, 32, generator=gen)
    images[torch.arange(n), labels] += 0.6
    return images, labels


def test_classifier_learns_separable_data_and_gives_features() -> None:
    x, y = _separable_data(384, seed=0)
    model = features.train_feature_classifier(x, y, epochs=2, batch_size=64, lr=3e-3, seed=0, width=8,
                                         feature_dim=16, log=None)
    xt, yt = _separable_data(256, seed=1)
    assert features.accuracy(model, xt, yt) > 0.95
    assert isinstance(model, fid.FeatureExtractor) and "not FID" in model.name
    assert model.features(xt[:10]).shape == (10, 16)
    # 64x64 greyscale (CelebA-like size) is resized and repeated rather than rejected.
    assert model.features(torch.rand(4, 1, 64, 64)).shape == (4, 16)
    # Same-distribution sets are much closer than different-distribution ones.
    same = fid.frechet_distance_between(model, xt[:128], xt[128:], batch_size=64)
    other = fid.frechet_distance_between(model, xt[:128], torch.rand(128, 3, 32, 32), batch_size=64)
    assert other > 10 * same


def test_classifier_training_is_deterministic_and_leaves_global_rng_alone() -> None:
    x, y = _separable_data(128, seed=0)
    state = torch.get_rng_state()
    runs = [features.train_feature_classifier(x, y, epochs=1, batch_size=32, seed=7, width=4,
                                         feature_dim=8, log=None) for _ in range(2)]
    assert torch.equal(torch.get_rng_state(), state)
    for p, q in zip(runs[0].state_dict().values(), runs[1].state_dict().values(), strict=True):
        torch.testing.assert_close(p, q, rtol=0, atol=0)
    other = features.train_feature_classifier(x, y, epochs=1, batch_size=32, seed=8, width=4,
                                         feature_dim=8, log=None)
    assert not torch.equal(other.head.weight, runs[0].head.weight)


def test_input_validation_names_the_fix() -> None:
    model = features.ClassifierFeatures(width=4, feature_dim=8)
    with pytest.raises(TypeError, match="/ 255"):
        model.features(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.features(torch.full((2, 3, 32, 32), 2.0))
    with pytest.raises(ValueError, match="shape"):
        model.features(torch.zeros(2, 32, 32))
    with pytest.raises(ValueError, match="labels"):
        features.train_feature_classifier(torch.rand(4, 3, 32, 32), torch.zeros(3, dtype=torch.long),
                                     log=None)
    with pytest.raises(TypeError, match="extractor"):
        images = torch.rand(2, 3, 8, 8)
        fid.frechet_distance_between(object(), images, images)  # type: ignore[arg-type]
