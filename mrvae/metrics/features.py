"""Feature extractors for :mod:`mrvae.metrics.fid`, each named for what it computes.

* :class:`InceptionFeatures`: real FID features (the 2048-d pool features of an ImageNet
  Inception-v3); loads weights only from the local torch hub cache and raises
  :class:`WeightsNotAvailableError` instead of silently downloading.
* :class:`ClassifierFeatures`: the penultimate layer of a small conv classifier trained here on
  CIFAR-10 (:func:`train_feature_classifier`). Call the resulting number the *Fréchet classifier
  distance* (FCD); it ranks models similarly but is on a different scale from FID.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from mrvae.metrics.fid import _check_images

__all__ = ["ClassifierFeatures", "InceptionFeatures", "WeightsNotAvailableError", "accuracy",
           "inception_weights_available", "inception_weights_path", "train_feature_classifier"]


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
