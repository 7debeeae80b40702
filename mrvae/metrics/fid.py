"""Fréchet distances between image sets: real FID and an honestly named offline substitute.

The Fréchet distance between two Gaussians ``N(mu1, S1)`` and ``N(mu2, S2)`` is

    d² = ||mu1 - mu2||² + Tr(S1 + S2 - 2 (S1 S2)^{1/2})        (Heusel et al., 2017, Eq. 6)

and the *Fréchet Inception Distance* (FID) is that distance between Gaussians fitted to the
2048-d pool features of an ImageNet-trained Inception-v3 on real and generated images. The
paper (Bae et al., 2023, Fig. 6) reports FID against β for natural images.

Offline there are no Inception weights, and a distance in some other feature space is *not*
FID. So this module offers two :class:`FeatureExtractor` implementations whose ``name`` says
which one produced a number:

* :class:`InceptionFeatures` — real FID features; loads weights only from the local torch hub
  cache and raises :class:`WeightsNotAvailableError` instead of silently downloading.
* :class:`ClassifierFeatures` — the penultimate layer of a small conv classifier trained here on
  CIFAR-10 (:func:`train_feature_classifier`). Call the resulting number the *Fréchet classifier
  distance* (FCD); it ranks models similarly but is on a different scale from FID.
"""

from __future__ import annotations

import hashlib
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import scipy.linalg
import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "ClassifierFeatures",
    "FeatureExtractor",
    "InceptionFeatures",
    "WeightsNotAvailableError",
    "accuracy",
    "feature_statistics",
    "frechet_distance",
    "frechet_distance_between",
    "gaussian_statistics",
    "inception_weights_available",
    "inception_weights_path",
    "train_feature_classifier",
]

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


def _to_rgb(images: Tensor, size: int) -> Tensor:
    """``(B, 1 or 3, H, W)`` -> ``(B, 3, size, size)``, greyscale repeated, bilinear resize."""
    if images.shape[1] == 1:
        images = images.expand(-1, 3, -1, -1)
    if images.shape[-2:] != (size, size):
        # antialias matters when downsampling (e.g. CelebA 64 -> 32), not for upsampling.
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False,
                               antialias=True)
    return images


@torch.no_grad()
def _batched(
    fn: Callable[[Tensor], Tensor], images: Tensor, batch_size: int, device: torch.device
) -> Tensor:
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    starts = range(0, len(images), batch_size)
    return torch.cat([fn(images[s : s + batch_size].to(device)).float().cpu() for s in starts])


# ---------------------------------- Inception-v3 (real FID) ---------------------------------

_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


class WeightsNotAvailableError(FileNotFoundError):
    """Pretrained Inception-v3 weights are not in the local torch hub cache."""


def inception_weights_path() -> Path:
    """Where torchvision caches ``Inception_V3_Weights.IMAGENET1K_V1``.

    That is ``$TORCH_HOME/hub/checkpoints/`` (``~/.cache/torch`` when TORCH_HOME is unset).
    """
    from torchvision.models import Inception_V3_Weights

    filename = Inception_V3_Weights.IMAGENET1K_V1.url.rsplit("/", 1)[-1]
    return Path(torch.hub.get_dir()) / "checkpoints" / filename


def inception_weights_available() -> bool:
    """True when the ImageNet Inception-v3 weights are cached locally, so FID can be computed."""
    return inception_weights_path().is_file()


def _check_hash_prefix(path: Path) -> None:
    # torchvision file names end in the first 8 hex digits of the file's sha256.
    expected = path.stem.rsplit("-", 1)[-1]
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    if not digest.hexdigest().startswith(expected):
        raise WeightsNotAvailableError(
            f"{path} is corrupt (sha256 does not start with {expected}); delete it and run "
            "InceptionFeatures.download() on a machine with internet access"
        )


class InceptionFeatures(nn.Module):
    """Inception-v3 pool3 features (2048-d): the feature space of FID.

    Images ``(N, 1 or 3, H, W)`` in ``[0, 1]`` are repeated to RGB if grey, resized to 299×299
    (bilinear) and ImageNet-normalised; torchvision's ``transform_input`` then maps them to the
    ``[-1, 1]`` range the ported Google weights expect. The classifier ``fc`` is an identity, so
    the output is the 2048-d average-pooled activation.

    Weights are torchvision's ``Inception_V3_Weights.IMAGENET1K_V1``, loaded **only** from the
    local torch hub cache (:func:`inception_weights_path`); construction never downloads. If
    they are missing, :class:`WeightsNotAvailableError` says how to fetch them.

    Caveat: the "standard" FID network (TF-FID, ported to PyTorch as pytorch-fid's
    ``pt_inception-2015-12-05``) uses slightly different weights and pooling than torchvision's
    Inception-v3. FIDs from this class are comparable with each other (all of this project's
    FID panels) but are *not* numerically identical to published FIDs; they typically differ by
    a few percent. The TF-ported weights file is deliberately not supported.

    ``weights=None`` builds the network with random weights: a test hook for the pipeline whose
    numbers mean nothing, and whose ``name`` says so.
    """

    def __init__(
        self, *, weights: str | None = "IMAGENET1K_V1", device: str | torch.device = "cpu"
    ) -> None:
        super().__init__()
        from torchvision.models import inception_v3

        if weights not in ("IMAGENET1K_V1", None):
            raise ValueError(
                f"weights must be 'IMAGENET1K_V1' or None (random, tests only), got {weights!r}"
            )
        self.net = inception_v3(weights=None, aux_logits=False, transform_input=True,
                                init_weights=weights is None)
        if weights is None:
            self.name = "Inception-v3 pool3, RANDOM weights (pipeline test only, not FID)"
        else:
            self.net.load_state_dict(self._cached_state_dict(), strict=True)
            self.name = "Inception-v3 pool3 (FID)"
        self.net.fc = nn.Identity()
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1))
        self.eval().requires_grad_(False).to(device)

    @staticmethod
    def _cached_state_dict() -> dict[str, Tensor]:
        path = inception_weights_path()
        if not path.is_file():
            raise WeightsNotAvailableError(
                f"Inception-v3 ImageNet weights not found at {path}, so real FID cannot be "
                "computed offline. Fix: on a machine with internet access run "
                "`mrvae.metrics.fid.InceptionFeatures.download()` once (or set TORCH_HOME to a directory "
                "whose hub/checkpoints/ holds the file). Offline, use ClassifierFeatures and label "
                "the result FCD, not FID."
            )
        _check_hash_prefix(path)
        state = torch.load(path, map_location="cpu", weights_only=True)
        # The checkpoint also holds the auxiliary classifier, which FID does not use.
        return {k: v for k, v in state.items() if not k.startswith("AuxLogits.")}

    @staticmethod
    def download() -> Path:
        """Download the weights into the torch hub cache (needs internet); returns their path."""
        from torchvision.models import Inception_V3_Weights

        Inception_V3_Weights.IMAGENET1K_V1.get_state_dict(progress=True, check_hash=True)
        return inception_weights_path()

    def forward(self, images: Tensor) -> Tensor:
        """``(B, 1 or 3, H, W)`` in ``[0, 1]`` -> ``(B, 2048)`` pool3 features."""
        x = (_to_rgb(images, 299) - self.mean) / self.std
        return self.net(x)

    def features(self, images: Tensor, *, batch_size: int = 64) -> Tensor:
        """``(N, C, H, W)`` in ``[0, 1]`` -> ``(N, 2048)``, in batches, without grad."""
        _check_images(images)
        return _batched(self, images, batch_size, self.mean.device)


# ----------------------------- Offline substitute: CIFAR-10 classifier ------------------------


class ClassifierFeatures(nn.Module):
    """Small conv classifier for 32×32 RGB whose penultimate layer serves as a feature space.

    Three conv–BN–ReLU stages (32×32 → 16×16 → 8×8) and global average pooling give
    ``feature_dim``-d features (the analogue of Inception's pool3), then a linear 10-way head.
    Other sizes and greyscale are handled like Inception: resized to 32×32 (bilinear,
    antialiased) and repeated to RGB, so CelebA-64 images can be measured too.

    Fréchet distances in these features are the *Fréchet classifier distance* (FCD), **not**
    FID: ``name`` says so, and plots must use it as the axis label.
    """

    name = "CIFAR-10 classifier trained here (FCD, not FID)"
    image_size = 32

    def __init__(self, *, width: int = 32, feature_dim: int = 128, num_classes: int = 10) -> None:
        super().__init__()
        if width < 1 or feature_dim < 1 or num_classes < 2:
            raise ValueError("width and feature_dim must be >= 1 and num_classes >= 2")

        def stage(c_in: int, c_out: int) -> list[nn.Module]:
            conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)  # BN supplies the bias
            return [conv, nn.BatchNorm2d(c_out), nn.ReLU()]

        self.body = nn.Sequential(
            *stage(3, width), nn.MaxPool2d(2),
            *stage(width, 2 * width), nn.MaxPool2d(2),
            *stage(2 * width, feature_dim),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.head = nn.Linear(feature_dim, num_classes)
        self.feature_dim = feature_dim
        # Per-channel standardisation fitted on the training images by train_feature_classifier.
        self.register_buffer("pixel_mean", torch.full((1, 3, 1, 1), 0.5))
        self.register_buffer("pixel_std", torch.full((1, 3, 1, 1), 0.25))

    def embed(self, images: Tensor) -> Tensor:
        """``(B, 1 or 3, H, W)`` in ``[0, 1]`` -> ``(B, feature_dim)`` penultimate features."""
        x = (_to_rgb(images, self.image_size) - self.pixel_mean) / self.pixel_std
        return self.body(x)

    def forward(self, images: Tensor) -> Tensor:
        """``(B, C, H, W)`` in ``[0, 1]`` -> ``(B, num_classes)`` logits."""
        return self.head(self.embed(images))

    def features(self, images: Tensor, *, batch_size: int = 512) -> Tensor:
        """``(N, C, H, W)`` in ``[0, 1]`` -> ``(N, feature_dim)``; eval mode, batched, no grad."""
        _check_images(images)
        was_training = self.training
        self.eval()
        try:
            return _batched(self.embed, images, batch_size, self.pixel_mean.device)
        finally:
            self.train(was_training)


def _check_labelled(images: Tensor, labels: Tensor) -> None:
    _check_images(images)
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise ValueError(f"labels must have shape ({images.shape[0]},), got {tuple(labels.shape)}")
    if labels.dtype not in (torch.int64, torch.int32, torch.uint8):
        raise TypeError(f"labels must be integer class indices, got {labels.dtype}")


def train_feature_classifier(
    images: Tensor,
    labels: Tensor,
    *,
    epochs: int = 3,
    batch_size: int = 128,
    lr: float = 3e-3,
    seed: int = 0,
    width: int = 32,
    feature_dim: int = 128,
    log: Callable[[str], None] | None = print,
) -> ClassifierFeatures:
    """Train a :class:`ClassifierFeatures` on in-memory ``images`` ``(N, 3, 32, 32)`` in ``[0, 1]``.

    ``labels`` ``(N,)`` are class indices (the number of classes is ``labels.max() + 1``). Adam
    with a cosine learning-rate decay to 0, shuffled minibatches from a generator seeded with
    ``seed``; initialisation is seeded too, so the same call returns the same network (on the
    same machine and thread count). The global RNG is left untouched. Returns the model in eval
    mode. ``log`` receives one line per epoch (``None`` silences it).
    """
    _check_labelled(images, labels)
    if epochs < 1 or batch_size < 1 or not lr > 0:
        raise ValueError(
            f"need epochs >= 1, batch_size >= 1 and lr > 0; got {epochs}, {batch_size}, {lr}"
        )
    labels = labels.long()
    num_classes = int(labels.max()) + 1
    if num_classes < 2:
        raise ValueError("labels must contain at least 2 classes")

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ClassifierFeatures(width=width, feature_dim=feature_dim, num_classes=num_classes)
    rgb = _to_rgb(images, ClassifierFeatures.image_size)
    model.pixel_mean.copy_(rgb.mean(dim=(0, 2, 3), keepdim=True))
    model.pixel_std.copy_(rgb.std(dim=(0, 2, 3), keepdim=True).clamp_min(1e-3))

    steps_per_epoch = -(-len(rgb) // batch_size)
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs * steps_per_epoch)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for epoch in range(epochs):
        start, total_loss, correct = time.perf_counter(), 0.0, 0
        order = torch.randperm(len(rgb), generator=generator)
        for s in range(0, len(rgb), batch_size):
            idx = order[s : s + batch_size]
            x, y = rgb[idx], labels[idx]
            # Random horizontal flips: free augmentation, label-preserving on CIFAR-10.
            flip = torch.rand(len(idx), generator=generator) < 0.5
            x = torch.where(flip.view(-1, 1, 1, 1), x.flip(-1), x)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            schedule.step()
            total_loss += float(loss.detach()) * len(idx)
            correct += int((logits.argmax(1) == y).sum())
        if log is not None:
            log(f"epoch {epoch + 1}/{epochs}: loss {total_loss / len(rgb):.3f}, "
                f"train acc {correct / len(rgb):.3f} ({time.perf_counter() - start:.1f}s)")
    return model.eval()


@torch.no_grad()
def accuracy(
    model: ClassifierFeatures, images: Tensor, labels: Tensor, *, batch_size: int = 512
) -> float:
    """Fraction of ``images`` ``(N, C, H, W)`` in ``[0, 1]`` classified as ``labels`` ``(N,)``."""
    _check_labelled(images, labels)
    was_training = model.training
    model.eval()
    try:
        logits = _batched(model, images, batch_size, model.pixel_mean.device)
    finally:
        model.train(was_training)
    return float((logits.argmax(1) == labels.long()).float().mean())


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
