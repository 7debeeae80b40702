"""Fréchet distances between image sets: real FID and an honestly named offline substitute.

The Fréchet distance between two Gaussians ``N(mu1, S1)`` and ``N(mu2, S2)`` is

    d² = ||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^{1/2})        (Heusel et al., 2017, Eq. 6)

and the *Fréchet Inception Distance* (FID) is that distance between Gaussians fitted to the
2048-d pool features of an ImageNet-trained Inception-v3 on real and generated images. The
paper (Bae et al., 2023, Fig. 6) reports FID against β for natural images.

Offline there are no Inception weights, and a distance in some other feature space is *not*
FID. So the distance here takes any :class:`FeatureExtractor`, whose ``name`` says which
features produced a number; :mod:`mrvae.metrics.features` has the two this package offers
(Inception-v3 for real FID, and a small CIFAR-10 classifier for the *Fréchet classifier
distance*, FCD).
"""

from __future__ import annotations

import warnings
from typing import Protocol, runtime_checkable

import numpy as np
import scipy.linalg
from torch import Tensor

__all__ = ["FeatureExtractor", "feature_statistics", "frechet_distance", "frechet_distance_between",
           "gaussian_statistics"]

# Offset added to both covariances when (S1 S2)^{1/2} is not finite or inaccurate; the same
# regularisation as the reference FID implementations (Heusel et al.'s TTUR code, pytorch-fid).
_SQRTM_OFFSET = 1e-6
# Relative residual ||X X - A||_F / ||A||_F above which a square root counts as failed.
_SQRTM_MAX_RESIDUAL = 1e-4


# --------------------------------------------------------------------------------------------
# The distance itself
# --------------------------------------------------------------------------------------------


def _as_float64(name: str, value: np.ndarray | Tensor, ndim: int) -> np.ndarray:
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != ndim:
        kind = "vector (D,)" if ndim == 1 else "matrix (D, D)"
        raise ValueError(f"{name} must be a {kind}, got shape {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} contains NaN or inf; check the features it was computed from")
    return array


def _check_covariance(name: str, cov: np.ndarray, dim: int) -> None:
    if cov.shape != (dim, dim):
        raise ValueError(
            f"{name} must have shape ({dim}, {dim}) to match the means, got {cov.shape}"
        )
    scale = max(float(np.abs(cov).max()), 1e-300)
    asymmetry = float(np.abs(cov - cov.T).max()) / scale
    if asymmetry > 1e-6:
        raise ValueError(
            f"{name} is not symmetric (max |S - S^T| / max |S| = {asymmetry:.2e}); pass a "
            "covariance matrix, e.g. from gaussian_statistics(features)"
        )


def _sqrtm_trace(product: np.ndarray, imag_tol: float) -> tuple[float, float]:
    """``Tr(A^{1/2})`` of ``product = S1 S2`` via ``scipy.linalg.sqrtm`` and its relative residual.

    ``S1 S2`` is similar to the PSD matrix ``S1^{1/2} S2 S1^{1/2}``, so its square root has real,
    non-negative eigenvalues; imaginary parts can only be round-off. Returns (nan, inf) when the
    square root is not finite, so the caller can retry with an offset.
    """
    with warnings.catch_warnings():
        # scipy warns on singular input; the residual check below decides whether to retry.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        root = scipy.linalg.sqrtm(product)
    if not np.isfinite(root).all():
        return float("nan"), float("inf")
    if np.iscomplexobj(root):
        scale = max(float(np.abs(root).max()), 1.0)
        largest_imag = float(np.abs(root.imag).max())
        if largest_imag > imag_tol * scale:
            raise ValueError(
                f"sqrtm(S1 S2) has imaginary parts up to {largest_imag:.3g} (tolerance "
                f"{imag_tol * scale:.3g}); the covariances are probably not positive "
                "semi-definite. Estimate them from more samples than feature dimensions, or "
                "raise imag_tol."
            )
        root = root.real
    norm = max(float(np.linalg.norm(product)), 1e-300)
    residual = float(np.linalg.norm(root @ root - product)) / norm
    return float(np.trace(root)), residual


def frechet_distance(
    mu1: np.ndarray | Tensor,
    cov1: np.ndarray | Tensor,
    mu2: np.ndarray | Tensor,
    cov2: np.ndarray | Tensor,
    *,
    imag_tol: float = 1e-3,
) -> float:
    """Squared Fréchet (2-Wasserstein) distance between ``N(mu1, cov1)`` and ``N(mu2, cov2)``.

    ``||mu1 - mu2||² + Tr(cov1 + cov2 - 2 (cov1 cov2)^{1/2})`` (Heusel et al., 2017), computed in
    float64 with ``scipy.linalg.sqrtm``. Means are ``(D,)``, covariances ``(D, D)`` symmetric.

    Numerical care, as in the reference FID code: if ``sqrtm`` of the (near-singular) product
    is not finite or inaccurate, it is retried once with ``1e-6 * I`` added to both covariances.
    Imaginary parts of the root up to ``imag_tol`` (relative to its largest entry) are round-off
    and dropped; larger ones raise ``ValueError``. A result that is negative only through
    round-off is returned as 0.
    """
    m1 = _as_float64("mu1", mu1, 1)
    m2 = _as_float64("mu2", mu2, 1)
    if m1.shape != m2.shape:
        raise ValueError(
            f"mu1 and mu2 must have the same feature dimension, got {m1.shape} and {m2.shape}"
        )
    s1 = _as_float64("cov1", cov1, 2)
    s2 = _as_float64("cov2", cov2, 2)
    dim = m1.shape[0]
    _check_covariance("cov1", s1, dim)
    _check_covariance("cov2", s2, dim)
    if not imag_tol > 0:
        raise ValueError(f"imag_tol must be > 0, got {imag_tol}")

    trace_root, residual = _sqrtm_trace(s1 @ s2, imag_tol)
    if not residual <= _SQRTM_MAX_RESIDUAL:
        offset = _SQRTM_OFFSET * np.eye(dim)
        trace_root, residual = _sqrtm_trace((s1 + offset) @ (s2 + offset), imag_tol)
        if not np.isfinite(trace_root):
            raise ValueError(
                "sqrtm(cov1 @ cov2) is not finite even after adding 1e-6 * I to both covariances; "
                "the covariances are degenerate. Use more samples or fewer feature dimensions."
            )

    diff = m1 - m2
    distance = float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * trace_root)
    # Round-off can push a zero distance slightly below 0; anything larger is a real bug.
    tolerance = 1e-6 * max(1.0, float(np.trace(s1) + np.trace(s2)))
    if distance < 0:
        if distance < -tolerance:
            raise ArithmeticError(
                f"Fréchet distance came out negative ({distance:.3g}); please report this"
            )
        distance = 0.0
    return distance


def gaussian_statistics(features: Tensor | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(D,)`` and unbiased covariance ``(D, D)`` in float64 of ``features`` ``(N, D)``."""
    if isinstance(features, Tensor):
        features = features.detach().cpu().numpy()
    x = np.asarray(features, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"features must have shape (N, D), got {x.shape}; flatten them first")
    if x.shape[0] < 2:
        raise ValueError(f"need at least 2 feature vectors for a covariance, got N={x.shape[0]}")
    if not np.isfinite(x).all():
        raise ValueError("features contain NaN or inf")
    mean = x.mean(axis=0)
    centred = x - mean
    cov = centred.T @ centred / (x.shape[0] - 1)
    return mean, cov


# --------------------------------------------------------------------------------------------
# Feature extractors
# --------------------------------------------------------------------------------------------


@runtime_checkable
class FeatureExtractor(Protocol):
    """Maps images to feature vectors in which Fréchet distances are measured.

    ``name`` states what the features are, so plots can label the metric honestly.
    """

    name: str

    def features(self, images: Tensor, *, batch_size: int = 256) -> Tensor:
        """``(N, C, H, W)`` images in ``[0, 1]`` -> ``(N, D)`` float features, without grad."""
        ...


def _check_images(images: Tensor, name: str = "images") -> None:
    if not isinstance(images, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape (N, C, H, W), got {type(images).__name__}"
        )
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"{name} must have shape (N, 1 or 3, H, W), got {tuple(images.shape)}")
    if images.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    if not images.is_floating_point():
        raise TypeError(f"{name} must be float in [0, 1]; convert uint8 with images.float() / 255")
    lo, hi = float(images.min()), float(images.max())
    if lo < -1e-3 or hi > 1 + 1e-3:
        raise ValueError(f"{name} must lie in [0, 1], got range [{lo:.3g}, {hi:.3g}]")


# --------------------------------------------------------------------------------------------
# Putting it together
# --------------------------------------------------------------------------------------------


def feature_statistics(
    extractor: FeatureExtractor, images: Tensor, *, batch_size: int = 256
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian statistics (mean ``(D,)``, covariance ``(D, D)``) of ``extractor``'s features.

    Cache the result for the real images when comparing many generators against them.
    """
    return gaussian_statistics(extractor.features(images, batch_size=batch_size))


def frechet_distance_between(
    extractor: FeatureExtractor,
    real_images: Tensor,
    generated_images: Tensor,
    batch_size: int = 256,
) -> float:
    """Fréchet distance between ``real_images`` and ``generated_images`` in ``extractor`` features.

    Both are ``(N, C, H, W)`` in ``[0, 1]``. With :class:`InceptionFeatures` this is FID; with
    any other extractor label it by ``extractor.name``. Use at least as many images as feature
    dimensions (2048 for FID; published FIDs use 10k–50k), or the covariance is singular and the
    estimate strongly biased upwards.
    """
    if not isinstance(extractor, FeatureExtractor):
        raise TypeError(
            "extractor must have a `name` and a `features(images, batch_size=...)` method"
        )
    _check_images(real_images, "real_images")
    _check_images(generated_images, "generated_images")
    mu1, cov1 = feature_statistics(extractor, real_images, batch_size=batch_size)
    mu2, cov2 = feature_statistics(extractor, generated_images, batch_size=batch_size)
    return frechet_distance(mu1, cov1, mu2, cov2)
