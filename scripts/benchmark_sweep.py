#!/usr/bin/env python3
"""Wall time of a batched sweep of N β-VAEs vs N sequential ``mrvae.train`` runs (not a test).

Both sides train the same models on the same data for the same steps; the script also prints
the largest parameter difference between the two, which should be ~1e-6 or below. Run it on a
quiet machine (check ``uptime``); defaults follow the issue: 10 β = logspace(-2, 1), a small conv
VAE, 2,000 MNIST training images (random binary images if MNIST is not found), 1 epoch, batch 128,
2 threads. ``--arch mlp`` times MLP VAEs, ``--device cuda`` a GPU. On a busy machine pass
``--threads 1``: OpenMP with more threads than free cores slows many small kernels by orders of
magnitude, which flatters the sweep (it launches N times fewer kernels).
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import Tensor, nn

import mrvae
from mrvae.data import DatasetNotFoundError, load_mnist
from mrvae.models import MLPVAE
from mrvae.training.sweep import train_sweep


class SmallConvVAE(mrvae.VAE):
    """Two stride-2 convs to a 16-d latent and back, for ``(B, 1, 28, 28)`` images."""

    def __init__(self, latent_dim: int = 16, channels: int = 32) -> None:
        super().__init__(mrvae.Likelihood("bernoulli"))
        c = channels
        self.encoder = nn.Sequential(
            nn.Conv2d(1, c, 4, 2, 1),
            nn.ReLU(),
            nn.Conv2d(c, 2 * c, 4, 2, 1),
            nn.ReLU(),
            nn.Flatten(),
            nn.Linear(2 * c * 7 * 7, 2 * latent_dim),
        )
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 2 * c * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (2 * c, 7, 7)),
            nn.ConvTranspose2d(2 * c, c, 4, 2, 1),
            nn.ReLU(),
            nn.ConvTranspose2d(c, 1, 4, 2, 1),
        )

    def encode(self, x: Tensor) -> tuple[Tensor, Tensor]:
        mu, logvar = self.encoder(x).chunk(2, dim=-1)
        return mu, logvar

    def decode(self, z: Tensor) -> Tensor:
        return self.decoder(z)


def load_images(n: int) -> tuple[Tensor, str]:
    """``(n, 1, 28, 28)`` images in [0, 1] and where they came from."""
    try:
        return load_mnist("train")[0][:n].clone(), "MNIST"
    except DatasetNotFoundError:
        gen = torch.Generator().manual_seed(0)
        return (torch.rand(n, 1, 28, 28, generator=gen) > 0.5).float(), "random binary images"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--arch", choices=["conv", "mlp"], default="conv")
    parser.add_argument("--models", type=int, default=10)
    parser.add_argument("--images", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--repeats", type=int, default=1, help="median over this many timings of each side"
    )
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    data, source = load_images(args.images)
    betas = torch.logspace(-2, 1, args.models).tolist()
    schedules = [mrvae.ConstantBeta(b) for b in betas]
    config = mrvae.TrainConfig(
        epochs=args.epochs, batch_size=args.batch_size, lr=1e-3, seed=0, log_lines=0
    )

    def make_model() -> mrvae.VAE:
        if args.arch == "mlp":
            return MLPVAE((1, 28, 28), hidden=256, latent_dim=16).to(device)
        return SmallConvVAE().to(device)

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def run_sequential() -> tuple[float, list[mrvae.VAE]]:
        sync()
        start = time.perf_counter()
        torch.manual_seed(config.seed)  # the inits train_sweep documents
        models = [make_model() for _ in schedules]
        for model, schedule in zip(models, schedules, strict=True):
            mrvae.train(model, data, schedule, config, log=lambda _: None)
        sync()
        return time.perf_counter() - start, models

    def run_sweep() -> tuple[float, list[mrvae.VAE]]:
        sync()
        start = time.perf_counter()
        models = train_sweep(make_model, data, schedules, config, log=lambda _: None).models
        sync()
        return time.perf_counter() - start, models

    print(
        f"{args.models} {args.arch} β-VAEs, {args.images} {source} images, {args.epochs} epoch(s), "
        f"batch {args.batch_size}, {args.threads} threads, {device}"
    )
    run_sweep()  # warm-up: first-call costs (vmap tracing, allocator) are not the sweep's
    seq_times, sweep_times = [], []
    for _ in range(args.repeats):  # interleaved, so load drift hits both sides alike
        seconds, sequential = run_sequential()
        seq_times.append(seconds)
        seconds, swept = run_sweep()
        sweep_times.append(seconds)
    t_seq, t_sweep = (
        sorted(seq_times)[len(seq_times) // 2],
        sorted(sweep_times)[len(sweep_times) // 2],
    )
    max_diff = max(
        (a - b).abs().max().item()
        for m_a, m_b in zip(sequential, swept, strict=True)
        for a, b in zip(m_a.state_dict().values(), m_b.state_dict().values(), strict=True)
    )
    print(f"sequential train: {t_seq:.2f} s   sweep: {t_sweep:.2f} s   max |Δparam| {max_diff:.1e}")
    print(f"speed-up: {t_seq / t_sweep:.2f}×")


if __name__ == "__main__":
    main()
